// The study API: ask/tell, enqueue, pruning, heartbeats and retries on top of a Storage,
// with Optuna's semantics (optuna/study/study.py, optuna/study/_tell.py,
// optuna/trial/_trial.py, optuna/_callbacks.py RetryFailedTrialCallback).
//
// A Study owns its sampler and pruner and shares its storage (which other processes, e.g.
// Python Optuna or another mgr-tune, may be writing at the same time: the storage's
// atomicity is what keeps trial numbers and WAITING claims unique).
#ifndef MGR_STUDIES_STUDY_H_
#define MGR_STUDIES_STUDY_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "samplers/pruner.h"
#include "samplers/sampler.h"
#include "storage/base/status.h"
#include "storage/distribution.h"
#include "storage/storage.h"
#include "storage/trial.h"

namespace mgr {

class Trial;

// System attribute keys Optuna uses (and reads back).
inline constexpr char kFixedParamsKey[] = "fixed_params";    // enqueued trial's values
inline constexpr char kFailedTrialKey[] = "failed_trial";    // first trial of a retry chain
inline constexpr char kRetryHistoryKey[] = "retry_history";  // numbers of the chain so far

// The root of a retry chain: system attr failed_trial when present, else the number. A
// chain's attempts share the root's run folder (trials/<stage>/<root>/).
inline int64_t ChainRootNumber(const FrozenTrial& t) {
  auto it = t.system_attrs.find(kFailedTrialKey);
  if (it != t.system_attrs.end() && it->second.is_number_integer())
    return it->second.get<int64_t>();
  return t.number;
}

// A study: its storage, sampler and pruner. Not thread-safe (the orchestrator uses it from
// one event loop). Owns its sampler and pruner; shares the storage.
class Study {
 public:
  // Loads the study `name` if it exists (InvalidArgument if its directions differ from a
  // non-empty `directions`), else creates it (empty `directions` means one MINIMIZE).
  static Result<std::unique_ptr<Study>> CreateOrLoad(std::shared_ptr<Storage> storage,
                                                     const std::string& name,
                                                     std::vector<StudyDirection> directions,
                                                     std::unique_ptr<Sampler> sampler,
                                                     std::unique_ptr<Pruner> pruner);
  // NotFound if there is no study `name`.
  static Result<std::unique_ptr<Study>> Load(std::shared_ptr<Storage> storage,
                                             const std::string& name,
                                             std::unique_ptr<Sampler> sampler,
                                             std::unique_ptr<Pruner> pruner);

  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;
  ~Study();

  int64_t id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::vector<StudyDirection>& directions() const { return directions_; }
  Storage& storage() { return *storage_; }
  Sampler& sampler() { return *sampler_; }
  Pruner& pruner() { return *pruner_; }

  // WAITING trials first (oldest first, claimed atomically), else a new RUNNING trial;
  // then runs the sampler's relative sampling on the study as it is now. With
  // `record_heartbeat` the trial's first heartbeat is recorded as soon as it is RUNNING,
  // before sampling: a process killed after that leaves a trial that goes stale, where one
  // killed before its first heartbeat would leave a RUNNING trial that never does.
  Result<Trial> Ask(bool record_heartbeat = false);

  // Finishes a RUNNING trial. COMPLETE needs one non-NaN value per objective; PRUNED takes
  // no values and records the last intermediate value as its value when that is not NaN
  // and the study has one objective (Optuna's rule); FAIL takes none.
  // FailedPrecondition if the trial is finished or WAITING; InvalidArgument for bad values.
  Status Tell(int64_t trial_id, TrialState state, const std::vector<double>& values = {});

  // Optuna's enqueue_trial: a WAITING trial with system attr fixed_params = params
  // (external values) and the given user attrs. The next Ask returns it.
  Status Enqueue(const std::map<std::string, Json>& params,
                 const std::map<std::string, Json>& user_attrs = {});

  // Records an intermediate value of a RUNNING trial. As Optuna's Trial.report, a step
  // that was already reported keeps its first value (the call is then a no-op).
  // InvalidArgument for a negative step or a multi-objective study.
  Status Report(int64_t trial_id, int64_t step, double value);
  // Asks the pruner, with a StudyView of all the study's trials (finished trials come from
  // this object's cache). InvalidArgument for a multi-objective study (Optuna does not
  // prune those either).
  Result<bool> ShouldPrune(int64_t trial_id);
  // Records "now" as the trial's heartbeat.
  Status Heartbeat(int64_t trial_id);

  // All trials ordered by number; only those in `states` when non-empty.
  Result<std::vector<FrozenTrial>> Trials(const std::vector<TrialState>& states = {});
  Result<FrozenTrial> GetTrial(int64_t trial_id);
  Result<FrozenTrial> GetTrialByNumber(int64_t number);
  // Single objective: the COMPLETE trial with the best value (the lowest number among
  // ties). NotFound if no trial is COMPLETE; InvalidArgument for several objectives.
  Result<FrozenTrial> BestTrial();
  // The COMPLETE trials no other COMPLETE trial dominates (Pareto front), by number.
  Result<std::vector<FrozenTrial>> BestTrials();
  // The same over `trials` already read (their COMPLETE ones count), so that a caller that
  // lists the study and its best trials reads the study once.
  Result<FrozenTrial> BestTrial(const std::vector<FrozenTrial>& trials) const;
  Result<std::vector<FrozenTrial>> BestTrials(std::vector<FrozenTrial> trials) const;

  Status SetUserAttr(const std::string& key, const Json& value);
  Status SetSystemAttr(const std::string& key, const Json& value);
  Result<std::map<std::string, Json>> UserAttrs();
  Result<std::map<std::string, Json>> SystemAttrs();

  // Fails RUNNING trials whose heartbeat is older than `grace` and re-enqueues each with
  // the same params while its retry count < max_retries (see Retry). Returns the ids it
  // failed. Safe against other processes doing the same: each trial is failed once.
  Result<std::vector<int64_t>> FailStaleTrials(std::chrono::seconds grace, int max_retries);

  // Optuna's RetryFailedTrialCallback(max_retry=max_retries) for a FAIL trial: a WAITING
  // copy with the same params, distributions and user attrs, the failed trial's system
  // attrs, failed_trial = the first trial of the chain and retry_history = the chain's
  // numbers (this one last). Returns the new trial's number, or nullopt when the chain
  // already holds max_retries retries. FailedPrecondition if the trial is not FAIL.
  Result<std::optional<int64_t>> Retry(int64_t failed_trial_id, int max_retries);

 private:
  friend class Trial;
  Study(std::shared_ptr<Storage> storage, int64_t id, std::string name,
        std::vector<StudyDirection> directions, std::unique_ptr<Sampler> sampler,
        std::unique_ptr<Pruner> pruner);

  std::shared_ptr<Storage> storage_;
  int64_t id_;
  std::string name_;
  std::vector<StudyDirection> directions_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Pruner> pruner_;

  // Brings trials_ up to date and returns it (ordered by number). As Optuna's cached
  // storage: finished trials never change state, values, params or intermediate values,
  // so only the trials not yet seen finished are read again. Attributes of a cached
  // finished trial may be stale; samplers and pruners do not read them.
  Result<const std::vector<FrozenTrial>*> RefreshTrials();
  std::vector<FrozenTrial> trials_;
  std::map<int64_t, size_t> trial_index_;  // trial id -> position in trials_
  std::vector<int64_t> unfinished_ids_;    // ids in trials_ whose state was not finished
  int64_t max_seen_id_ = -1;
};

// A RUNNING trial handed out by Study::Ask. Refers to its Study (which must outlive it).
// Keeps the snapshot of the study's trials taken at Ask for its sampler calls (as Optuna's
// cached storage does). Copyable and movable; not thread-safe.
class Trial {
 public:
  int64_t id() const { return frozen_.trial_id; }
  int64_t number() const { return frozen_.number; }

  // An enqueued trial's fixed_params win; else a distribution with one value gives it;
  // else the relative sample; else SampleIndependent. Suggesting a name again returns the
  // value it already has (InvalidArgument if the new distribution is not compatible: a
  // different kind or different choices). Returns the external value.
  Result<Json> Suggest(const std::string& name, const Distribution& dist);
  Result<double> SuggestFloat(const std::string& name, double low, double high, bool log = false,
                              std::optional<double> step = std::nullopt);
  Result<int64_t> SuggestInt(const std::string& name, int64_t low, int64_t high, bool log = false,
                             int64_t step = 1);
  Result<Json> SuggestCategorical(const std::string& name, std::vector<Json> choices);

  // Suggest in two steps, so that a caller can look at a whole configuration before the
  // trial commits to it. Propose returns what Suggest would, without recording it (the
  // sampler still draws: asking again gets the trial's next draw). SetParam records
  // `value` (external) as the trial's value of `name`: InvalidArgument if the distribution
  // is invalid or does not contain it, FailedPrecondition if the name already has another
  // value.
  Result<Json> Propose(const std::string& name, const Distribution& dist);
  Status SetParam(const std::string& name, const Distribution& dist, const Json& value);

  Status Report(double value, int64_t step);
  Result<bool> ShouldPrune();
  Status SetUserAttr(const std::string& key, const Json& value);
  Status SetSystemAttr(const std::string& key, const Json& value);

  // External values suggested so far (and those a retried trial was created with).
  const std::map<std::string, Json>& params() const { return params_; }
  // The trial as this object knows it: the state at Ask plus its own writes.
  const FrozenTrial& frozen() const { return frozen_; }

 private:
  friend class Study;
  Trial(Study* study, FrozenTrial frozen, std::shared_ptr<std::vector<FrozenTrial>> snapshot,
        size_t self_index, SearchSpace relative_space, std::map<std::string, double> relative);
  // The internal value Suggest gives `name` (its recorded one if it has one).
  Result<double> Draw(const std::string& name, const Distribution& dist);
  // Stores and remembers a new parameter value.
  Status Record(const std::string& name, double internal, const Distribution& dist);

  Study* study_;
  FrozenTrial frozen_;
  // All trials of the study at Ask time; entry self_index_ is this trial, kept up to date.
  std::shared_ptr<std::vector<FrozenTrial>> snapshot_;
  size_t self_index_;
  SearchSpace relative_space_;
  std::map<std::string, double> relative_params_;
  std::map<std::string, Json> params_;
};

}  // namespace mgr

#endif  // MGR_STUDIES_STUDY_H_
