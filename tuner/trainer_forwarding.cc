#include "tuner/trainer_forwarding.h"

#include <unistd.h>

#include <sys/stat.h>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "tuner/commands.h"
#include "tuner/worker_process.h"

namespace mgr {
namespace {

constexpr const char* kTrainerCommands[] = {"prepare", "features", "train", "predict", "worker"};

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

bool IsTrainerCommand(const std::string& name) {
  for (const char* c : kTrainerCommands) {
    if (name == c) return true;
  }
  return false;
}

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
  struct Entry {
    const char* name;
    const char* help;
  };
  static const Entry kEntries[] = {
      {"prepare", "Decode the dataset into the clip cache (runs mgr-train prepare)"},
      {"features", "Dump log-Mel/MFCC features of audio files (runs mgr-train features)"},
      {"train", "Train one model outside a study (runs mgr-train train)"},
      {"predict", "Predict genres with an exported model (runs mgr-train predict)"},
      {"worker", "Run one trial from a spec file; used by `run` (runs mgr-train worker)"},
  };
  for (const Entry& e : kEntries) {
    CLI::App* sub = app.add_subcommand(e.name, e.help);
    sub->group("Trainer commands (forwarded to mgr-train)");
    sub->allow_extras();
    sub->prefix_command();
  }
}

}  // namespace mgr
