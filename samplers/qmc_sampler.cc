#include "samplers/qmc_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "samplers/search_space.h"

namespace mgr {
namespace {

// Joe and Kuo's new-joe-kuo-6.21201 direction numbers, dimensions 2 to 40:
// {degree s, polynomial a, initial m_1..m_s}. Dimension 1 has all m_k = 1.
// (c) 2008 Frances Y. Kuo and Stephen Joe, BSD licence; see docs/samplers.md.
struct SobolInit {
  int s;
  uint32_t a;
  uint32_t m[8];
};
constexpr SobolInit kJoeKuo[] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
    {7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {7, 8, {1, 3, 5, 9, 1, 25, 53}},
    {7, 14, {1, 3, 1, 13, 9, 35, 107}},
    {7, 19, {1, 3, 1, 5, 27, 61, 31}},
    {7, 21, {1, 1, 5, 11, 19, 41, 61}},
    {7, 28, {1, 3, 5, 3, 3, 13, 69}},
    {7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {7, 32, {1, 3, 7, 5, 13, 19, 59}},
    {7, 37, {1, 1, 3, 9, 25, 29, 41}},
    {7, 41, {1, 3, 5, 13, 23, 1, 55}},
    {7, 42, {1, 3, 7, 3, 13, 59, 17}},
    {7, 50, {1, 3, 1, 3, 5, 53, 69}},
    {7, 55, {1, 1, 5, 5, 23, 33, 13}},
    {7, 56, {1, 1, 7, 7, 1, 61, 123}},
    {7, 59, {1, 1, 7, 9, 13, 61, 49}},
    {7, 62, {1, 3, 3, 5, 3, 55, 33}},
    {8, 14, {1, 3, 1, 15, 31, 13, 49, 245}},
    {8, 21, {1, 3, 5, 15, 31, 59, 63, 97}},
    {8, 22, {1, 3, 1, 11, 11, 11, 77, 249}},
};
static_assert(sizeof(kJoeKuo) / sizeof(kJoeKuo[0]) == QmcSequence::kMaxSobolDims - 1,
              "one row per dimension after the first");

constexpr int kBits = 32;

// Direction numbers v_1..v_32 of one dimension, as 32-bit fractions.
std::vector<uint32_t> SobolDirections(int dim) {
  std::vector<uint32_t> m(kBits + 1);
  if (dim == 0) {
    for (int k = 1; k <= kBits; ++k) m[k] = 1;
  } else {
    const SobolInit& init = kJoeKuo[dim - 1];
    const int s = init.s;
    for (int k = 1; k <= s; ++k) m[k] = init.m[k - 1];
    for (int k = s + 1; k <= kBits; ++k) {
      uint32_t v = m[k - s] ^ (m[k - s] << s);
      for (int j = 1; j < s; ++j) {
        if ((init.a >> (s - 1 - j)) & 1u) v ^= m[k - j] << j;
      }
      m[k] = v;
    }
  }
  std::vector<uint32_t> v(kBits);
  for (int k = 1; k <= kBits; ++k) v[k - 1] = m[k] << (kBits - k);
  return v;
}

int NthPrime(int n) {
  int count = 0;
  for (int p = 2;; ++p) {
    bool prime = true;
    for (int q = 2; q * q <= p; ++q) {
      if (p % q == 0) {
        prime = false;
        break;
      }
    }
    if (prime && count++ == n) return p;
  }
}

}  // namespace

QmcSequence::QmcSequence(QmcType type, int dims, bool scramble, uint64_t seed)
    : type_(dims > kMaxSobolDims ? QmcType::kHalton : type), dims_(dims) {
  std::mt19937_64 rng(seed);
  if (type_ == QmcType::kSobol) {
    directions_.resize(dims);
    shift_.assign(dims, 0);
    for (int d = 0; d < dims; ++d) {
      std::vector<uint32_t> v = SobolDirections(d);
      if (scramble) {
        // Lower-triangular random binary matrix with unit diagonal, applied to each
        // direction number's bits (most significant bit first), then a random shift.
        std::vector<uint32_t> rows(kBits);
        for (int i = 0; i < kBits; ++i) {
          uint32_t below = i == 0 ? 0u : static_cast<uint32_t>(rng()) & ~(0xffffffffu >> i);
          rows[i] = below | (0x80000000u >> i);
        }
        for (uint32_t& dir : v) {
          uint32_t out = 0;
          for (int i = 0; i < kBits; ++i) {
            if (__builtin_parity(rows[i] & dir)) out |= 0x80000000u >> i;
          }
          dir = out;
        }
        shift_[d] = static_cast<uint32_t>(rng());
      }
      directions_[d] = std::move(v);
    }
    return;
  }
  bases_.resize(dims);
  permutations_.resize(dims);
  for (int d = 0; d < dims; ++d) {
    const int base = NthPrime(d);
    bases_[d] = base;
    // Enough digit positions to resolve 2^-53.
    const int n_digits = static_cast<int>(std::ceil(53.0 * std::log(2.0) / std::log(base)));
    permutations_[d].resize(n_digits);
    for (auto& perm : permutations_[d]) {
      perm.resize(base);
      std::iota(perm.begin(), perm.end(), 0);
      if (scramble) {
        for (int i = base - 1; i > 0; --i) {
          int j = static_cast<int>(UniformUnit(rng) * (i + 1));
          std::swap(perm[i], perm[j]);
        }
      }
    }
  }
}

std::vector<double> QmcSequence::Point(uint64_t index) const {
  std::vector<double> out(dims_);
  if (type_ == QmcType::kSobol) {
    const uint64_t gray = index ^ (index >> 1);
    for (int d = 0; d < dims_; ++d) {
      uint32_t x = shift_[d];
      for (int j = 0; j < kBits && (gray >> j) != 0; ++j) {
        if ((gray >> j) & 1u) x ^= directions_[d][j];
      }
      out[d] = static_cast<double>(x) / 4294967296.0;
    }
    return out;
  }
  for (int d = 0; d < dims_; ++d) {
    const int base = bases_[d];
    uint64_t n = index;
    double scale = 1.0 / base, x = 0.0;
    for (const auto& perm : permutations_[d]) {
      x += perm[n % base] * scale;
      n /= base;
      scale /= base;
    }
    out[d] = std::min(x, std::nextafter(1.0, 0.0));
  }
  return out;
}

QmcSampler::QmcSampler(const QmcOptions& options) : options_(options), random_(options.seed) {}

SearchSpace QmcSampler::InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) {
  for (const FrozenTrial& t : study.trials) {  // ordered by number
    if (t.state != TrialState::kComplete && t.state != TrialState::kPruned) continue;
    SearchSpace space;
    for (const auto& [name, dist] : t.distributions) {
      if (std::holds_alternative<CategoricalDistribution>(dist) || IsSingle(dist)) continue;
      space.emplace(name, dist);
    }
    return space;
  }
  return {};
}

std::map<std::string, double> QmcSampler::SampleRelative(const StudyView& study,
                                                         const FrozenTrial& trial,
                                                         const SearchSpace& space) {
  if (space.empty()) return {};
  const int dims = static_cast<int>(space.size());
  const uint64_t seed = MixSeed({options_.seed, HashName(study.study_name)});
  if (!sequence_ || sequence_->dims() != dims || sequence_seed_ != seed) {
    sequence_ = std::make_unique<QmcSequence>(options_.type, dims, options_.scramble, seed);
    sequence_seed_ = seed;
  }
  const uint64_t index = trial.number > 0 ? static_cast<uint64_t>(trial.number - 1) : 0;
  std::vector<double> u = sequence_->Point(index);
  std::map<std::string, double> out;
  int i = 0;
  for (const auto& [name, dist] : space) {
    TransformedBounds b = TransformBounds(dist);
    out[name] = Untransform(dist, b.low + u[i++] * (b.high - b.low));
  }
  return out;
}

double QmcSampler::SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                                     const std::string& name, const Distribution& dist) {
  return random_.SampleIndependent(study, trial, name, dist);
}

}  // namespace mgr
