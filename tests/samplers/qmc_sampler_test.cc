// QMC: Sobol points against the hand-derived Joe-Kuo sequence, net properties that
// scrambling must preserve, Halton digits, the dimension limit, and the sampler's use of
// trial numbers. Equality with Optuna 5 and SciPy: qmc_sampler_optuna5_test (label python).
#include "samplers/qmc_sampler.h"

#include <cmath>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Cat;
using testing_util::Float;
using testing_util::MakeTrial;

TEST(QmcSequenceTest, UnscrambledSobolFirstPointsMatchHandDerivation) {
  // Gray-code order, x_n = x_{n-1} xor v_c. Dim 1: v_k = 2^-k. Dim 2 (s=1, a=0, m=1):
  // m = 1, 3, 5 -> v = 1/2, 3/4, 5/8. Dim 3 (s=2, a=1, m=1,3): m_3 = 6^4^1 = 3 -> v_3 = 3/8.
  // These are also the values scipy.stats.qmc.Sobol(3, scramble=False) prints.
  const double expected[8][3] = {{0, 0, 0},
                                 {0.5, 0.5, 0.5},
                                 {0.75, 0.25, 0.25},
                                 {0.25, 0.75, 0.75},
                                 {0.375, 0.375, 0.625},
                                 {0.875, 0.875, 0.125},
                                 {0.625, 0.125, 0.875},
                                 {0.125, 0.625, 0.375}};
  QmcSequence seq = *QmcSequence::Create(QmcType::kSobol, 3, false, 0);
  for (int n = 0; n < 8; ++n) {
    std::vector<double> p = seq.Point(n);
    for (int d = 0; d < 3; ++d) EXPECT_EQ(p[d], expected[n][d]) << "point " << n << " dim " << d;
  }
}

// Each of the first 2^m points falls in a different interval [k/2^m, (k+1)/2^m).
void ExpectStratified1D(const QmcSequence& seq, int n_points, int base_intervals) {
  std::vector<std::set<int64_t>> cells(seq.dims());
  for (int n = 0; n < n_points; ++n) {
    const std::vector<double> p = seq.Point(n);
    for (int d = 0; d < seq.dims(); ++d) {
      ASSERT_GE(p[d], 0.0);
      ASSERT_LT(p[d], 1.0);
      cells[d].insert(static_cast<int64_t>(std::floor(p[d] * base_intervals)));
    }
  }
  for (int d = 0; d < seq.dims(); ++d) {
    EXPECT_EQ(cells[d].size(), static_cast<size_t>(n_points)) << "dim " << d;
  }
}

TEST(QmcSequenceTest, EverySobolDimensionIsStratifiedScrambledOrNot) {
  ExpectStratified1D(*QmcSequence::Create(QmcType::kSobol, QmcSequence::kMaxSobolDims, false, 0),
                     1024, 1024);
  ExpectStratified1D(*QmcSequence::Create(QmcType::kSobol, QmcSequence::kMaxSobolDims, true, 5),
                     1024, 1024);
}

TEST(QmcSequenceTest, ScrambledSobolKeepsTheTwoDimensionalNet) {
  // The first two Sobol dimensions form a (0, m, 2)-net: 1024 points, one per cell of a
  // 32 x 32 grid (and of 64 x 16, ...). Linear scrambling plus a digital shift keeps it.
  for (uint64_t seed : {1u, 2u, 3u}) {
    QmcSequence seq = *QmcSequence::Create(QmcType::kSobol, 2, true, seed);
    for (int bx : {32, 64, 16}) {
      int by = 1024 / bx;
      std::set<std::pair<int, int>> cells;
      for (int n = 0; n < 1024; ++n) {
        auto p = seq.Point(n);
        cells.insert({static_cast<int>(p[0] * bx), static_cast<int>(p[1] * by)});
      }
      EXPECT_EQ(cells.size(), 1024u) << "seed " << seed << " grid " << bx << "x" << by;
    }
  }
}

TEST(QmcSequenceTest, ScrambleDependsOnSeed) {
  QmcSequence a = *QmcSequence::Create(QmcType::kSobol, 4, true, 1);
  QmcSequence b = *QmcSequence::Create(QmcType::kSobol, 4, true, 1);
  QmcSequence c = *QmcSequence::Create(QmcType::kSobol, 4, true, 2);
  EXPECT_EQ(a.Point(17), b.Point(17));
  EXPECT_NE(a.Point(17), c.Point(17));
  EXPECT_NE(a.Point(0), std::vector<double>(4, 0.0));  // scrambled: origin moves
}

TEST(QmcSequenceTest, HaltonRadicalInverses) {
  QmcSequence seq = *QmcSequence::Create(QmcType::kHalton, 3, false, 0);
  // Bases 2, 3, 5.
  const double expected[5][3] = {{0, 0, 0},
                                 {0.5, 1.0 / 3, 0.2},
                                 {0.25, 2.0 / 3, 0.4},
                                 {0.75, 1.0 / 9, 0.6},
                                 {0.125, 4.0 / 9, 0.8}};
  for (int n = 0; n < 5; ++n) {
    auto p = seq.Point(n);
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(p[d], expected[n][d], 1e-15) << n << " " << d;
  }
  // Scrambled Halton keeps the base-b stratification of each dimension.
  QmcSequence s = *QmcSequence::Create(QmcType::kHalton, 3, true, 4);
  for (int d = 0; d < 3; ++d) {
    int base = d == 0 ? 2 : (d == 1 ? 3 : 5);
    int n_points = base == 2 ? 256 : (base == 3 ? 243 : 125);
    std::set<int> cells;
    for (int n = 0; n < n_points; ++n) cells.insert(static_cast<int>(s.Point(n)[d] * n_points));
    EXPECT_EQ(cells.size(), static_cast<size_t>(n_points)) << "dim " << d;
  }
}

TEST(QmcSequenceTest, SobolBeyondBoostsTableIsAnError) {
  static_assert(QmcSequence::kMaxSobolDims == 3667, "Boost 1.74's table");
  Result<QmcSequence> too_many =
      QmcSequence::Create(QmcType::kSobol, QmcSequence::kMaxSobolDims + 1, false, 0);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("at most 3667"), std::string::npos)
      << too_many.status().message();
  EXPECT_NE(too_many.status().message().find("has 3668"), std::string::npos);
  EXPECT_FALSE(QmcSequence::Create(QmcType::kSobol, 0, false, 0).ok());
  // Halton has no table: any dimension count works.
  EXPECT_TRUE(QmcSequence::Create(QmcType::kHalton, QmcSequence::kMaxSobolDims + 1, true, 0).ok());
}

TEST(QmcSamplerTest, TooManySobolDimensionsLeaveTheSpaceToIndependentDraws) {
  SearchSpace space;
  for (int i = 0; i <= QmcSequence::kMaxSobolDims; ++i) {
    space.emplace("p" + std::to_string(i), Float(0.0, 1.0));
  }
  std::vector<FrozenTrial> none;
  StudyView view{{StudyDirection::kMinimize}, none};
  QmcSampler sampler(QmcOptions{});
  EXPECT_TRUE(
      sampler.SampleRelative(view, MakeTrial(1, TrialState::kRunning, 0, {}), space).empty());
  space.erase("p0");  // at the limit: every parameter gets its coordinate
  EXPECT_EQ(sampler.SampleRelative(view, MakeTrial(1, TrialState::kRunning, 0, {}), space).size(),
            static_cast<size_t>(QmcSequence::kMaxSobolDims));
}

TEST(QmcSamplerTest, TrialNumbersWalkTheSequenceOverTheFirstTrialsSpace) {
  Distribution x = Float(0.0, 1.0), lr = Float(1e-5, 1e-1, true), opt = Cat({"a", "b"});
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kFail, 0, {{"x", {0.1, x}}}),
      MakeTrial(1, TrialState::kComplete, 1.0,
                {{"x", {0.2, x}}, {"lr", {1e-3, lr}}, {"opt", {1, opt}}})};
  StudyView view{{StudyDirection::kMinimize}, trials};
  QmcOptions o;
  o.scramble = false;
  QmcSampler sampler(o);
  FrozenTrial t = MakeTrial(5, TrialState::kRunning, 0, {});
  SearchSpace space = sampler.InferRelativeSearchSpace(view, t);
  ASSERT_EQ(space.size(), 2u);  // the categorical is left to independent sampling
  // Trial 5 gets point 4 of the unscrambled Sobol sequence in map order (lr, x):
  // (0.375, 0.375) -> lr = exp(log 1e-5 + 0.375 (log 1e-1 - log 1e-5)), x = 0.375.
  auto p = sampler.SampleRelative(view, t, space);
  EXPECT_NEAR(p["lr"], std::exp(std::log(1e-5) + 0.375 * (std::log(1e-1) - std::log(1e-5))), 1e-15);
  EXPECT_EQ(p["x"], 0.375);
  // No finished trial yet: nothing relative.
  std::vector<FrozenTrial> none;
  StudyView empty{{StudyDirection::kMinimize}, none};
  EXPECT_TRUE(sampler.InferRelativeSearchSpace(empty, t).empty());
}

}  // namespace
}  // namespace mgr
