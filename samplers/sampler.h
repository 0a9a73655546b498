// Sampler: proposes parameter values for a trial from the history of its study.
//
// The shape follows Optuna's BaseSampler. For each new trial the study API calls
// InferRelativeSearchSpace and SampleRelative once (joint sampling: multivariate TPE,
// quasi-random), then SampleIndependent for every parameter SampleRelative did not
// provide (univariate TPE, random, conditional parameters). Values are in the internal
// float representation (storage/distribution.h).
//
// A sampler is seeded and deterministic: the same seed and the same trials give the same
// values. Its randomness comes from (seed, study name, trial number, parameter), never
// from a stream that advances with each process's draws: a rerun after a crash, a second
// process on the same study or a loop of `mgr-tune ask` gets for each new trial number
// what one process asking every trial would, and no two trials share a random draw
// (TrialSeeder below). Not thread-safe: use one sampler per study object.
#ifndef MGR_SAMPLERS_SAMPLER_H_
#define MGR_SAMPLERS_SAMPLER_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/base/seeds.h"
#include "storage/base/status.h"
#include "storage/distribution.h"
#include "storage/trial.h"

namespace mgr {

using SearchSpace = std::map<std::string, Distribution>;

// What a sampler or pruner sees of a study: its directions and all its trials (any state),
// ordered by number. The trial being sampled is among them, RUNNING.
struct StudyView {
  std::vector<StudyDirection> directions;
  const std::vector<FrozenTrial>& trials;
  std::string_view study_name = {};  // seeds the trial's draws (TrialSeeder)
  // Where a pruner or sampler records a trial system attribute, as Optuna's pruners call
  // study._storage.set_trial_system_attr (SuccessiveHalvingPruner's and HyperbandPruner's
  // "completed_rung_<n>"; GpSampler's "gp:kernel_params" in SampleRelative). The study API
  // stores it (Storage::SetTrialSystemAttr), so that the trial's next view, in any process,
  // shows it in system_attrs; it deals with a failed write itself. Only the judged or sampled
  // trial is written to, and the write may show in `trials` at once or only in the next view
  // (the pruner reads the rungs as they were before the check, as Optuna does). Empty: those
  // pruners keep what they record in memory, which is right while one pruner object sees
  // every check of the study; GpSampler then fits every trial from the default start.
  std::function<void(int64_t trial_id, const std::string& key, const Json& value)>
      set_trial_system_attr = {};
};

// The generators of a seeded sampler. Draw k (0, 1, ...) of `stream` (a parameter name, or
// the names of a relative search space) for trial `number` of study `study_name` is seeded
// with MixSeed(seed, HashName(study_name), number, HashName(stream), k), so it is the same
// in every process and differs between trials, studies and seeds. The draw index counts
// how often this object was asked for that stream of that trial (a repeated Propose gets a
// new value); it restarts when another trial is asked for.
class TrialSeeder {
 public:
  explicit TrialSeeder(uint64_t seed) : seed_(seed) {}
  std::mt19937_64 Rng(const StudyView& study, const FrozenTrial& trial, std::string_view stream);
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  std::string study_;
  int64_t number_ = -1;
  std::map<std::string, uint64_t, std::less<>> draws_;  // stream -> draws so far
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string Name() const = 0;

  virtual SearchSpace InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) {
    return {};
  }
  virtual std::map<std::string, double> SampleRelative(const StudyView& study,
                                                       const FrozenTrial& trial,
                                                       const SearchSpace& space) {
    return {};
  }
  virtual double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                                   const std::string& name, const Distribution& dist) = 0;
};

// Builds a sampler from its study-file config, e.g. {"type": "tpe", "seed": 1,
// "multivariate": true, "constant_liar": true}. Errors name the offending key.
Result<std::unique_ptr<Sampler>> MakeSampler(const Json& config);

}  // namespace mgr

#endif  // MGR_SAMPLERS_SAMPLER_H_
