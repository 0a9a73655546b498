#include "tuner/trainer_forwarding.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "storage/base/files.h"
#include "trainer/protocol/worker_protocol.h"
#include "tuner/commands.h"
#include "tuner/worker_process.h"

namespace mgr {

bool IsTrainerCommand(const std::string& name) { return FindTrainerCommand(name) != nullptr; }

Result<std::string> FindTrainer() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.find_last_of('/') + 1);
    // Next to us (an install's bin/), or in the build tree's trainer/ beside tuner/.
    for (const std::string& candidate : {dir + "mgr-train", dir + "../trainer/mgr-train"}) {
      if (IsExecutableFile(candidate)) return candidate;
    }
  }
  if (Result<std::string> on_path = FindExecutable("mgr-train"); on_path.ok()) return on_path;
  return Status::NotFound(
      "mgr-train not found next to mgr-tune or on PATH: build it with -DMGR_BUILD_TRAINER=ON "
      "(it needs libtorch and FFmpeg) or add its directory to PATH");
}

Status ExecTrainer(const std::vector<std::string>& args) {
  MGR_ASSIGN_OR_RETURN(std::string trainer, FindTrainer());
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(trainer.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(trainer.c_str(), argv.data());
  return Status::IoError("cannot run " + trainer + ": " + std::strerror(errno));
}

void RegisterTrainerCommands(CLI::App& app) {
  for (const TrainerCommand& c : kTrainerCommands) {
    CLI::App* sub =
        app.add_subcommand(c.name, std::string(c.help) + " (runs mgr-train " + c.name + ")");
    sub->group("Trainer commands (forwarded to mgr-train)");
    sub->allow_extras();
    sub->prefix_command();
  }
}

}  // namespace mgr
