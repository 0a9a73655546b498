// mgr-train: the trainer's command line (one trial in a worker process, dataset
// preparation, feature dumps, standalone training and prediction).
#include <iostream>

#include "trainer/commands.h"

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

  CLI11_PARSE(app, argc, argv);
  if (!run) {
    std::cerr << "mgr-train: no command\n";
    return 2;
  }
  return run();
}
