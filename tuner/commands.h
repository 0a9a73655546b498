// The sub-commands of mgr-tune. Each area of tuner/ registers its own in main.cc (at the
// `// @register-commands` marker), like trainer/cli/commands.h does for mgr-train. A handler
// returns the process exit code: 0 success, 1 a failure the message explains, 2 bad usage.
#ifndef MGR_TUNER_COMMANDS_H_
#define MGR_TUNER_COMMANDS_H_

#include <functional>

#include <CLI/CLI.hpp>

namespace mgr {

// Each Register* adds sub-commands to `app` and stores, in *run, the function that runs the
// one the user chose once parsing succeeded.
using CommandRunner = std::function<int()>;

// studies, trials, best-trial, best-trials, create-study, delete-study, ask, tell, export.
void RegisterStorageCommands(CLI::App& app, CommandRunner* run);  // tuner/storage_commands.cc
// Help entries for prepare, features, train, predict and worker, which main() hands to
// mgr-train before parsing (tuner/trainer_forwarding.cc).
void RegisterTrainerCommands(CLI::App& app);

// The orchestrator's commands: `mgr-tune run study.json`, `mgr-tune status study.json`.
void RegisterRunCommand(CLI::App& app, CommandRunner* run);     // tuner/run_command.cc
void RegisterStatusCommand(CLI::App& app, CommandRunner* run);  // tuner/run_command.cc

// `mgr-tune campaign campaign.json`: study files in order, then one summary.
void RegisterCampaignCommand(CLI::App& app, CommandRunner* run);  // tuner/campaign.cc

// `mgr-tune report`: a study's HTML page.
void RegisterReportCommand(CLI::App& app, CommandRunner* run);  // tuner/report_command.cc

}  // namespace mgr

#endif  // MGR_TUNER_COMMANDS_H_
