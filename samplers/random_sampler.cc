#include "samplers/random_sampler.h"

#include "samplers/search_space.h"

namespace mgr {

double RandomSampler::Sample(const Distribution& dist, std::mt19937_64& rng) {
  if (IsSingle(dist)) return Untransform(dist, TransformBounds(dist).low);
  TransformedBounds b = TransformBounds(dist);
  return Untransform(dist, b.low + (b.high - b.low) * UniformUnit(rng));
}

double RandomSampler::SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                                        const std::string& name, const Distribution& dist) {
  if (IsSingle(dist)) return Untransform(dist, TransformBounds(dist).low);
  std::mt19937_64 rng = seeder_.Rng(study, trial, name);
  return Sample(dist, rng);
}

}  // namespace mgr
