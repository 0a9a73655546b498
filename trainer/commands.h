// The sub-commands of mgr-train. Each area of trainer/ registers its own; mgr-tune
// forwards `prepare`, `features`, `train`, `predict` and `worker` here, so the tuner never
// links libtorch or FFmpeg. A handler returns the process exit code.
#ifndef MGR_TRAINER_COMMANDS_H_
#define MGR_TRAINER_COMMANDS_H_

#include <functional>

#include <CLI/CLI.hpp>

namespace mgr {

// Each Register* adds a sub-command to `app` and stores, in *run, the function that runs it
// once parsing succeeded (returns the exit code).
using CommandRunner = std::function<int()>;

void RegisterPrepareCommand(CLI::App& app, CommandRunner* run);   // trainer/prepare_command.cc
void RegisterFeaturesCommand(CLI::App& app, CommandRunner* run);  // trainer/features_command.cc
void RegisterWorkerCommand(CLI::App& app, CommandRunner* run);    // trainer/worker.cc
void RegisterTrainCommand(CLI::App& app, CommandRunner* run);     // trainer/train_command.cc
void RegisterPredictCommand(CLI::App& app, CommandRunner* run);   // trainer/predict_command.cc

}  // namespace mgr

#endif  // MGR_TRAINER_COMMANDS_H_
