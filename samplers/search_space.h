// Search-space helpers shared by the samplers: the mapping between a distribution and a
// box of reals (Optuna's _SearchSpaceTransform), a portable uniform draw, and the joint
// search spaces Optuna infers from a study's trials (intersection and group decomposition).
#ifndef MGR_SAMPLERS_SEARCH_SPACE_H_
#define MGR_SAMPLERS_SEARCH_SPACE_H_

#include <cstdint>
#include <random>
#include <vector>

#include "samplers/sampler.h"

namespace mgr {

// Uniform double in [0, 1) with 53 random bits; identical on every platform.
inline double UniformUnit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// The interval a distribution occupies once transformed, as Optuna's
// _SearchSpaceTransform defines it: log scale for log distributions, widened by step/2
// on each side for stepped ones (int log: [log(low - 0.5), log(high + 0.5)]), and
// [0, n) for a categorical with n choices.
struct TransformedBounds {
  double low;
  double high;
};
TransformedBounds TransformBounds(const Distribution& dist);
// Maps a point of TransformBounds(dist) back to the internal representation: undoes the
// log, rounds to the step grid, clips to [low, high] (continuous floats stay below high
// unless low == high), and floors a categorical index.
double Untransform(const Distribution& dist, double transformed);

// Optuna's IntersectionSearchSpace: the parameters (with identical distributions) that
// every COMPLETE trial, and every PRUNED trial if `include_pruned`, has. Trials in other
// states are ignored. Empty when there is no such trial.
SearchSpace IntersectionSearchSpace(const std::vector<FrozenTrial>& trials, bool include_pruned);

// Optuna's _GroupDecomposedSearchSpace: splits the parameters of the COMPLETE (and
// PRUNED if `include_pruned`) trials into disjoint groups such that each trial's
// parameters are a union of whole groups. Groups are in Optuna's order.
std::vector<SearchSpace> GroupDecomposedSearchSpace(const std::vector<FrozenTrial>& trials,
                                                    bool include_pruned);

}  // namespace mgr

#endif  // MGR_SAMPLERS_SEARCH_SPACE_H_
