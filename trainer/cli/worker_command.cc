#include <memory>
#include <string>

#include "trainer/cli/commands.h"
#include "trainer/protocol/worker_protocol.h"
#include "trainer/worker/worker.h"

namespace mgr {

void RegisterWorkerCommand(CLI::App& app, CommandRunner* run) {
  auto* cmd = app.add_subcommand("worker", TrainerCommandHelp("worker"));
  auto spec_path = std::make_shared<std::string>();
  cmd->add_option("SPEC", *spec_path, "the trial spec (SPEC.json)")->required();
  cmd->callback([run, spec_path] { *run = [spec_path] { return RunWorkerOnStdio(*spec_path); }; });
}

}  // namespace mgr
