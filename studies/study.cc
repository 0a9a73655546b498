#include "studies/study.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace mgr {
namespace {

std::string DirectionsToString(const std::vector<StudyDirection>& dirs) {
  std::string s = "[";
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (i) s += ", ";
    s += StudyDirectionName(dirs[i]);
  }
  return s + "]";
}

// Optuna's _normalize_value: a value to minimise.
double Normalize(double v, StudyDirection d) { return d == StudyDirection::kMaximize ? -v : v; }

// Optuna's _dominates for two COMPLETE trials.
bool Dominates(const FrozenTrial& a, const FrozenTrial& b,
               const std::vector<StudyDirection>& dirs) {
  bool all_equal = true;
  for (size_t i = 0; i < dirs.size(); ++i) {
    double va = Normalize(a.values[i], dirs[i]);
    double vb = Normalize(b.values[i], dirs[i]);
    if (va != vb) all_equal = false;
    if (!(va <= vb)) return false;
  }
  return !all_equal;
}

std::string TrialLabel(const Study& study, const FrozenTrial& t) {
  return "trial " + std::to_string(t.number) + " of study '" + study.name() + "'";
}

}  // namespace

Study::Study(std::shared_ptr<Storage> storage, int64_t id, std::string name,
             std::vector<StudyDirection> directions, std::unique_ptr<Sampler> sampler,
             std::unique_ptr<Pruner> pruner)
    : storage_(std::move(storage)),
      id_(id),
      name_(std::move(name)),
      directions_(std::move(directions)),
      sampler_(std::move(sampler)),
      pruner_(std::move(pruner)) {}

Study::~Study() = default;

Result<std::unique_ptr<Study>> Study::CreateOrLoad(std::shared_ptr<Storage> storage,
                                                   const std::string& name,
                                                   std::vector<StudyDirection> directions,
                                                   std::unique_ptr<Sampler> sampler,
                                                   std::unique_ptr<Pruner> pruner) {
  if (!storage || !sampler || !pruner) {
    return Status::InvalidArgument("study '" + name +
                                   "': storage, sampler and pruner are required");
  }
  if (directions.empty()) directions = {StudyDirection::kMinimize};
  Result<int64_t> id = storage->GetStudyId(name);
  if (!id.ok() && id.status().code() == StatusCode::kNotFound) {
    id = storage->CreateStudy(name, directions);
    // Another process may have created it between our two calls: load theirs.
    if (!id.ok() && id.status().code() == StatusCode::kAlreadyExists) {
      id = storage->GetStudyId(name);
    }
  }
  if (!id.ok()) return id.status();
  MGR_ASSIGN_OR_RETURN(std::vector<StudyDirection> stored, storage->GetStudyDirections(*id));
  if (stored != directions) {
    return Status::InvalidArgument("study '" + name + "' already exists with directions " +
                                   DirectionsToString(stored) + ", not " +
                                   DirectionsToString(directions));
  }
  return std::unique_ptr<Study>(new Study(std::move(storage), *id, name, std::move(stored),
                                          std::move(sampler), std::move(pruner)));
}

Result<std::unique_ptr<Study>> Study::Load(std::shared_ptr<Storage> storage,
                                           const std::string& name,
                                           std::unique_ptr<Sampler> sampler,
                                           std::unique_ptr<Pruner> pruner) {
  if (!storage || !sampler || !pruner) {
    return Status::InvalidArgument("study '" + name +
                                   "': storage, sampler and pruner are required");
  }
  Result<int64_t> id = storage->GetStudyId(name);
  if (!id.ok()) {
    if (id.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("no study named '" + name + "'");
    }
    return id.status();
  }
  MGR_ASSIGN_OR_RETURN(std::vector<StudyDirection> dirs, storage->GetStudyDirections(*id));
  return std::unique_ptr<Study>(new Study(std::move(storage), *id, name, std::move(dirs),
                                          std::move(sampler), std::move(pruner)));
}

Result<Trial> Study::Ask(bool record_heartbeat) {
  MGR_ASSIGN_OR_RETURN(std::optional<int64_t> waiting, storage_->ClaimWaitingTrial(id_));
  int64_t trial_id;
  if (waiting) {
    trial_id = *waiting;
  } else {
    MGR_ASSIGN_OR_RETURN(trial_id, storage_->CreateTrial(id_));
  }
  if (record_heartbeat) MGR_RETURN_IF_ERROR(storage_->RecordHeartbeat(trial_id));
  MGR_ASSIGN_OR_RETURN(const std::vector<FrozenTrial>* current, RefreshTrials());
  auto it = trial_index_.find(trial_id);
  if (it == trial_index_.end()) {
    // Cannot happen with a conforming storage; do not sample from a view without the trial.
    return Status::Internal("trial id " + std::to_string(trial_id) + " of study '" + name_ +
                            "' is missing from the study's trial list");
  }
  const size_t self = it->second;
  auto snapshot = std::make_shared<std::vector<FrozenTrial>>(*current);
  const FrozenTrial& frozen = (*snapshot)[self];
  StudyView view{directions_, *snapshot, name_};
  // The GP sampler records its fit on the trial, for the next trial's warm start.
  Status recorded;
  view.set_trial_system_attr = [&](int64_t id, const std::string& key, const Json& value) {
    if (recorded.ok()) recorded = storage_->SetTrialSystemAttr(id, key, value);
  };
  SearchSpace space = sampler_->InferRelativeSearchSpace(view, frozen);
  std::map<std::string, double> relative;
  if (!space.empty()) relative = sampler_->SampleRelative(view, frozen, space);
  MGR_RETURN_IF_ERROR(recorded);
  return Trial(this, frozen, std::move(snapshot), self, std::move(space), std::move(relative));
}

Status Study::Tell(int64_t trial_id, TrialState state, const std::vector<double>& values) {
  MGR_ASSIGN_OR_RETURN(FrozenTrial t, storage_->GetTrial(trial_id));
  std::string label = TrialLabel(*this, t);
  if (IsFinished(t.state)) {
    return Status::FailedPrecondition(label + " is already " + TrialStateName(t.state));
  }
  if (t.state != TrialState::kRunning) {
    return Status::FailedPrecondition("cannot tell " + label + ": it is " +
                                      TrialStateName(t.state) + ", not RUNNING");
  }
  std::vector<double> stored;
  switch (state) {
    case TrialState::kComplete:
      if (values.size() != directions_.size()) {
        return Status::InvalidArgument("cannot complete " + label + " with " +
                                       std::to_string(values.size()) + " value(s): the study has " +
                                       std::to_string(directions_.size()) + " objective(s)");
      }
      for (double v : values) {
        if (std::isnan(v)) {
          return Status::InvalidArgument("cannot complete " + label + " with a NaN value");
        }
      }
      stored = values;
      break;
    case TrialState::kPruned:
    case TrialState::kFail:
      if (!values.empty()) {
        return Status::InvalidArgument(std::string("values cannot be given for a ") +
                                       TrialStateName(state) + " trial (" + label + ")");
      }
      if (state == TrialState::kPruned && directions_.size() == 1) {
        std::optional<int64_t> last = t.LastStep();
        if (last && !std::isnan(t.intermediate_values.at(*last))) {
          stored = {t.intermediate_values.at(*last)};
        }
      }
      break;
    default:
      return Status::InvalidArgument(std::string("cannot tell ") + label + " with state " +
                                     TrialStateName(state) + " (use COMPLETE, PRUNED or FAIL)");
  }
  return storage_->SetTrialStateValues(trial_id, state, stored);
}

Status Study::Enqueue(const std::map<std::string, Json>& params,
                      const std::map<std::string, Json>& user_attrs) {
  FrozenTrial t;
  t.state = TrialState::kWaiting;
  Json fixed = Json::object();
  for (const auto& [k, v] : params) fixed[k] = v;
  t.system_attrs[kFixedParamsKey] = std::move(fixed);
  t.user_attrs = user_attrs;
  MGR_ASSIGN_OR_RETURN(int64_t ignored, storage_->CreateTrial(id_, &t));
  (void)ignored;
  return Status::Ok();
}

Status Study::Report(int64_t trial_id, int64_t step, double value) {
  if (directions_.size() > 1) {
    return Status::InvalidArgument("study '" + name_ +
                                   "' has several objectives: intermediate values are only "
                                   "supported for single-objective studies");
  }
  if (step < 0) {
    return Status::InvalidArgument("step " + std::to_string(step) + " cannot be negative");
  }
  MGR_ASSIGN_OR_RETURN(FrozenTrial t, storage_->GetTrial(trial_id));
  if (t.state != TrialState::kRunning) {
    return Status::FailedPrecondition("cannot report to " + TrialLabel(*this, t) + ": it is " +
                                      TrialStateName(t.state));
  }
  if (t.intermediate_values.count(step)) return Status::Ok();  // first value wins
  return storage_->SetTrialIntermediateValue(trial_id, step, value);
}

Result<bool> Study::ShouldPrune(int64_t trial_id) {
  if (directions_.size() > 1) {
    return Status::InvalidArgument("study '" + name_ +
                                   "' has several objectives: pruning is only supported for "
                                   "single-objective studies");
  }
  MGR_ASSIGN_OR_RETURN(const std::vector<FrozenTrial>* trials, RefreshTrials());
  auto it = trial_index_.find(trial_id);
  if (it != trial_index_.end()) {
    StudyView view{directions_, *trials, name_};
    // Successive halving records its rungs on the trial, where every process sees them.
    Status recorded;
    view.set_trial_system_attr = [&](int64_t id, const std::string& key, const Json& value) {
      if (recorded.ok()) recorded = storage_->SetTrialSystemAttr(id, key, value);
    };
    const bool prune = pruner_->Prune(view, (*trials)[it->second]);
    MGR_RETURN_IF_ERROR(recorded);
    return prune;
  }
  return Status::NotFound("no trial with id " + std::to_string(trial_id) + " in study '" + name_ +
                          "'");
}

Result<const std::vector<FrozenTrial>*> Study::RefreshTrials() {
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> fresh,
                       storage_->GetTrialsAfter(id_, max_seen_id_, unfinished_ids_));
  unfinished_ids_.clear();
  // A trial's number is assigned with its insert, so trials the store has not shown us
  // (ids above max_seen_id_) come after every known one: appending keeps trials_ ordered.
  for (FrozenTrial& t : fresh) {
    max_seen_id_ = std::max(max_seen_id_, t.trial_id);
    if (!IsFinished(t.state)) unfinished_ids_.push_back(t.trial_id);
    auto it = trial_index_.find(t.trial_id);
    if (it != trial_index_.end()) {
      trials_[it->second] = std::move(t);
    } else {
      trial_index_[t.trial_id] = trials_.size();
      trials_.push_back(std::move(t));
    }
  }
  return &trials_;
}

Status Study::Heartbeat(int64_t trial_id) { return storage_->RecordHeartbeat(trial_id); }

Result<std::vector<FrozenTrial>> Study::Trials(const std::vector<TrialState>& states) {
  return storage_->GetAllTrials(id_, states);
}

Result<FrozenTrial> Study::GetTrial(int64_t trial_id) { return storage_->GetTrial(trial_id); }

Result<FrozenTrial> Study::GetTrialByNumber(int64_t number) {
  Result<int64_t> id = storage_->GetTrialIdFromNumber(id_, number);
  if (!id.ok()) {
    if (id.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("study '" + name_ + "' has no trial number " +
                              std::to_string(number));
    }
    return id.status();
  }
  return storage_->GetTrial(*id);
}

Result<FrozenTrial> Study::BestTrial() {
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials,
                       storage_->GetAllTrials(id_, {TrialState::kComplete}));
  return BestTrial(trials);
}

Result<FrozenTrial> Study::BestTrial(const std::vector<FrozenTrial>& trials) const {
  if (directions_.size() != 1) {
    return Status::InvalidArgument("study '" + name_ + "' has " +
                                   std::to_string(directions_.size()) +
                                   " objectives: use the best trials (Pareto front) instead");
  }
  const FrozenTrial* best = nullptr;
  bool maximize = directions_[0] == StudyDirection::kMaximize;
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete || t.values.empty()) continue;
    if (!best || (maximize ? t.values[0] > best->values[0] : t.values[0] < best->values[0])) {
      best = &t;
    }
  }
  if (!best) return Status::NotFound("study '" + name_ + "' has no COMPLETE trial yet");
  return *best;
}

Result<std::vector<FrozenTrial>> Study::BestTrials() {
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials,
                       storage_->GetAllTrials(id_, {TrialState::kComplete}));
  return BestTrials(std::move(trials));
}

Result<std::vector<FrozenTrial>> Study::BestTrials(std::vector<FrozenTrial> trials) const {
  trials.erase(std::remove_if(trials.begin(), trials.end(),
                              [&](const FrozenTrial& t) {
                                return t.state != TrialState::kComplete ||
                                       t.values.size() != directions_.size();
                              }),
               trials.end());
  // Sort by the normalized values so that a dominating trial always precedes the trials it
  // dominates; then each candidate is checked against the front found so far only.
  std::vector<size_t> order(trials.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) {
    std::vector<double> k;
    for (size_t d = 0; d < directions_.size(); ++d) {
      k.push_back(Normalize(trials[i].values[d], directions_[d]));
    }
    return k;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<size_t> front;
  for (size_t i : order) {
    bool dominated = false;
    for (size_t f : front) {
      if (Dominates(trials[f], trials[i], directions_)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());  // trials are ordered by number
  std::vector<FrozenTrial> out;
  out.reserve(front.size());
  for (size_t i : front) out.push_back(std::move(trials[i]));
  return out;
}

Status Study::SetUserAttr(const std::string& key, const Json& value) {
  return storage_->SetStudyUserAttr(id_, key, value);
}

Status Study::SetSystemAttr(const std::string& key, const Json& value) {
  return storage_->SetStudySystemAttr(id_, key, value);
}

Result<std::map<std::string, Json>> Study::UserAttrs() { return storage_->GetStudyUserAttrs(id_); }

Result<std::map<std::string, Json>> Study::SystemAttrs() {
  return storage_->GetStudySystemAttrs(id_);
}

Result<std::vector<int64_t>> Study::FailStaleTrials(std::chrono::seconds grace, int max_retries) {
  MGR_ASSIGN_OR_RETURN(std::vector<int64_t> failed, storage_->FailStaleTrials(id_, grace));
  for (int64_t trial_id : failed) {
    MGR_ASSIGN_OR_RETURN(std::optional<int64_t> ignored, Retry(trial_id, max_retries));
    (void)ignored;
  }
  return failed;
}

Result<std::optional<int64_t>> Study::Retry(int64_t failed_trial_id, int max_retries) {
  MGR_ASSIGN_OR_RETURN(FrozenTrial t, storage_->GetTrial(failed_trial_id));
  if (t.state != TrialState::kFail) {
    return Status::FailedPrecondition("cannot retry " + TrialLabel(*this, t) + ": it is " +
                                      TrialStateName(t.state) + ", not FAIL");
  }
  // {"failed_trial": number, "retry_history": [], **trial.system_attrs}, then append.
  std::map<std::string, Json> attrs = t.system_attrs;
  if (!attrs.count(kFailedTrialKey)) attrs[kFailedTrialKey] = t.number;
  Json& history = attrs[kRetryHistoryKey];
  if (!history.is_array()) history = Json::array();
  history.push_back(t.number);
  if (max_retries < static_cast<int64_t>(history.size())) return std::optional<int64_t>();

  FrozenTrial retry;
  retry.state = TrialState::kWaiting;
  retry.params = t.params;
  retry.distributions = t.distributions;
  retry.user_attrs = t.user_attrs;
  retry.system_attrs = std::move(attrs);
  MGR_ASSIGN_OR_RETURN(int64_t new_id, storage_->CreateTrial(id_, &retry));
  MGR_ASSIGN_OR_RETURN(FrozenTrial created, storage_->GetTrial(new_id));
  return std::optional<int64_t>(created.number);
}

// --- Trial -------------------------------------------------------------------------------

Trial::Trial(Study* study, FrozenTrial frozen, std::shared_ptr<std::vector<FrozenTrial>> snapshot,
             size_t self_index, SearchSpace relative_space, std::map<std::string, double> relative)
    : study_(study),
      frozen_(std::move(frozen)),
      snapshot_(std::move(snapshot)),
      self_index_(self_index),
      relative_space_(std::move(relative_space)),
      relative_params_(std::move(relative)) {
  for (const auto& [name, dist] : frozen_.distributions) {
    auto it = frozen_.params.find(name);
    if (it != frozen_.params.end()) params_[name] = ToExternal(dist, it->second);
  }
}

Result<Json> Trial::Suggest(const std::string& name, const Distribution& dist) {
  const bool known = frozen_.distributions.count(name) > 0;
  MGR_ASSIGN_OR_RETURN(double internal, Draw(name, dist));
  if (known) return ToExternal(frozen_.distributions.at(name), internal);
  MGR_RETURN_IF_ERROR(Record(name, internal, dist));
  return ToExternal(dist, internal);
}

Result<Json> Trial::Propose(const std::string& name, const Distribution& dist) {
  MGR_ASSIGN_OR_RETURN(double internal, Draw(name, dist));
  auto old = frozen_.distributions.find(name);
  return ToExternal(old != frozen_.distributions.end() ? old->second : dist, internal);
}

Status Trial::SetParam(const std::string& name, const Distribution& dist, const Json& value) {
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, dist));
  const std::string label = "parameter '" + name + "' of trial " + std::to_string(number());
  Result<double> internal = ToInternal(dist, value);
  if (!internal.ok()) return internal.status().WithContext(label + ": value " + value.dump());
  if (!Contains(dist, *internal)) {
    return Status::InvalidArgument(label + ": value " + value.dump() + " is outside " +
                                   DistributionToString(dist));
  }
  auto old = frozen_.distributions.find(name);
  if (old != frozen_.distributions.end()) {
    if (Compatible(old->second, dist) && frozen_.params.at(name) == *internal) return Status::Ok();
    return Status::FailedPrecondition(label + " already has the value " +
                                      ToExternal(old->second, frozen_.params.at(name)).dump() +
                                      ", not " + value.dump());
  }
  return Record(name, *internal, dist);
}

Result<double> Trial::Draw(const std::string& name, const Distribution& dist) {
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, dist));
  std::string label = "parameter '" + name + "' of trial " + std::to_string(number());
  auto old = frozen_.distributions.find(name);
  if (old != frozen_.distributions.end()) {
    if (!Compatible(old->second, dist)) {
      return Status::InvalidArgument(label + ": " + DistributionToString(dist) +
                                     " is not compatible with its earlier " +
                                     DistributionToString(old->second));
    }
    return frozen_.params.at(name);
  }

  auto fixed_attr = frozen_.system_attrs.find(kFixedParamsKey);
  const Json* fixed = nullptr;
  if (fixed_attr != frozen_.system_attrs.end() && fixed_attr->second.is_object()) {
    auto f = fixed_attr->second.find(name);
    if (f != fixed_attr->second.end()) fixed = &*f;
  }
  auto rel = relative_params_.find(name);
  if (fixed) {
    Result<double> v = ToInternal(dist, *fixed);
    if (!v.ok()) return v.status().WithContext(label + ": enqueued value " + fixed->dump());
    if (!Contains(dist, *v)) {
      return Status::InvalidArgument(label + ": enqueued value " + fixed->dump() + " is outside " +
                                     DistributionToString(dist));
    }
    return *v;
  }
  if (IsSingle(dist)) {
    return std::visit(
        [](const auto& d) -> double {
          using D = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<D, CategoricalDistribution>) {
            return 0.0;
          } else {
            return static_cast<double>(d.low);
          }
        },
        dist);
  }
  if (rel != relative_params_.end() && relative_space_.count(name) &&
      Compatible(relative_space_.at(name), dist) && Contains(dist, rel->second)) {
    return rel->second;
  }
  StudyView view{study_->directions_, *snapshot_, study_->name_};
  return study_->sampler_->SampleIndependent(view, (*snapshot_)[self_index_], name, dist);
}

Status Trial::Record(const std::string& name, double internal, const Distribution& dist) {
  MGR_RETURN_IF_ERROR(study_->storage_->SetTrialParam(id(), name, internal, dist));
  frozen_.params[name] = internal;
  frozen_.distributions[name] = dist;
  FrozenTrial& self = (*snapshot_)[self_index_];
  self.params[name] = internal;
  self.distributions[name] = dist;
  params_[name] = ToExternal(dist, internal);
  return Status::Ok();
}

Result<double> Trial::SuggestFloat(const std::string& name, double low, double high, bool log,
                                   std::optional<double> step) {
  MGR_ASSIGN_OR_RETURN(Distribution dist, MakeFloatDistribution(name, low, high, log, step));
  MGR_ASSIGN_OR_RETURN(Json v, Suggest(name, dist));
  return v.get<double>();
}

Result<int64_t> Trial::SuggestInt(const std::string& name, int64_t low, int64_t high, bool log,
                                  int64_t step) {
  MGR_ASSIGN_OR_RETURN(Distribution dist, MakeIntDistribution(name, low, high, log, step));
  MGR_ASSIGN_OR_RETURN(Json v, Suggest(name, dist));
  if (v.is_number_integer()) return v.get<int64_t>();
  return static_cast<int64_t>(std::llround(v.get<double>()));
}

Result<Json> Trial::SuggestCategorical(const std::string& name, std::vector<Json> choices) {
  MGR_ASSIGN_OR_RETURN(Distribution dist, MakeCategoricalDistribution(name, std::move(choices)));
  return Suggest(name, dist);
}

Status Trial::Report(double value, int64_t step) {
  if (frozen_.intermediate_values.count(step)) return Status::Ok();  // first value wins
  MGR_RETURN_IF_ERROR(study_->Report(id(), step, value));
  frozen_.intermediate_values[step] = value;
  (*snapshot_)[self_index_].intermediate_values[step] = value;
  return Status::Ok();
}

Result<bool> Trial::ShouldPrune() { return study_->ShouldPrune(id()); }

Status Trial::SetUserAttr(const std::string& key, const Json& value) {
  MGR_RETURN_IF_ERROR(study_->storage_->SetTrialUserAttr(id(), key, value));
  frozen_.user_attrs[key] = value;
  return Status::Ok();
}

Status Trial::SetSystemAttr(const std::string& key, const Json& value) {
  MGR_RETURN_IF_ERROR(study_->storage_->SetTrialSystemAttr(id(), key, value));
  frozen_.system_attrs[key] = value;
  return Status::Ok();
}

}  // namespace mgr
