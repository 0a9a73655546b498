// Checks and messages shared by the storage backends (not part of the public API).
#ifndef MGR_STORAGE_STORAGE_INTERNAL_H_
#define MGR_STORAGE_STORAGE_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/base/status.h"
#include "storage/distribution.h"
#include "storage/trial.h"

namespace mgr {
namespace storage_internal {

// "trial 12 (study 'cnn', number 3)"
std::string DescribeTrial(int64_t trial_id, const std::string& study_name, int64_t number);

// FailedPrecondition naming the trial if it is finished.
Status CheckUpdatable(const std::string& trial_desc, TrialState state);

// Validates a SetTrialStateValues request: values only for COMPLETE/PRUNED/FAIL, one per
// objective, never NaN; COMPLETE needs values; WAITING cannot be set on an existing trial.
Status CheckStateValues(const std::string& trial_desc, TrialState state,
                        const std::vector<double>& values, size_t n_objectives);

// Validates a parameter write: a valid distribution that contains `internal`.
Status CheckParam(const std::string& trial_desc, const std::string& name, double internal,
                  const Distribution& dist);

// InvalidArgument unless `existing` (the distribution of `name` elsewhere in the study) and
// `dist` are compatible.
Status CheckCompatible(const std::string& trial_desc, const std::string& name,
                       const Distribution& existing, const Distribution& dist);

// Validates a template trial (Optuna's template_trial) for a study with `n_objectives`
// objectives and normalizes its datetimes: WAITING has none, RUNNING and finished trials get
// a start (now) if missing, finished trials a completion. Compatibility of its parameters
// with the study is left to the backend.
Status PrepareTemplate(const std::string& trial_desc, size_t n_objectives, FrozenTrial* t);

Status CheckDirections(const std::string& study_name, const std::vector<StudyDirection>& dirs);

// --- Optuna's rows (every SQL backend) ----------------------------------------------------

// Writes the rows of trial `id` that a template trial `t` brings (params, values,
// intermediate values, user and system attributes) through the backend's row writers, inside
// its transaction. The SQL backends befriend it.
template <typename Backend>
Status WriteTrialRows(Backend& b, int64_t id, const FrozenTrial& t) {
  for (const auto& [name, value] : t.params) {
    MGR_RETURN_IF_ERROR(b.InsertParam(id, name, value, t.distributions.at(name)));
  }
  for (size_t i = 0; i < t.values.size(); ++i) {
    MGR_RETURN_IF_ERROR(b.WriteValue(id, static_cast<int>(i), t.values[i]));
  }
  for (const auto& [step, value] : t.intermediate_values) {
    MGR_RETURN_IF_ERROR(b.WriteIntermediate(id, step, value));
  }
  for (const auto& [key, value] : t.user_attrs) {
    MGR_RETURN_IF_ERROR(b.WriteAttr("trial_user_attributes", "trial_id", id, key, value));
  }
  for (const auto& [key, value] : t.system_attrs) {
    MGR_RETURN_IF_ERROR(b.WriteAttr("trial_system_attributes", "trial_id", id, key, value));
  }
  return Status::Ok();
}

// Attribute values are JSON. Python's json module may write NaN / Infinity, which strict
// JSON lacks: read as null / +-inf; text that is not JSON at all is kept as a string.
Json ParseJsonLenient(const std::string& text);

// An attribute value's text as Python's json.dumps writes non-finite floats (NaN, Infinity,
// -Infinity), so that Optuna reads float('inf') where Json::dump() would write null (a
// successive-halving rung of +-inf); otherwise Json::dump()'s text.
std::string DumpJsonLenient(const Json& value);

// " AND t.state IN ('COMPLETE', ...)" for a non-empty `states`, "" otherwise.
std::string StatesSql(const std::vector<TrialState>& states);

// A stored state name; Corruption naming the trial when it is none.
Result<TrialState> ParseState(const std::string& text, int64_t trial_id);

// A value column with its type column (FINITE, INF_POS, INF_NEG, NAN); Corruption naming
// `what` for anything else.
Result<double> StoredToValue(bool is_null, double value, std::string_view type,
                             const std::string& what);

// A stored datetime ("YYYY-MM-DD HH:MM:SS[.ffffff]", naive UTC; fast path for that form)
// or nullopt for NULL; Corruption naming the trial when unreadable.
Result<std::optional<TimePoint>> ParseOptionalDatetime(const std::optional<std::string>& text,
                                                       int64_t trial_id);

}  // namespace storage_internal
}  // namespace mgr

#endif  // MGR_STORAGE_STORAGE_INTERNAL_H_
