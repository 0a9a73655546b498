#include "samplers/search_space.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Cat;
using testing_util::Float;
using testing_util::Int;
using testing_util::MakeTrial;

TEST(TransformTest, BoundsFollowOptunasSearchSpaceTransform) {
  auto b = TransformBounds(Int(1, 100, true));
  EXPECT_DOUBLE_EQ(b.low, std::log(0.5));
  EXPECT_DOUBLE_EQ(b.high, std::log(100.5));
  b = TransformBounds(Float(0.0, 1.0, false, 0.25));
  EXPECT_DOUBLE_EQ(b.low, -0.125);
  EXPECT_DOUBLE_EQ(b.high, 1.125);
  b = TransformBounds(Int(2, 10, false, 4));
  EXPECT_DOUBLE_EQ(b.low, 0.0);
  EXPECT_DOUBLE_EQ(b.high, 12.0);
  b = TransformBounds(Cat({"a", "b", "c"}));
  EXPECT_DOUBLE_EQ(b.high, 3.0);
}

TEST(TransformTest, UntransformRoundsAndClips) {
  EXPECT_EQ(Untransform(Int(2, 10, false, 4), 3.9), 2.0);
  EXPECT_EQ(Untransform(Int(2, 10, false, 4), 4.1), 6.0);
  EXPECT_EQ(Untransform(Int(2, 10, false, 4), 11.9), 10.0);
  EXPECT_EQ(Untransform(Int(1, 100, true), std::log(1.49)), 1.0);
  EXPECT_EQ(Untransform(Int(1, 100, true), std::log(100.4)), 100.0);
  EXPECT_DOUBLE_EQ(Untransform(Float(0.0, 1.0, false, 0.25), 0.6), 0.5);
  EXPECT_LT(Untransform(Float(0.0, 1.0), 1.0), 1.0);  // continuous floats stay below high
  EXPECT_EQ(Untransform(Cat({"a", "b", "c"}), 2.999), 2.0);
  EXPECT_DOUBLE_EQ(Untransform(Float(1e-5, 1e-1, true), std::log(1e-3)), 1e-3);
}

TEST(IntersectionSearchSpaceTest, KeepsParamsEveryFinishedTrialHasWithEqualDistributions) {
  Distribution x = Float(0, 1), y = Int(1, 5), z = Cat({"a", "b"});
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kComplete, 1, {{"x", {0.1, x}}, {"y", {2, y}}, {"z", {0, z}}}),
      MakeTrial(1, TrialState::kPruned, 1, {{"x", {0.2, x}}, {"y", {3, y}}}),
      MakeTrial(2, TrialState::kFail, 1, {{"x", {0.2, x}}}),
      MakeTrial(3, TrialState::kRunning, 1, {}),
      MakeTrial(4, TrialState::kComplete, 1, {{"x", {0.3, Float(0, 2)}}, {"y", {1, y}}}),
  };
  SearchSpace with_pruned = IntersectionSearchSpace(trials, true);
  ASSERT_EQ(with_pruned.size(), 1u);  // x changed its range in trial 4; z missing in 1
  EXPECT_TRUE(with_pruned.count("y"));
  trials.erase(trials.begin() + 4);
  SearchSpace complete_only = IntersectionSearchSpace(trials, false);
  EXPECT_EQ(complete_only.size(), 3u);  // only trial 0 counts
  EXPECT_TRUE(IntersectionSearchSpace({}, true).empty());
}

TEST(GroupDecomposedSearchSpaceTest, SplitsIntoGroupsThatAlwaysAppearTogether) {
  Distribution d = Float(0, 1);
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kComplete, 1, {{"a", {0, d}}, {"b", {0, d}}, {"c", {0, d}}}),
      MakeTrial(1, TrialState::kComplete, 1, {{"a", {0, d}}, {"b", {0, d}}, {"d", {0, d}}}),
      MakeTrial(2, TrialState::kComplete, 1, {{"a", {0, d}}, {"e", {0, d}}}),
  };
  // Same groups, same order as Optuna 3.1's _SearchSpaceGroup.add_distributions gives for
  // these three trials (checked with /usr/bin/python3).
  std::vector<SearchSpace> groups = GroupDecomposedSearchSpace(trials, false);
  std::vector<std::vector<std::string>> names;
  for (const auto& g : groups) {
    std::vector<std::string> n;
    for (const auto& [k, v] : g) n.push_back(k);
    names.push_back(n);
  }
  std::vector<std::vector<std::string>> expected = {{"a"}, {"b"}, {"c"}, {"d"}, {"e"}};
  EXPECT_EQ(names, expected);
  // Two branches that never mix stay whole.
  std::vector<FrozenTrial> branches = {
      MakeTrial(0, TrialState::kComplete, 1, {{"k", {0, d}}, {"a1", {0, d}}, {"a2", {0, d}}}),
      MakeTrial(1, TrialState::kComplete, 1, {{"k", {0, d}}, {"b1", {0, d}}}),
  };
  groups = GroupDecomposedSearchSpace(branches, false);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].size(), 1u);  // {k}
  EXPECT_EQ(groups[1].size(), 2u);  // {a1, a2}
  EXPECT_EQ(groups[2].size(), 1u);  // {b1}
}

}  // namespace
}  // namespace mgr
