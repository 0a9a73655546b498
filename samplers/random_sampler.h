// RandomSampler: independent uniform sampling, as Optuna's RandomSampler.
//
// Each value is drawn uniformly on the distribution's transformed interval (see
// search_space.h) and mapped back: log distributions are log-uniform, an int log
// distribution draws on [log(low - 0.5), log(high + 0.5)] and rounds, stepped
// distributions land uniformly on their grid, categoricals pick each choice with equal
// probability. Each value comes from its own generator (TrialSeeder: seed, study name,
// trial number, parameter name), so the same seed gives the same values in every process
// and no two trials share a draw. Not thread-safe.
#ifndef MGR_SAMPLERS_RANDOM_SAMPLER_H_
#define MGR_SAMPLERS_RANDOM_SAMPLER_H_

#include <cstdint>
#include <random>

#include "samplers/sampler.h"

namespace mgr {

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seeder_(seed) {}
  std::string Name() const override { return "RandomSampler"; }
  double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                           const std::string& name, const Distribution& dist) override;

  // The same draw, usable by other samplers with their own generator.
  static double Sample(const Distribution& dist, std::mt19937_64& rng);

 private:
  TrialSeeder seeder_;
};

}  // namespace mgr

#endif  // MGR_SAMPLERS_RANDOM_SAMPLER_H_
