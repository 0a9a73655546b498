#include "storage/storage_internal.h"

#include <cmath>
#include <set>

namespace mgr {
namespace storage_internal {

std::string DescribeTrial(int64_t trial_id, const std::string& study_name, int64_t number) {
  return "trial " + std::to_string(trial_id) + " (study '" + study_name + "', number " +
         std::to_string(number) + ")";
}

Status CheckUpdatable(const std::string& trial_desc, TrialState state) {
  if (IsFinished(state)) {
    return Status::FailedPrecondition(trial_desc + " is already finished (" +
                                      TrialStateName(state) + ") and cannot be modified");
  }
  return Status::Ok();
}

Status CheckStateValues(const std::string& trial_desc, TrialState state,
                        const std::vector<double>& values, size_t n_objectives) {
  if (state == TrialState::kWaiting) {
    return Status::InvalidArgument(trial_desc +
                                   ": a trial cannot be set back to WAITING (enqueue a new one)");
  }
  if (!values.empty()) {
    if (!IsFinished(state)) {
      return Status::InvalidArgument(trial_desc +
                                     ": values can only be set with a finished state"
                                     " (got " +
                                     TrialStateName(state) + ")");
    }
    if (values.size() != n_objectives) {
      return Status::InvalidArgument(trial_desc + ": got " + std::to_string(values.size()) +
                                     " values but the study has " + std::to_string(n_objectives) +
                                     " objectives");
    }
    for (double v : values) {
      if (std::isnan(v)) {
        return Status::InvalidArgument(trial_desc +
                                       ": an objective value is NaN (report the trial as FAIL)");
      }
    }
  }
  if (state == TrialState::kComplete && values.empty()) {
    return Status::InvalidArgument(trial_desc + ": a COMPLETE trial needs its objective values");
  }
  return Status::Ok();
}

Status CheckParam(const std::string& trial_desc, const std::string& name, double internal,
                  const Distribution& dist) {
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, dist).WithContext(trial_desc));
  if (!Contains(dist, internal)) {
    return Status::InvalidArgument(trial_desc + ": parameter '" + name + "' value " +
                                   std::to_string(internal) + " is not in " +
                                   DistributionToString(dist));
  }
  return Status::Ok();
}

Status CheckCompatible(const std::string& trial_desc, const std::string& name,
                       const Distribution& existing, const Distribution& dist) {
  if (!Compatible(existing, dist)) {
    return Status::InvalidArgument(trial_desc + ": parameter '" + name + "' has distribution " +
                                   DistributionToString(dist) + " but the study already uses " +
                                   DistributionToString(existing) + " for it");
  }
  return Status::Ok();
}

Status PrepareTemplate(const std::string& desc, size_t n_objectives, FrozenTrial* t) {
  if (!t->values.empty() || t->state == TrialState::kComplete) {
    if (!IsFinished(t->state)) {
      return Status::InvalidArgument(desc + ": only a finished trial can carry values (got " +
                                     TrialStateName(t->state) + ")");
    }
    MGR_RETURN_IF_ERROR(CheckStateValues(desc, t->state, t->values, n_objectives));
  }
  for (const auto& [name, value] : t->params) {
    auto d = t->distributions.find(name);
    if (d == t->distributions.end()) {
      return Status::InvalidArgument(desc + ": parameter '" + name + "' has no distribution");
    }
    MGR_RETURN_IF_ERROR(CheckParam(desc, name, value, d->second));
  }
  if (t->distributions.size() != t->params.size()) {
    return Status::InvalidArgument(desc + ": every distribution needs a parameter value");
  }
  const TimePoint now = std::chrono::system_clock::now();
  if (t->state == TrialState::kWaiting) {
    t->datetime_start.reset();
    t->datetime_complete.reset();
  } else {
    if (!t->datetime_start) t->datetime_start = now;
    if (IsFinished(t->state) && !t->datetime_complete) t->datetime_complete = now;
    if (!IsFinished(t->state)) t->datetime_complete.reset();
  }
  return Status::Ok();
}

Status CheckDirections(const std::string& study_name, const std::vector<StudyDirection>& dirs) {
  if (dirs.empty()) {
    return Status::InvalidArgument("study '" + study_name + "': needs at least one direction");
  }
  return Status::Ok();
}

}  // namespace storage_internal
}  // namespace mgr
