// TpeSampler: gamma and the below/above split against Optuna 3.1's own functions
// (tests/samplers/data/tpe_reference.json), then behaviour checked by hand.
#include "samplers/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "tests/samplers/reference_data.h"
#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Cat;
using testing_util::Float;
using testing_util::Int;
using testing_util::MakeTrial;
using testing_util::Num;
using testing_util::TpeReference;

TEST(TpeGammaTest, MatchesOptuna) {
  for (const Json& c : TpeReference()["gamma"]) {
    EXPECT_EQ(TpeGamma(c[0].get<int64_t>()), c[1].get<int64_t>()) << "n=" << c[0];
  }
}

TEST(SplitTrialsTest, MatchesOptuna) {
  int case_index = 0;
  for (const Json& c : TpeReference()["splits"]) {
    std::vector<FrozenTrial> trials;
    int64_t number = 0;
    for (const Json& t : c["trials"]) {
      TrialState state = *ParseTrialState(t["state"].get<std::string>());
      std::map<int64_t, double> inter;
      for (const Json& sv : t["intermediate"]) inter[sv[0].get<int64_t>()] = Num(sv[1]);
      trials.push_back(MakeTrial(number++, state,
                                 t["value"].is_null() ? 0.0 : t["value"].get<double>(), {}, inter));
    }
    std::vector<const FrozenTrial*> ptrs;
    for (const auto& t : trials) ptrs.push_back(&t);
    StudyDirection dir =
        c["direction"] == "minimize" ? StudyDirection::kMinimize : StudyDirection::kMaximize;
    int64_t n_below = TpeGamma(static_cast<int64_t>(trials.size()));
    ASSERT_EQ(n_below, c["n_below"].get<int64_t>());
    TpeSplit split = SplitTrials(ptrs, dir, n_below);
    std::vector<int64_t> below, above;
    for (auto* t : split.below) below.push_back(t->number);
    for (auto* t : split.above) above.push_back(t->number);
    EXPECT_EQ(below, c["below"].get<std::vector<int64_t>>()) << "case " << case_index;
    EXPECT_EQ(above, c["above"].get<std::vector<int64_t>>()) << "case " << case_index;
    ++case_index;
  }
}

TEST(SplitTrialsTest, RunningTrialsAreAlwaysAbove) {
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kComplete, 5.0, {}), MakeTrial(1, TrialState::kRunning, 0.0, {}),
      MakeTrial(2, TrialState::kComplete, 1.0, {}), MakeTrial(3, TrialState::kFail, 0.0, {})};
  std::vector<const FrozenTrial*> ptrs = {&trials[0], &trials[1], &trials[2], &trials[3]};
  TpeSplit split = SplitTrials(ptrs, StudyDirection::kMinimize, 3);
  ASSERT_EQ(split.below.size(), 2u);  // the two COMPLETE trials; FAIL is dropped
  EXPECT_EQ(split.below[0]->number, 0);
  EXPECT_EQ(split.below[1]->number, 2);
  ASSERT_EQ(split.above.size(), 1u);
  EXPECT_EQ(split.above[0]->number, 1);
}

// Large histories take the partial-selection path: with many tied values the below set
// must still be the first n_below of a stable sort (ties by trial number).
TEST(SplitTrialsTest, LargeHistoryWithTiesMatchesStableSort) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> level(0, 9);
  for (int n_complete : {500, 10}) {
    std::vector<FrozenTrial> trials;
    int made_complete = 0;
    for (int k = 0; k < 600; ++k) {
      if (k % 7 == 3) {
        trials.push_back(MakeTrial(k, TrialState::kRunning, 0.0, {}));
      } else if (k % 5 == 0 || made_complete == n_complete) {  // ties in step and value
        std::map<int64_t, double> inter = {{level(rng) % 3, static_cast<double>(level(rng))}};
        trials.push_back(MakeTrial(k, TrialState::kPruned, 0.0, {}, inter));
      } else {
        trials.push_back(MakeTrial(k, TrialState::kComplete, level(rng), {}));
        ++made_complete;
      }
    }
    std::vector<const FrozenTrial*> ptrs;
    for (const auto& t : trials) ptrs.push_back(&t);
    for (StudyDirection dir : {StudyDirection::kMinimize, StudyDirection::kMaximize}) {
      const double sign = dir == StudyDirection::kMaximize ? -1.0 : 1.0;
      std::vector<const FrozenTrial*> complete, pruned;
      for (auto* t : ptrs) {
        if (t->state == TrialState::kComplete) complete.push_back(t);
        if (t->state == TrialState::kPruned) pruned.push_back(t);
      }
      std::stable_sort(complete.begin(), complete.end(), [&](auto* a, auto* b) {
        return sign * a->values[0] < sign * b->values[0];
      });
      auto key = [&](const FrozenTrial* t) {
        const auto& [step, value] = *t->intermediate_values.rbegin();
        return std::make_pair(-static_cast<double>(step), sign * value);
      };
      std::stable_sort(pruned.begin(), pruned.end(),
                       [&](auto* a, auto* b) { return key(a) < key(b); });
      const size_t n_below = 25;
      std::set<int64_t> expected;
      for (size_t k = 0; k < std::min(n_below, complete.size()); ++k)
        expected.insert(complete[k]->number);
      for (size_t k = 0; expected.size() < n_below && k < pruned.size(); ++k)
        expected.insert(pruned[k]->number);
      TpeSplit split = SplitTrials(ptrs, dir, n_below);
      std::set<int64_t> below;
      for (auto* t : split.below) below.insert(t->number);
      EXPECT_EQ(below, expected) << "n_complete " << n_complete;
      EXPECT_EQ(split.below.size() + split.above.size(), trials.size());
    }
  }
}

// A study where x near 0.8 is good: after startup TPE concentrates there.
std::vector<FrozenTrial> History(int n, const Distribution& dist, double best) {
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < n; ++k) {
    double x = (k + 0.5) / n;
    double internal = x;
    if (auto* i = std::get_if<IntDistribution>(&dist))
      internal = std::round(i->low + x * (i->high - i->low));
    trials.push_back(
        MakeTrial(k, TrialState::kComplete, std::fabs(x - best), {{"x", {internal, dist}}}));
  }
  return trials;
}

TEST(TpeSamplerTest, RandomDuringStartupThenConcentratesNearTheBest) {
  TpeOptions o;
  o.seed = 1;
  Distribution d = Float(0.0, 1.0);
  auto trials = History(40, d, 0.8);
  FrozenTrial current = MakeTrial(40, TrialState::kRunning, 0, {});
  trials.push_back(current);
  StudyView view{{StudyDirection::kMinimize}, trials};
  TpeSampler tpe(o);
  int near = 0;
  for (int k = 0; k < 200; ++k)
    near += std::fabs(tpe.SampleIndependent(view, current, "x", d) - 0.8) < 0.1;
  // Random sampling would put ~20% within 0.1 of 0.8; TPE should put most there.
  EXPECT_GT(near, 140);

  // With fewer finished trials than n_startup_trials it is uniform.
  o.n_startup_trials = 100;
  TpeSampler startup(o);
  near = 0;
  for (int k = 0; k < 2000; ++k)
    near += std::fabs(startup.SampleIndependent(view, current, "x", d) - 0.8) < 0.1;
  EXPECT_NEAR(near / 2000.0, 0.2, 0.04);
}

TEST(TpeSamplerTest, MaximizeMirrorsMinimize) {
  TpeOptions o;
  o.seed = 2;
  Distribution d = Float(0.0, 1.0);
  auto trials = History(40, d, 0.2);
  for (auto& t : trials) t.values[0] = -t.values[0];  // best at 0.2 when maximising
  FrozenTrial current = MakeTrial(40, TrialState::kRunning, 0, {});
  StudyView view{{StudyDirection::kMaximize}, trials};
  TpeSampler tpe(o);
  int near = 0;
  for (int k = 0; k < 200; ++k)
    near += std::fabs(tpe.SampleIndependent(view, current, "x", d) - 0.2) < 0.1;
  EXPECT_GT(near, 140);
}

TEST(TpeSamplerTest, MultivariateSamplesTheIntersectionJointly) {
  TpeOptions o;
  o.seed = 3;
  o.multivariate = true;
  Distribution d = Float(-1.0, 1.0);
  std::vector<FrozenTrial> trials;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int k = 0; k < 60; ++k) {
    double x = u(rng), y = u(rng);
    // Good region: x close to y (a diagonal ridge), which univariate TPE cannot see.
    std::map<std::string, std::pair<double, Distribution>> p = {{"x", {x, d}}, {"y", {y, d}}};
    if (k % 2 == 0) p["only_some"] = {0.5, d};
    trials.push_back(MakeTrial(k, TrialState::kComplete, std::fabs(x - y), p));
  }
  FrozenTrial current = MakeTrial(60, TrialState::kRunning, 0, {});
  StudyView view{{StudyDirection::kMinimize}, trials};
  TpeSampler tpe(o);
  SearchSpace space = tpe.InferRelativeSearchSpace(view, current);
  ASSERT_EQ(space.size(), 2u);  // only_some is not in every trial
  EXPECT_TRUE(space.count("x") && space.count("y"));
  double mean_gap = 0;
  for (int k = 0; k < 100; ++k) {
    auto p = tpe.SampleRelative(view, current, space);
    ASSERT_EQ(p.size(), 2u);
    mean_gap += std::fabs(p["x"] - p["y"]) / 100;
  }
  // Uniform points have E|x - y| = 2/3.
  EXPECT_LT(mean_gap, 0.35);
}

TEST(TpeSamplerTest, GroupDecomposesConditionalSpaces) {
  TpeOptions o;
  o.seed = 4;
  o.multivariate = true;
  o.group = true;
  Distribution d = Float(0.0, 1.0);
  Distribution c = Cat({"a", "b"});
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < 20; ++k) {
    double branch = k % 2;
    std::map<std::string, std::pair<double, Distribution>> p = {{"branch", {branch, c}}};
    if (branch == 0) {
      p["a1"] = {k / 20.0, d};
      p["a2"] = {1 - k / 20.0, d};
    } else {
      p["b1"] = {k / 20.0, d};
    }
    trials.push_back(MakeTrial(k, TrialState::kComplete, k, p));
  }
  FrozenTrial current = MakeTrial(20, TrialState::kRunning, 0, {});
  StudyView view{{StudyDirection::kMinimize}, trials};
  TpeSampler tpe(o);
  SearchSpace space = tpe.InferRelativeSearchSpace(view, current);
  EXPECT_EQ(space.size(), 4u);  // groups {branch}, {a1, a2}, {b1}
  auto p = tpe.SampleRelative(view, current, space);
  EXPECT_EQ(p.size(), 4u);
  for (const auto& [name, v] : p) EXPECT_TRUE(Contains(space.at(name), v)) << name;
  // Without group, the intersection is only {branch}.
  o.group = false;
  TpeSampler plain(o);
  EXPECT_EQ(plain.InferRelativeSearchSpace(view, current).size(), 1u);
}

TEST(TpeSamplerTest, ConstantLiarAvoidsRunningTrialsPoints) {
  // Every finished trial is at x = 0.5 except a few; the best region is x ~ 0.5. A RUNNING
  // trial sits at the same point: with the liar it counts as bad, so fewer samples land
  // right on it than without.
  Distribution d = Float(0.0, 1.0, false, 0.05);
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < 30; ++k) {
    double x = 0.05 * (k % 21);
    trials.push_back(MakeTrial(k, TrialState::kComplete, std::fabs(x - 0.5), {{"x", {x, d}}}));
  }
  for (int k = 0; k < 5; ++k) {
    trials.push_back(MakeTrial(30 + k, TrialState::kRunning, 0, {{"x", {0.5, d}}}));
  }
  FrozenTrial current = MakeTrial(35, TrialState::kRunning, 0, {});
  trials.push_back(current);
  StudyView view{{StudyDirection::kMinimize}, trials};
  auto count_at_half = [&](bool liar) {
    TpeOptions o;
    o.seed = 9;
    o.constant_liar = liar;
    TpeSampler tpe(o);
    int n = 0;
    for (int k = 0; k < 300; ++k) n += tpe.SampleIndependent(view, current, "x", d) == 0.5;
    return n;
  };
  EXPECT_LT(count_at_half(true), count_at_half(false) / 2);
}

TEST(TpeSamplerTest, ConditionalParameterUsesOnlyTrialsThatHaveIt) {
  Distribution d = Int(1, 100, true);
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < 30; ++k) {
    std::map<std::string, std::pair<double, Distribution>> p;
    if (k % 3 == 0) p["units"] = {k < 15 ? 64.0 : 2.0, d};
    trials.push_back(MakeTrial(k, TrialState::kComplete, k, p));
  }
  FrozenTrial current = MakeTrial(30, TrialState::kRunning, 0, {});
  StudyView view{{StudyDirection::kMinimize}, trials};
  TpeOptions o;
  o.seed = 6;
  TpeSampler tpe(o);
  for (int k = 0; k < 50; ++k) {
    double v = tpe.SampleIndependent(view, current, "units", d);
    ASSERT_TRUE(Contains(d, v)) << v;
  }
  // A parameter no trial has yet is drawn from the prior alone, still inside its range.
  double v = tpe.SampleIndependent(view, current, "new", Cat({"x", "y", "z"}));
  EXPECT_TRUE(v == 0 || v == 1 || v == 2);
}

TEST(TpeSamplerTest, PrunedTrialsCountAndFailedAreIgnored) {
  // 10 startup trials counted over COMPLETE + PRUNED only.
  Distribution d = Float(0.0, 1.0);
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < 9; ++k)
    trials.push_back(MakeTrial(k, TrialState::kFail, 0, {{"x", {0.9, d}}}));
  for (int k = 0; k < 5; ++k)
    trials.push_back(MakeTrial(9 + k, TrialState::kComplete, k, {{"x", {0.1, d}}}));
  for (int k = 0; k < 4; ++k) {
    trials.push_back(MakeTrial(14 + k, TrialState::kPruned, 0, {{"x", {0.1, d}}}, {{0, 5.0}}));
  }
  FrozenTrial current = MakeTrial(18, TrialState::kRunning, 0, {});
  StudyView view{{StudyDirection::kMinimize}, trials};
  TpeOptions o;
  o.seed = 7;
  TpeSampler tpe(o);
  // 9 finished (5 + 4) < 10: random, so about 10% land in [0.9, 1].
  int high = 0;
  for (int k = 0; k < 1000; ++k) high += tpe.SampleIndependent(view, current, "x", d) >= 0.9;
  EXPECT_NEAR(high / 1000.0, 0.1, 0.035);
}

TEST(TpeSamplerTest, ReusedForAnotherStudyForgetsTheFirst) {
  // The sampler caches what finished trials hold; a study whose trial numbers name other
  // trial ids must not be mixed with the cached one.
  Distribution d = Float(0.0, 1.0);
  std::vector<FrozenTrial> first, second;
  for (int k = 0; k < 12; ++k) {
    first.push_back(MakeTrial(k, TrialState::kComplete, k, {{"x", {0.5, d}}, {"y", {0.5, d}}}));
    second.push_back(MakeTrial(k, TrialState::kComplete, k, {{"z", {0.25, d}}}));
    second.back().trial_id = 100 + k;
  }
  TpeOptions o;
  o.multivariate = true;
  TpeSampler tpe(o);
  FrozenTrial current = MakeTrial(12, TrialState::kRunning, 0, {});
  StudyView view1{{StudyDirection::kMinimize}, first};
  EXPECT_EQ(tpe.InferRelativeSearchSpace(view1, current).size(), 2u);
  EXPECT_EQ(tpe.SampleRelative(view1, current, tpe.InferRelativeSearchSpace(view1, current)).size(),
            2u);
  StudyView view2{{StudyDirection::kMinimize}, second};
  SearchSpace space = tpe.InferRelativeSearchSpace(view2, current);
  ASSERT_EQ(space.size(), 1u);
  EXPECT_TRUE(space.count("z"));
  auto p = tpe.SampleRelative(view2, current, space);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(Contains(d, p["z"]));
}

}  // namespace
}  // namespace mgr
