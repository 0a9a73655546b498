#include "samplers/qmc_sampler.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <string>

#include <boost/random/detail/sobol_table.hpp>

#include "samplers/search_space.h"

namespace mgr {
namespace {

// Joe and Kuo's new-joe-kuo-6.21201 table as Boost.Random carries it.
using SobolTable = boost::random::detail::qrng_tables::sobol;
static_assert(SobolTable::max_dimension == QmcSequence::kMaxSobolDims,
              "kMaxSobolDims is Boost's table size");
static_assert(SobolTable::max_degree < 32, "initial numbers fit the 32-bit directions");

constexpr int kBits = 32;

// Direction numbers v_1..v_32 of one dimension, as 32-bit fractions.
std::vector<uint32_t> SobolDirections(int dim) {
  std::vector<uint32_t> m(kBits + 1);
  if (dim == 0) {
    for (int k = 1; k <= kBits; ++k) m[k] = 1;
  } else {
    // Boost stores each primitive polynomial whole (leading and constant terms
    // included): degree s = its top bit; Joe and Kuo's a = the s - 1 bits in between.
    const uint32_t poly = SobolTable::polynomial(dim - 1);
    int s = 0;
    while ((poly >> (s + 1)) != 0) ++s;
    const uint32_t a = (poly >> 1) & ((1u << (s - 1)) - 1u);
    for (int k = 1; k <= s; ++k) m[k] = SobolTable::minit(dim - 1, k - 1);
    for (int k = s + 1; k <= kBits; ++k) {
      uint32_t v = m[k - s] ^ (m[k - s] << s);
      for (int j = 1; j < s; ++j) {
        if ((a >> (s - 1 - j)) & 1u) v ^= m[k - j] << j;
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

Result<QmcSequence> QmcSequence::Create(QmcType type, int dims, bool scramble, uint64_t seed) {
  if (dims < 1) {
    return Status::InvalidArgument("QMC sequence: dimension count must be at least 1, got " +
                                   std::to_string(dims));
  }
  if (type == QmcType::kSobol && dims > kMaxSobolDims) {
    return Status::InvalidArgument(
        "QMC sequence: Sobol supports at most " + std::to_string(kMaxSobolDims) +
        " dimensions (Boost.Random's Joe-Kuo table), the search space has " + std::to_string(dims) +
        "; use qmc_type \"halton\"");
  }
  return QmcSequence(type, dims, scramble, seed);
}

QmcSequence::QmcSequence(QmcType type, int dims, bool scramble, uint64_t seed)
    : type_(type), dims_(dims) {
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
    Result<QmcSequence> created = QmcSequence::Create(options_.type, dims, options_.scramble, seed);
    if (!created.ok()) {
      if (!warned_) {
        std::cerr << "QMCSampler: " << created.status().message()
                  << "; sampling these parameters independently\n";
        warned_ = true;
      }
      return {};
    }
    sequence_ = std::make_unique<QmcSequence>(*std::move(created));
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
