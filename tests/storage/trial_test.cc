#include "storage/trial.h"

#include <cmath>

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(TrialStateTest, NamesRoundTripAsOptunaStoresThem) {
  for (auto s : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned,
                 TrialState::kFail, TrialState::kWaiting}) {
    auto parsed = ParseTrialState(TrialStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_STREQ(TrialStateName(TrialState::kComplete), "COMPLETE");
  EXPECT_FALSE(ParseTrialState("DONE").ok());
  EXPECT_TRUE(IsFinished(TrialState::kPruned));
  EXPECT_FALSE(IsFinished(TrialState::kWaiting));
}

TEST(StudyDirectionTest, ParsesCaseInsensitively) {
  EXPECT_EQ(*ParseStudyDirection("minimize"), StudyDirection::kMinimize);
  EXPECT_EQ(*ParseStudyDirection("MAXIMIZE"), StudyDirection::kMaximize);
  auto bad = ParseStudyDirection("down");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("down"), std::string::npos);
}

TEST(DatetimeTest, FormatsLikeOptunaAndParsesBack) {
  // 2024-02-29 12:34:56.000789 UTC, computed by hand: 1709210096 s since the epoch.
  TimePoint t = TimePoint(std::chrono::seconds(1709210096)) + std::chrono::microseconds(789);
  EXPECT_EQ(FormatDatetime(t), "2024-02-29 12:34:56.000789");
  auto back = ParseDatetime("2024-02-29 12:34:56.000789");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
  auto no_frac = ParseDatetime("2024-02-29 12:34:56");
  ASSERT_TRUE(no_frac.ok());
  EXPECT_EQ(*no_frac, TimePoint(std::chrono::seconds(1709210096)));
  EXPECT_FALSE(ParseDatetime("yesterday").ok());
}

TEST(FrozenTrialTest, ParamIsExternalValue) {
  FrozenTrial t;
  t.params["opt"] = 1;
  t.distributions["opt"] = CategoricalDistribution{{"adam", "sgd"}};
  t.params["layers"] = 3;
  t.distributions["layers"] = IntDistribution{1, 5, false, 1};
  EXPECT_EQ(t.Param("opt"), Json("sgd"));
  EXPECT_EQ(t.Param("layers"), Json(3));
  EXPECT_TRUE(t.Param("missing").is_null());
  EXPECT_TRUE(std::isnan(t.value()));
  t.intermediate_values[4] = 0.5;
  t.intermediate_values[2] = 0.7;
  EXPECT_EQ(*t.LastStep(), 4);
}

}  // namespace
}  // namespace mgr
