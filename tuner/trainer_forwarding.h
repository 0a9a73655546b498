// mgr-tune prepare|features|train|predict|worker ...: hands the whole command line to the
// mgr-train executable (the only program that links libtorch and FFmpeg). The process is
// replaced (execv), so signals, stdin/stdout and the exit code pass through unchanged.
#ifndef MGR_TUNER_TRAINER_FORWARDING_H_
#define MGR_TUNER_TRAINER_FORWARDING_H_

#include <string>
#include <vector>

#include "storage/base/status.h"

namespace mgr {

// True for the sub-command names mgr-train owns (kTrainerCommands,
// trainer/protocol/worker_protocol.h).
bool IsTrainerCommand(const std::string& name);
// The mgr-train next to the running executable (/proc/self/exe's directory), else the first
// one on PATH. NotFound with a message that says how to build it.
Result<std::string> FindTrainer();
// Replaces this process by `mgr-train args...` (args without the program name). Returns
// only on failure.
Status ExecTrainer(const std::vector<std::string>& args);

}  // namespace mgr

#endif  // MGR_TUNER_TRAINER_FORWARDING_H_
