// QmcSampler: quasi-random search (scrambled Sobol by default, or Halton), as Optuna's
// QMCSampler; what the tuning playbook recommends for exploration stages.
//
// The relative search space is the parameters of the study's first COMPLETE or PRUNED
// trial (categorical and single-value parameters excluded, as in Optuna). The first
// trial, categoricals and any parameter outside that space are sampled independently at
// random. Trial number n (n >= 1) receives point n - 1 of the sequence, so points are
// unique across parallel workers and a resumed study continues the same sequence
// (Optuna keeps a counter in the study's system attributes instead). A Sobol space of more
// than QmcSequence::kMaxSobolDims parameters is reported on stderr once and sampled
// independently (the Sampler interface has no error channel; no real study gets there).
//
// Deterministic for (qmc_type, scramble, seed, study name): the seed and the study's name
// pick the scrambling (two studies with one seed get different points; unscrambled, every
// study and seed get the same ones) and seed the independent draws per trial and parameter
// (TrialSeeder in sampler.h). Not thread-safe.
#ifndef MGR_SAMPLERS_QMC_SAMPLER_H_
#define MGR_SAMPLERS_QMC_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "samplers/random_sampler.h"
#include "samplers/sampler.h"
#include "storage/base/status.h"

namespace mgr {

enum class QmcType { kSobol, kHalton };

// A d-dimensional low-discrepancy sequence in [0, 1)^d. Immutable; thread-safe.
class QmcSequence {
 public:
  // Sobol: Joe and Kuo's direction numbers (new-joe-kuo-6.21201) as Boost.Random's
  // sobol_table.hpp carries them, for up to kMaxSobolDims dimensions (Boost's table, cut
  // where the polynomials fit 16 bits), Gray-code order (point 0 is the origin when
  // unscrambled, as in SciPy; unscrambled points equal SciPy's and Optuna's QMCSampler's).
  // Scrambling is a random linear matrix scramble plus a digital shift (SciPy's "LMS+shift").
  // Halton: prime bases 2, 3, 5...; scrambling permutes the digits at random per position.
  static constexpr int kMaxSobolDims = 3667;
  // Fails (InvalidArgument) for dims < 1, or Sobol with more than kMaxSobolDims dims.
  static Result<QmcSequence> Create(QmcType type, int dims, bool scramble, uint64_t seed);

  // The index-th point (0-based).
  std::vector<double> Point(uint64_t index) const;
  int dims() const { return dims_; }
  QmcType type() const { return type_; }

 private:
  QmcSequence(QmcType type, int dims, bool scramble, uint64_t seed);

  QmcType type_;
  int dims_;
  // Sobol: 32 direction numbers per dimension (already scrambled) and the shift.
  std::vector<std::vector<uint32_t>> directions_;
  std::vector<uint32_t> shift_;
  // Halton: per dimension, its base and one digit permutation per digit position.
  std::vector<int> bases_;
  std::vector<std::vector<std::vector<int>>> permutations_;
};

struct QmcOptions {
  QmcType type = QmcType::kSobol;
  bool scramble = true;
  uint64_t seed = 0;
};

class QmcSampler : public Sampler {
 public:
  explicit QmcSampler(const QmcOptions& options);
  std::string Name() const override { return "QMCSampler"; }

  SearchSpace InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) override;
  std::map<std::string, double> SampleRelative(const StudyView& study, const FrozenTrial& trial,
                                               const SearchSpace& space) override;
  double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                           const std::string& name, const Distribution& dist) override;

 private:
  QmcOptions options_;
  RandomSampler random_;                   // the independent draws
  std::unique_ptr<QmcSequence> sequence_;  // cached for the last dimension count and seed
  uint64_t sequence_seed_ = 0;
  bool warned_ = false;  // the too-many-dimensions message is printed once
};

}  // namespace mgr

#endif  // MGR_SAMPLERS_QMC_SAMPLER_H_
