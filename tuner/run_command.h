// `mgr-tune run study.json` (also `mgr-tune study.json`) and `mgr-tune status study.json`.
#ifndef MGR_TUNER_RUN_COMMAND_H_
#define MGR_TUNER_RUN_COMMAND_H_

#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "storage/storage.h"
#include "studies/study_file.h"

namespace mgr {

// The options of `mgr-tune run` that `mgr-tune campaign` forwards to each study.
struct RunOptions {
  std::string worker;  // empty: $MGR_WORKER, else FindTrainer()
  int gpus = -1;       // >= 0: pretend the host has that many GPUs
  bool no_prepare = false;
  bool no_export = false;
  double poll = 1.0;
  bool plain = false;
};

// Adds --worker, --gpus, --no-prepare, --no-export, --poll and --plain to `cmd`.
void AddRunOptions(CLI::App* cmd, RunOptions* options);

// Runs (or resumes) a loaded study exactly as `mgr-tune run` does, printing to stdout and
// errors to stderr. Returns the exit code: 0 finished, 1 an error, 130 interrupted.
int RunLoadedStudy(StudyFile study, const RunOptions& options);

// Where the playbook stands: per stage its trials (complete/pruned/failed/running/waiting
// of the budget), best value and decision, then the incumbent. Read-only.
Status PrintStudyStatus(const StudyFile& study, Storage& storage, std::ostream& out);

}  // namespace mgr

#endif  // MGR_TUNER_RUN_COMMAND_H_
