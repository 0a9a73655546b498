// Argument parsing of the storage commands (tuner/storage_commands.cc), checked against
// Optuna's own forms: distribution_json and sampler class names. Storage URLs are parsed
// by storage/storage.cc (tests/storage/storage_test.cc).
#include "tuner/storage_commands.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(ParseSearchSpaceTest, KeepsOrderAndReadsOptunaJson) {
  auto space = ParseSearchSpace(
      R"({"z": {"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.1, "log": true, "step": null}},
          "a": {"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd"]}}})");
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  ASSERT_EQ(space->size(), 2u);
  EXPECT_EQ((*space)[0].first, "z");
  EXPECT_EQ((*space)[1].first, "a");
  const auto& f = std::get<FloatDistribution>((*space)[0].second);
  EXPECT_EQ(f.low, 1e-05);
  EXPECT_TRUE(f.log);
}

TEST(ParseSearchSpaceTest, ErrorsNameTheProblem) {
  EXPECT_EQ(ParseSearchSpace("{oops").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSearchSpace("[1]").status().code(), StatusCode::kInvalidArgument);
  auto bad = ParseSearchSpace(
      R"({"lr": {"name": "FloatDistribution", "attributes": {"low": 1.0, "high": 0.0, "log": false, "step": null}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("lr"), std::string::npos) << bad.status().message();
}

TEST(SamplerConfigTest, ClassNamesJsonAndSeeds) {
  EXPECT_EQ(*SamplerConfigFromArgs("", "", 9), Json::parse(R"({"type": "tpe", "seed": 9})"));
  EXPECT_EQ(*SamplerConfigFromArgs("RandomSampler", R"({"seed": 1})", 9),
            Json::parse(R"({"type": "random", "seed": 1})"));
  EXPECT_EQ(*SamplerConfigFromArgs(R"({"type": "qmc"})", "", 4),
            Json::parse(R"({"type": "qmc", "seed": 4})"));
  EXPECT_FALSE(SamplerConfigFromArgs("CmaEsSampler", "", 0).ok());
  EXPECT_FALSE(SamplerConfigFromArgs("", R"({"seed": 1})", 0).ok());  // kwargs need a class
  EXPECT_FALSE(SamplerConfigFromArgs("{bad", "", 0).ok());
}

TEST(ParseDirectionArgsTest, OneOrTheOther) {
  EXPECT_EQ(*ParseDirectionArgs("maximize", {}),
            std::vector<StudyDirection>{StudyDirection::kMaximize});
  EXPECT_EQ(*ParseDirectionArgs("", {"minimize", "maximize"}),
            (std::vector<StudyDirection>{StudyDirection::kMinimize, StudyDirection::kMaximize}));
  EXPECT_TRUE(ParseDirectionArgs("", {})->empty());
  EXPECT_FALSE(ParseDirectionArgs("maximize", {"minimize"}).ok());
  EXPECT_FALSE(ParseDirectionArgs("up", {}).ok());
}

}  // namespace
}  // namespace mgr
