#include "storage/in_memory_storage.h"

#include <algorithm>
#include <cmath>

#include "storage/storage_internal.h"

namespace mgr {

using storage_internal::CheckCompatible;
using storage_internal::CheckParam;
using storage_internal::CheckStateValues;
using storage_internal::CheckUpdatable;

namespace {

bool InStates(TrialState s, const std::vector<TrialState>& states) {
  return states.empty() || std::find(states.begin(), states.end(), s) != states.end();
}

TimePoint Now() { return std::chrono::system_clock::now(); }

}  // namespace

Result<InMemoryStorage::StudyRecord*> InMemoryStorage::FindStudy(int64_t study_id) {
  auto it = studies_.find(study_id);
  if (it == studies_.end()) {
    return Status::NotFound("no study with id " + std::to_string(study_id) + " in memory");
  }
  return &it->second;
}

Result<InMemoryStorage::TrialRecord*> InMemoryStorage::FindTrial(int64_t trial_id) {
  auto it = trials_.find(trial_id);
  if (it == trials_.end()) {
    return Status::NotFound("no trial with id " + std::to_string(trial_id) + " in memory");
  }
  return &it->second;
}

std::string InMemoryStorage::Describe(const TrialRecord& r) const {
  return storage_internal::DescribeTrial(r.trial.trial_id, studies_.at(r.study_id).name,
                                         r.trial.number);
}

Result<InMemoryStorage::TrialRecord*> InMemoryStorage::FindUpdatableTrial(int64_t trial_id) {
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindTrial(trial_id));
  MGR_RETURN_IF_ERROR(CheckUpdatable(Describe(*r), r->trial.state));
  return r;
}

Result<int64_t> InMemoryStorage::CreateStudy(const std::string& name,
                                             const std::vector<StudyDirection>& directions) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_RETURN_IF_ERROR(storage_internal::CheckDirections(name, directions));
  for (const auto& [id, s] : studies_) {
    if (s.name == name) {
      return Status::AlreadyExists("a study named '" + name + "' already exists (id " +
                                   std::to_string(id) + ")");
    }
  }
  int64_t id = next_study_id_++;
  StudyRecord& s = studies_[id];
  s.name = name;
  s.directions = directions;
  return id;
}

Status InMemoryStorage::DeleteStudy(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  for (int64_t tid : s->trial_ids) trials_.erase(tid);
  studies_.erase(study_id);
  return Status::Ok();
}

Result<int64_t> InMemoryStorage::GetStudyId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, s] : studies_) {
    if (s.name == name) return id;
  }
  return Status::NotFound("no study named '" + name + "' in memory");
}

Result<std::string> InMemoryStorage::GetStudyName(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  return s->name;
}

Result<std::vector<StudyDirection>> InMemoryStorage::GetStudyDirections(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  return s->directions;
}

Status InMemoryStorage::SetStudyUserAttr(int64_t study_id, const std::string& key,
                                         const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  s->user_attrs[key] = value;
  return Status::Ok();
}

Status InMemoryStorage::SetStudySystemAttr(int64_t study_id, const std::string& key,
                                           const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  s->system_attrs[key] = value;
  return Status::Ok();
}

Result<std::map<std::string, Json>> InMemoryStorage::GetStudyUserAttrs(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  return s->user_attrs;
}

Result<std::map<std::string, Json>> InMemoryStorage::GetStudySystemAttrs(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  return s->system_attrs;
}

Result<std::vector<StudySummary>> InMemoryStorage::GetAllStudies() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StudySummary> out;
  for (const auto& [id, s] : studies_) {
    StudySummary sum;
    sum.study_id = id;
    sum.name = s.name;
    sum.directions = s.directions;
    sum.user_attrs = s.user_attrs;
    sum.system_attrs = s.system_attrs;
    sum.n_trials = static_cast<int64_t>(s.trial_ids.size());
    if (!s.trial_ids.empty()) sum.datetime_start = trials_.at(s.trial_ids[0]).trial.datetime_start;
    out.push_back(std::move(sum));
  }
  return out;
}

Result<int64_t> InMemoryStorage::CreateTrial(int64_t study_id, const FrozenTrial* tmpl) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  int64_t number = static_cast<int64_t>(s->trial_ids.size());
  int64_t id = next_trial_id_;
  FrozenTrial t;
  if (tmpl != nullptr) {
    t = *tmpl;
    const std::string desc = "template for " + storage_internal::DescribeTrial(id, s->name, number);
    MGR_RETURN_IF_ERROR(storage_internal::PrepareTemplate(desc, s->directions.size(), &t));
    for (const auto& [name, d] : t.distributions) {
      auto prev = s->param_distributions.find(name);
      if (prev != s->param_distributions.end()) {
        MGR_RETURN_IF_ERROR(CheckCompatible(desc, name, prev->second, d));
      }
    }
    for (const auto& [name, d] : t.distributions) s->param_distributions.emplace(name, d);
  } else {
    t.state = TrialState::kRunning;
    t.datetime_start = Now();
  }
  t.trial_id = id;
  t.number = number;
  ++next_trial_id_;
  s->trial_ids.push_back(id);
  trials_[id] = TrialRecord{study_id, std::move(t), std::nullopt};
  return id;
}

Result<std::optional<int64_t>> InMemoryStorage::ClaimWaitingTrial(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  for (int64_t tid : s->trial_ids) {
    FrozenTrial& t = trials_.at(tid).trial;
    if (t.state == TrialState::kWaiting) {
      t.state = TrialState::kRunning;
      t.datetime_start = Now();
      return std::optional<int64_t>(tid);
    }
  }
  return std::optional<int64_t>();
}

Status InMemoryStorage::SetTrialParam(int64_t trial_id, const std::string& name, double internal,
                                      const Distribution& dist) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindUpdatableTrial(trial_id));
  const std::string desc = Describe(*r);
  MGR_RETURN_IF_ERROR(CheckParam(desc, name, internal, dist));
  StudyRecord& s = studies_.at(r->study_id);
  auto prev = s.param_distributions.find(name);
  if (prev != s.param_distributions.end()) {
    MGR_RETURN_IF_ERROR(CheckCompatible(desc, name, prev->second, dist));
  }
  auto own = r->trial.distributions.find(name);
  if (own != r->trial.distributions.end()) {
    MGR_RETURN_IF_ERROR(CheckCompatible(desc, name, own->second, dist));
  }
  s.param_distributions.emplace(name, dist);
  r->trial.params[name] = internal;
  r->trial.distributions[name] = dist;
  return Status::Ok();
}

Status InMemoryStorage::SetTrialIntermediateValue(int64_t trial_id, int64_t step, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindUpdatableTrial(trial_id));
  r->trial.intermediate_values[step] = value;
  return Status::Ok();
}

Status InMemoryStorage::SetTrialStateValues(int64_t trial_id, TrialState state,
                                            const std::vector<double>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindUpdatableTrial(trial_id));
  const std::string desc = Describe(*r);
  MGR_RETURN_IF_ERROR(
      CheckStateValues(desc, state, values, studies_.at(r->study_id).directions.size()));
  FrozenTrial& t = r->trial;
  if (state == TrialState::kRunning) {
    if (t.state != TrialState::kWaiting) {
      return Status::FailedPrecondition(desc + " is already RUNNING");
    }
    t.datetime_start = Now();
  }
  if (!values.empty()) t.values = values;
  t.state = state;
  if (IsFinished(state)) t.datetime_complete = Now();
  return Status::Ok();
}

Status InMemoryStorage::SetTrialUserAttr(int64_t trial_id, const std::string& key,
                                         const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindUpdatableTrial(trial_id));
  r->trial.user_attrs[key] = value;
  return Status::Ok();
}

Status InMemoryStorage::SetTrialSystemAttr(int64_t trial_id, const std::string& key,
                                           const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindUpdatableTrial(trial_id));
  r->trial.system_attrs[key] = value;
  return Status::Ok();
}

Result<FrozenTrial> InMemoryStorage::GetTrial(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindTrial(trial_id));
  return r->trial;
}

Result<int64_t> InMemoryStorage::GetTrialIdFromNumber(int64_t study_id, int64_t number) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  if (number < 0 || number >= static_cast<int64_t>(s->trial_ids.size())) {
    return Status::NotFound("study '" + s->name + "' has no trial number " +
                            std::to_string(number));
  }
  return s->trial_ids[static_cast<size_t>(number)];
}

Result<std::vector<FrozenTrial>> InMemoryStorage::GetAllTrials(
    int64_t study_id, const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  std::vector<FrozenTrial> out;
  out.reserve(s->trial_ids.size());
  for (int64_t tid : s->trial_ids) {
    const FrozenTrial& t = trials_.at(tid).trial;
    if (InStates(t.state, states)) out.push_back(t);
  }
  return out;
}

Result<int64_t> InMemoryStorage::CountTrials(int64_t study_id,
                                             const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  int64_t n = 0;
  for (int64_t tid : s->trial_ids) n += InStates(trials_.at(tid).trial.state, states) ? 1 : 0;
  return n;
}

Status InMemoryStorage::RecordHeartbeat(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(TrialRecord * r, FindUpdatableTrial(trial_id));
  r->heartbeat = Now();
  return Status::Ok();
}

Result<std::vector<int64_t>> InMemoryStorage::FailStaleTrials(int64_t study_id,
                                                              std::chrono::seconds grace) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRecord * s, FindStudy(study_id));
  const TimePoint now = Now();
  std::vector<int64_t> failed;
  for (int64_t tid : s->trial_ids) {
    TrialRecord& r = trials_.at(tid);
    if (r.trial.state != TrialState::kRunning || !r.heartbeat) continue;
    if (now - *r.heartbeat > grace) {
      r.trial.state = TrialState::kFail;
      r.trial.datetime_complete = now;
      failed.push_back(tid);
    }
  }
  return failed;
}

}  // namespace mgr
