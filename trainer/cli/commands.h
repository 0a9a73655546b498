// The sub-commands of mgr-train. Each area of trainer/ registers its own, under the name
// and help text of its kTrainerCommands entry (trainer/protocol/worker_protocol.h): that
// list is what mgr-tune forwards here, so the tuner never links libtorch or FFmpeg.
// A handler returns the process exit code.
#ifndef MGR_TRAINER_CLI_COMMANDS_H_
#define MGR_TRAINER_CLI_COMMANDS_H_

#include <functional>

#include <CLI/CLI.hpp>

#include "trainer/protocol/worker_protocol.h"

namespace mgr {

// Each Register* adds a sub-command to `app` and stores, in *run, the function that runs it
// once parsing succeeded (returns the exit code).
using CommandRunner = std::function<int()>;

void RegisterPrepareCommand(CLI::App& app, CommandRunner* run);   // trainer/cli/prepare_command.cc
void RegisterFeaturesCommand(CLI::App& app, CommandRunner* run);  // trainer/cli/features_command.cc
void RegisterWorkerCommand(CLI::App& app, CommandRunner* run);    // trainer/cli/worker_command.cc
void RegisterTrainCommand(CLI::App& app, CommandRunner* run);     // trainer/cli/train_command.cc
void RegisterPredictCommand(CLI::App& app, CommandRunner* run);   // trainer/cli/predict_command.cc

}  // namespace mgr

#endif  // MGR_TRAINER_CLI_COMMANDS_H_
