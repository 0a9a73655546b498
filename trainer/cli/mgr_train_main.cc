// mgr-train: the trainer's command line (one trial in a worker process, dataset
// preparation, feature dumps, standalone training and prediction).
#include <iostream>
#include <set>
#include <string>

#include "trainer/cli/commands.h"
#include "trainer/protocol/worker_protocol.h"

int main(int argc, char** argv) {
  CLI::App app{"mgr-train: audio pipeline, training and the trial worker of mgr-tune"};
  app.require_subcommand(1);
  mgr::CommandRunner run;
  // Each area registers its sub-command here.
  // @register-commands
  mgr::RegisterWorkerCommand(app, &run);
  mgr::RegisterTrainCommand(app, &run);
  mgr::RegisterPredictCommand(app, &run);
  mgr::RegisterFeaturesCommand(app, &run);
  mgr::RegisterPrepareCommand(app, &run);

  // mgr-tune forwards exactly the commands of mgr::kTrainerCommands: one registered here
  // but not listed there could not be reached from mgr-tune, and the reverse.
  std::set<std::string> registered;
  for (const CLI::App* sub : app.get_subcommands({})) registered.insert(sub->get_name());
  std::set<std::string> listed;
  for (const mgr::TrainerCommand& c : mgr::kTrainerCommands) listed.insert(c.name);
  if (registered != listed) {
    std::cerr << "mgr-train: internal error: the registered commands differ from "
                 "kTrainerCommands (trainer/protocol/worker_protocol.h)\n";
    return mgr::kExitFailed;
  }

  CLI11_PARSE(app, argc, argv);
  if (!run) {
    std::cerr << "mgr-train: no command\n";
    return mgr::kExitBadSpec;  // usage
  }
  return run();
}
