// Sampler: proposes parameter values for a trial from the history of its study.
//
// The shape follows Optuna's BaseSampler. For each new trial the study API calls
// InferRelativeSearchSpace and SampleRelative once (joint sampling: multivariate TPE,
// quasi-random), then SampleIndependent for every parameter SampleRelative did not
// provide (univariate TPE, random, conditional parameters). Values are in the internal
// float representation (storage/distribution.h).
//
// A sampler is seeded and deterministic: the same seed and the same trials give the same
// values. Not thread-safe: use one sampler per study object.
#ifndef MGR_SAMPLERS_SAMPLER_H_
#define MGR_SAMPLERS_SAMPLER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/distribution.h"
#include "storage/base/status.h"
#include "storage/trial.h"

namespace mgr {

using SearchSpace = std::map<std::string, Distribution>;

// What a sampler or pruner sees of a study: its directions and all its trials (any state),
// ordered by number. The trial being sampled is among them, RUNNING.
struct StudyView {
  std::vector<StudyDirection> directions;
  const std::vector<FrozenTrial>& trials;
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
