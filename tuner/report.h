// `mgr-tune report`: one self-contained HTML page that shows a study (docs/report.md).
//
// Two steps, so each can be tested alone: ReadReportData reads the store into ReportData (a
// plain struct, no storage handles), and RenderReportHtml turns that struct into the page,
// a pure function. The page inlines Chart.js (compiled into the binary from Debian's
// libjs-chart.js) and every number it draws, so it opens offline from a file.
//
// Works on any Optuna study: what mgr-tune's playbook stores (study attrs stage, decision,
// incumbent, final_result; trial attrs hparams, epochs, fail_reason) adds sections, and a
// study without them gets the sections that need only trials, params and values.
#ifndef MGR_TUNER_REPORT_H_
#define MGR_TUNER_REPORT_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "studies/study_file.h"
#include "tuner/importance.h"

namespace mgr {

// One epoch of a trial, from the trial user attr `epochs`; NaN for a metric it lacks.
struct ReportEpoch {
  int epoch = 0;  // 1-based
  double train_loss = NAN, train_accuracy = NAN;
  double val_loss = NAN, val_accuracy = NAN, val_macro_f1 = NAN;
  double seconds = NAN;
};

struct ReportTrial {
  int64_t number = -1;
  TrialState state = TrialState::kRunning;
  double value = NAN;                      // the objective; NaN unless COMPLETE (or valued PRUNED)
  std::map<std::string, Json> params;      // external representation
  std::map<int64_t, double> intermediate;  // step -> objective (Optuna's intermediate values)
  std::vector<ReportEpoch> epochs;         // empty when the store has no `epochs` attr
  int max_epochs = 0;                      // from hparams.max_epochs; 0: unknown
  double start = NAN, end = NAN;           // seconds since the Unix epoch; NaN: not started/ended
  std::string worker;                      // user or system attr `worker`, if the store has it
  std::string fail_reason;                 // user attr fail_reason
  Json hparams;                            // user attr hparams (the whole configuration) or null
  std::string reused_from;                 // user attr reused_from: copied that trial's result
};

struct ReportStage {
  std::string study_name;  // the Optuna study
  std::string stage;       // user attr `stage`, else the study name
  StudyDirection direction = StudyDirection::kMinimize;
  int64_t budget = 0;                                 // user attr `budget`; 0: unknown
  std::vector<ReportTrial> trials;                    // by number
  std::map<std::string, Distribution> distributions;  // every searched parameter
  std::vector<ParamImportance> importance;            // PED-ANOVA over `distributions`
  Json decision;      // user attr `decision` (StageDecision JSON) or null
  Json incumbent;     // user attr `incumbent` (Incumbent JSON) or null
  Json final_result;  // user attr `final_result` or null
  // The best COMPLETE trial's index in `trials`; -1 when there is none.
  int best = -1;
};

struct ReportData {
  std::string title;                    // the playbook's name, or the study names
  std::string objective = "objective";  // the metric the values are, e.g. "val_loss"
  std::vector<ReportStage> stages;      // in the order asked for
  Json final_result;                    // the last stage's that has one, or null
  double generated_at = NAN;            // seconds since the Unix epoch
};

// Reads the studies `study_names` (in order) from `storage`. NotFound naming the study if
// one is missing; nothing else is required of them.
Result<ReportData> ReadReportData(Storage& storage, const std::vector<std::string>& study_names);

// The whole page. Deterministic: the same data gives the same bytes.
std::string RenderReportHtml(const ReportData& data);

// Reads, renders and writes the page to `path` atomically (a reader of the file sees the
// old page or the new one): what the orchestrator calls whenever a trial ends.
Status WriteReport(Storage& storage, const std::vector<std::string>& study_names,
                   const std::string& path, const std::string& objective = "objective");

// The report of a playbook study: every stage of `study` that has started, its objective
// metric named, written atomically to `path` (default: <run_dir>/report.html). Returns the
// path written; NotFound when no stage has started. The orchestrator calls this whenever a
// trial ends and once at the end; `mgr-tune report study.json` calls it too.
Result<std::string> WriteStudyReport(Storage& storage, const StudyFile& study,
                                     const std::string& path = "");

// Chart.js's minified source, compiled in (generated report_chartjs.cc).
const std::string& ChartJsSource();

}  // namespace mgr

#endif  // MGR_TUNER_REPORT_H_
