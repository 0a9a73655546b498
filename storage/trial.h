// Trial and study enums, and the frozen trial: a finished or running trial's snapshot.
#ifndef MGR_STORAGE_TRIAL_H_
#define MGR_STORAGE_TRIAL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/distribution.h"
#include "storage/base/status.h"

namespace mgr {

// Names are Optuna's enum names, as its SQLite schema stores them.
enum class TrialState { kRunning, kComplete, kPruned, kFail, kWaiting };
enum class StudyDirection { kNotSet, kMinimize, kMaximize };

const char* TrialStateName(TrialState state);  // "RUNNING", "COMPLETE", ...
Result<TrialState> ParseTrialState(const std::string& name);
const char* StudyDirectionName(StudyDirection direction);  // "MINIMIZE", ...
Result<StudyDirection> ParseStudyDirection(const std::string& name);
// COMPLETE, PRUNED and FAIL trials never change again.
inline bool IsFinished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

using TimePoint = std::chrono::system_clock::time_point;
// Optuna's datetime columns: "YYYY-MM-DD HH:MM:SS.ffffff", UTC.
std::string FormatDatetime(TimePoint t);
Result<TimePoint> ParseDatetime(const std::string& text);

struct FrozenTrial {
  int64_t trial_id = -1;  // storage-wide id
  int64_t number = -1;    // per-study, 0-based, in creation order
  TrialState state = TrialState::kRunning;
  std::vector<double> values;  // one per objective; empty unless COMPLETE (or PRUNED with a value)
  std::map<std::string, double> params;  // internal representation
  std::map<std::string, Distribution> distributions;
  std::map<int64_t, double> intermediate_values;  // step -> value (may be NaN or inf)
  std::map<std::string, Json> user_attrs;
  std::map<std::string, Json> system_attrs;
  std::optional<TimePoint> datetime_start;
  std::optional<TimePoint> datetime_complete;

  // The single objective's value; NaN if there is none.
  double value() const;
  // A parameter in its external representation (number, string, ...); null if absent.
  Json Param(const std::string& name) const;
  // Last reported step, if any.
  std::optional<int64_t> LastStep() const;
};

}  // namespace mgr

#endif  // MGR_STORAGE_TRIAL_H_
