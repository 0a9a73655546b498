#include "samplers/random_sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Cat;
using testing_util::Float;
using testing_util::Int;

constexpr int kDraws = 40000;

// Frequencies of each drawn value.
std::map<double, double> Frequencies(const Distribution& dist, uint64_t seed) {
  std::vector<FrozenTrial> trials;
  StudyView view{{StudyDirection::kMinimize}, trials};
  RandomSampler s(seed);
  FrozenTrial t;
  std::map<double, double> freq;
  for (int k = 0; k < kDraws; ++k) {
    double v = s.SampleIndependent(view, t, "x", dist);
    EXPECT_TRUE(Contains(dist, v)) << DistributionToString(dist) << " gave " << v;
    freq[v] += 1.0 / kDraws;
  }
  return freq;
}

// Standard error of a frequency estimate is <= 0.0025 at 40,000 draws; 0.012 is ~5 sigma.
constexpr double kTol = 0.012;

TEST(RandomSamplerTest, IntLogIsLogUniformOnWidenedRange) {
  // Optuna draws on [log(0.5), log(100.5)] and rounds: P(1) = log(1.5/0.5)/log(100.5/0.5).
  auto freq = Frequencies(Int(1, 100, true), 1);
  EXPECT_NEAR(freq[1.0], std::log(3.0) / std::log(201.0), kTol);
  EXPECT_NEAR(freq[2.0], std::log(2.5 / 1.5) / std::log(201.0), kTol);
  EXPECT_NEAR(freq[100.0], std::log(100.5 / 99.5) / std::log(201.0), kTol);
}

TEST(RandomSamplerTest, StepGridIsUniform) {
  auto freq = Frequencies(Float(0.0, 1.0, false, 0.25), 2);
  ASSERT_EQ(freq.size(), 5u);
  for (auto [v, f] : freq) EXPECT_NEAR(f, 0.2, kTol) << v;
  auto ifreq = Frequencies(Int(2, 10, false, 4), 3);  // 2, 6, 10
  ASSERT_EQ(ifreq.size(), 3u);
  for (auto [v, f] : ifreq) EXPECT_NEAR(f, 1.0 / 3.0, kTol) << v;
}

TEST(RandomSamplerTest, CategoricalIsUniformOverIndices) {
  auto freq = Frequencies(Cat({"a", "b", "c", "d"}), 4);
  ASSERT_EQ(freq.size(), 4u);
  for (auto [v, f] : freq) EXPECT_NEAR(f, 0.25, kTol) << v;
}

TEST(RandomSamplerTest, FloatLogMedianIsGeometricMean) {
  std::vector<FrozenTrial> trials;
  StudyView view{{StudyDirection::kMinimize}, trials};
  RandomSampler s(5);
  FrozenTrial t;
  int below = 0;
  Distribution d = Float(1e-5, 1e-1, true);
  for (int k = 0; k < kDraws; ++k) below += s.SampleIndependent(view, t, "x", d) < 1e-3;
  EXPECT_NEAR(static_cast<double>(below) / kDraws, 0.5, kTol);
}

TEST(RandomSamplerTest, SeedDeterminesSequence) {
  std::vector<FrozenTrial> trials;
  StudyView view{{StudyDirection::kMinimize}, trials};
  RandomSampler a(7), b(7), c(8);
  FrozenTrial t;
  Distribution d = Float(-3.0, 3.0);
  int same_as_c = 0;
  for (int k = 0; k < 100; ++k) {
    double va = a.SampleIndependent(view, t, "x", d);
    EXPECT_EQ(va, b.SampleIndependent(view, t, "x", d));
    same_as_c += va == c.SampleIndependent(view, t, "x", d);
  }
  EXPECT_EQ(same_as_c, 0);
}

TEST(RandomSamplerTest, SingleValueDistributions) {
  std::vector<FrozenTrial> trials;
  StudyView view{{StudyDirection::kMinimize}, trials};
  RandomSampler s(9);
  FrozenTrial t;
  EXPECT_EQ(s.SampleIndependent(view, t, "x", Float(0.5, 0.5)), 0.5);
  EXPECT_EQ(s.SampleIndependent(view, t, "x", Float(2.0, 2.0, true)), 2.0);
  EXPECT_EQ(s.SampleIndependent(view, t, "x", Int(3, 3)), 3.0);
  EXPECT_EQ(s.SampleIndependent(view, t, "x", Cat({"only"})), 0.0);
}

}  // namespace
}  // namespace mgr
