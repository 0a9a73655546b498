// mgr-tune: hyperparameter search for music-genre-recognition networks.
//
//   mgr-tune study.json [options]      same as `mgr-tune run study.json [options]`
//   mgr-tune <storage command> ...     Optuna's CLI: studies, trials, ask, tell...
//   mgr-tune train|predict|... ...     handed to mgr-train (the process is replaced)
#include <iostream>
#include <string>
#include <vector>

#include "storage/base/files.h"
#include "storage/base/strings.h"
#include "tuner/commands.h"
#include "tuner/trainer_forwarding.h"

namespace {

constexpr const char* kVersion = "mgr-tune 0.1.0";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);

  // The trainer's commands go to mgr-train untouched, before any parsing.
  if (!args.empty() && mgr::IsTrainerCommand(args[0])) {
    mgr::Status s = mgr::ExecTrainer(args);
    std::cerr << "mgr-tune " << args[0] << ": error: " << s.message() << "\n";
    return 1;
  }

  CLI::App app{
      "mgr-tune: hyperparameter search for music-genre-recognition networks, storing every "
      "trial in Optuna's schema (SQLite or PostgreSQL).",
      "mgr-tune"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  mgr-tune examples/demo.json                      run a study (same as: mgr-tune run ...)\n"
      "  mgr-tune campaign examples/paper/campaign.json   NNET1, NNET2, then MixNet, one summary\n"
      "  mgr-tune studies --storage sqlite:///runs/demo.db\n"
      "  mgr-tune trials --storage sqlite:///runs/demo.db --study-name demo -f json\n"
      "  mgr-tune best-trial --storage sqlite:///runs/demo.db --study-name demo\n"
      "  mgr-tune export --storage sqlite:///runs/demo.db --study-name demo -o demo.csv\n"
      "See docs/cli.md for every command.");
  mgr::CommandRunner run;
  mgr::RegisterStorageCommands(app, &run);
  mgr::RegisterTrainerCommands(app);
  // Each area registers its sub-commands here.
  // @register-commands
  mgr::RegisterRunCommand(app, &run);
  mgr::RegisterStatusCommand(app, &run);
  mgr::RegisterCampaignCommand(app, &run);
  mgr::RegisterReportCommand(app, &run);

  // `mgr-tune path/to/study.json ...` means `mgr-tune run path/to/study.json ...`.
  if (!args.empty() && args[0].rfind("-", 0) != 0) {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->check_name(args[0])) known = true;
    }
    if (!known && (mgr::EndsWith(args[0], ".json") || mgr::IsRegularFile(args[0]))) {
      args.insert(args.begin(), "run");
    } else if (!known) {
      std::cerr << "mgr-tune: usage error: '" << args[0]
                << "' is not a command or a study file (see mgr-tune --help)\n";
      return 2;
    }
  }

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed vector
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::cerr << "mgr-tune: usage error: " << what << "\n"
              << "Run 'mgr-tune --help' (or 'mgr-tune <command> --help') for usage.\n";
    return 2;
  }
  if (!run) {
    std::cerr << "mgr-tune: no command\n";
    return 2;
  }
  return run();
}
