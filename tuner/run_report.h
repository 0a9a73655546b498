// The text `mgr-tune run` shows people: the status block redrawn while a study runs (one
// line per worker slot, then the current stage) and the report printed when the playbook
// has finished. Formatting only: the orchestrator gathers the numbers, LiveDisplay prints
// the lines.
#ifndef MGR_TUNER_RUN_REPORT_H_
#define MGR_TUNER_RUN_REPORT_H_

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "studies/playbook.h"
#include "studies/study_file.h"

namespace mgr {

// The number at `key` of `object`; NaN, never an exception, when absent or not a number.
double NumberOr(const Json& object, const char* key);

// Whether `a` is a better objective value than `b` for a study of `direction` (strictly).
bool Better(StudyDirection direction, double a, double b);

// What one worker slot is doing.
struct WorkerStatus {
  std::string slot;   // WorkerSlot::Label(): "gpu0", "cpu"
  bool idle = true;   // the fields below are for a busy slot
  std::string trial;  // "base #3", "export (base #3)"
  int epoch = 0, max_epochs = 0;
  int batch = 0, batches = 0;  // within the running epoch; batches == 0: not known yet
  double value = NAN;          // the objective metric of the last epoch
  double eta_seconds = NAN;    // until the last epoch ends; NaN: not known yet
  bool pruning = false, stopping = false;
};

// "gpu0  base #3  epoch 2/20 (17/100)  val_loss 1.71  ETA 3m05s  (pruning)", or
// "gpu0  idle".
std::string FormatWorkerStatus(const WorkerStatus& status, const std::string& metric);

// How far a stage is, from its trials in the store (every process's).
struct StageProgress {
  int complete = 0, pruned = 0, failed = 0, running = 0;
  double best = NAN;  // the best COMPLETE value; NaN when none
};

StageProgress CountStageTrials(const std::vector<FrozenTrial>& trials, StudyDirection direction);

// "stage 1/3 base: 4/6 done (3 complete, 1 pruned, 0 failed, 2 running), best 1.25;
// incumbent 1.3" for the stage at `stage` (0-based) of `study`.
std::string FormatStageStatus(const StudyFile& study, size_t stage, const StageProgress& progress,
                              const Incumbent& incumbent);

// The report of a finished playbook, one string per line: every stage's decision, the
// incumbent and its whole configuration (`study.fixed` under the incumbent's choices),
// then, from `final_result` (the export's result.json, or null), the test metrics, the
// confusion matrix and the exported model's path. A result of final runs over several seeds
// (study file `final`) first gets the test metrics' mean +- std over the seeds and the
// seed kept; the test metrics that follow are that seed's.
std::vector<std::string> FinalReportLines(const StudyFile& study,
                                          const std::vector<StageDecision>& decisions,
                                          const Incumbent& incumbent, const Json& final_result);

// One test metric of a study's final result: over the final runs' seeds (study file
// `final`) the mean and sample standard deviation of the seeds that finished (as the
// result's `summary`); for a single export its value, std NaN, n 1. n 0, mean NaN: absent.
struct MetricSpread {
  double mean = NAN;
  double std = NAN;
  int n = 0;
};

// The test metrics of a result.json (`final_result`): one window from the middle of each
// track (the paper's figure) and the track level (`test.track`, when evaluated).
struct FinalTestMetrics {
  MetricSpread accuracy, macro_f1, loss;
  MetricSpread track_accuracy, track_macro_f1, track_loss;
};
FinalTestMetrics ReadFinalTestMetrics(const Json& final_result);

// How a result of final runs over several seeds chose its seed: the validation loss that
// kept the seeds' weights (`selected_by`: val_loss or val_track_loss) and the field of each
// seed (and of the result) holding it. Results written before `monitor` ranked by
// best_val_loss.
struct SeedSelection {
  std::string metric;
  const char* field;
};
SeedSelection ReadSeedSelection(const Json& final_result);

// <run_dir>/final/result.json of a study, or null when it is missing or not an object.
Json ReadFinalResult(const StudyFile& study);

}  // namespace mgr

#endif  // MGR_TUNER_RUN_REPORT_H_
