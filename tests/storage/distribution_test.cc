// Distribution rules and JSON are checked against Optuna's own definitions
// (optuna/distributions.py); expected strings are what Python's json.dumps writes.
#include "storage/distribution.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(DistributionTest, JsonIsByteIdenticalToOptuna) {
  EXPECT_EQ(DistributionToJsonString(*MakeFloatDistribution("lr", 1e-5, 0.1, true)),
            R"({"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.1, "log": true, "step": null}})");
  EXPECT_EQ(DistributionToJsonString(*MakeIntDistribution("n", 2, 10)),
            R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 2, "high": 10}})");
  EXPECT_EQ(DistributionToJsonString(*MakeCategoricalDistribution("opt", {"adam", "sgd"})),
            R"({"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd"]}})");
}

TEST(DistributionTest, JsonRoundTrips) {
  std::vector<Distribution> all = {
      *MakeFloatDistribution("a", -1, 1), *MakeFloatDistribution("b", 0, 1, false, 0.25),
      *MakeFloatDistribution("c", 1e-5, 1, true), *MakeIntDistribution("d", 1, 64, true),
      *MakeIntDistribution("e", 0, 10, false, 2),
      *MakeCategoricalDistribution("f", {"x", 1, 2.5, true, nullptr})};
  for (const auto& d : all) {
    auto back = DistributionFromJsonString(DistributionToJsonString(d));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == d) << DistributionToString(d);
  }
}

TEST(DistributionTest, ToStringShowsTheShortestExactNumbers) {
  // As Python's repr: 0.03, not 0.029999999999999999; 17 digits only where 15 lose bits.
  EXPECT_EQ(DistributionToString(*MakeFloatDistribution("lr", 1e-4, 3e-2, true)),
            "float[0.0001, 0.03] log");
  EXPECT_EQ(DistributionToString(*MakeFloatDistribution("x", 0.1 + 0.2, 1)),
            "float[0.30000000000000004, 1]");
}

TEST(DistributionTest, ReadsOptunaLegacyNames) {
  auto u = DistributionFromJsonString(
      R"({"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 1.0}})");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(std::get<FloatDistribution>(*u).log);
  auto q = DistributionFromJsonString(
      R"({"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 1.0, "q": 0.5}})");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*std::get<FloatDistribution>(*q).step, 0.5);
  auto i = DistributionFromJsonString(
      R"({"name": "IntUniformDistribution", "attributes": {"low": 0, "high": 9, "step": 3}})");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(std::get<IntDistribution>(*i).step, 3);
  EXPECT_FALSE(DistributionFromJsonString(R"({"name": "Gaussian", "attributes": {}})").ok());
  EXPECT_FALSE(DistributionFromJsonString("not json").ok());
}

TEST(DistributionTest, StepThatDoesNotDivideLowersHigh) {
  // Optuna: high = low + floor((high - low) / step) * step.
  EXPECT_EQ(std::get<IntDistribution>(*MakeIntDistribution("n", 0, 10, false, 3)).high, 9);
  EXPECT_EQ(std::get<IntDistribution>(*MakeIntDistribution("n", 1, 10, false, 3)).high, 10);
  EXPECT_DOUBLE_EQ(std::get<FloatDistribution>(*MakeFloatDistribution("x", 0, 1, false, 0.3)).high, 0.9);
  EXPECT_DOUBLE_EQ(std::get<FloatDistribution>(*MakeFloatDistribution("x", 0, 1, false, 0.1)).high, 1.0);
}

TEST(DistributionTest, InvalidDefinitionsNameTheParameter) {
  auto expect_error = [](Result<Distribution> r, const std::string& fragment) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  };
  expect_error(MakeFloatDistribution("lr", 1, 0), "lr: low must be <= high");
  expect_error(MakeFloatDistribution("lr", 0, 1, true), "lr: low must be > 0");
  expect_error(MakeFloatDistribution("lr", 0.1, 1, true, 0.1), "lr: log and step");
  expect_error(MakeFloatDistribution("lr", 0, INFINITY), "lr: bounds must be finite");
  expect_error(MakeFloatDistribution("lr", NAN, 1), "lr: bounds must be finite");
  expect_error(MakeIntDistribution("units", 8, 4), "units: low must be <= high");
  expect_error(MakeIntDistribution("units", 0, 4, true), "units: low must be >= 1");
  expect_error(MakeIntDistribution("units", 1, 4, true, 2), "units: log and step");
  expect_error(MakeIntDistribution("units", 1, 4, false, 0), "units: step must be > 0");
  expect_error(MakeCategoricalDistribution("opt", {}), "opt: choices must not be empty");
  expect_error(MakeCategoricalDistribution("opt", {"a", "b", "a"}), "opt: duplicate choice");
  expect_error(MakeCategoricalDistribution("opt", {Json::array()}), "opt: choices[0]");
  // 1 and true are different choices (as in JSON), so this is not a duplicate.
  EXPECT_TRUE(MakeCategoricalDistribution("opt", {1, true}).ok());
}

TEST(DistributionTest, InternalRepresentation) {
  auto cat = *MakeCategoricalDistribution("opt", {"adam", "sgd", 3, nullptr});
  EXPECT_EQ(*ToInternal(cat, "sgd"), 1.0);
  EXPECT_EQ(*ToInternal(cat, 3.0), 2.0);  // 3 == 3.0, as in Python
  EXPECT_EQ(*ToInternal(cat, nullptr), 3.0);
  EXPECT_FALSE(ToInternal(cat, "rmsprop").ok());
  EXPECT_EQ(ToExternal(cat, 0.0), Json("adam"));
  auto i = *MakeIntDistribution("n", 0, 10, false, 2);
  EXPECT_EQ(ToExternal(i, 4.0), Json(4));
  EXPECT_TRUE(ToExternal(i, 4.0).is_number_integer());
  EXPECT_FALSE(ToInternal(i, "four").ok());
  EXPECT_TRUE(Contains(i, 4));
  EXPECT_FALSE(Contains(i, 5));
  EXPECT_FALSE(Contains(i, 12));
  auto f = *MakeFloatDistribution("x", 0, 1, false, 0.25);
  EXPECT_TRUE(Contains(f, 0.75));
  EXPECT_FALSE(Contains(f, 0.7));
  EXPECT_TRUE(Contains(cat, 3));
  EXPECT_FALSE(Contains(cat, 4));
}

TEST(DistributionTest, SingleAndCompatible) {
  EXPECT_TRUE(IsSingle(*MakeFloatDistribution("x", 1, 1)));
  EXPECT_TRUE(IsSingle(*MakeFloatDistribution("x", 0, 0.2, false, 0.25)));
  EXPECT_FALSE(IsSingle(*MakeFloatDistribution("x", 0, 0.5, false, 0.25)));
  EXPECT_TRUE(IsSingle(*MakeIntDistribution("n", 0, 1, false, 2)));
  EXPECT_TRUE(IsSingle(*MakeCategoricalDistribution("c", {"only"})));
  EXPECT_TRUE(Compatible(*MakeFloatDistribution("x", 0, 1), *MakeFloatDistribution("x", 5, 9, false)));
  EXPECT_FALSE(Compatible(*MakeFloatDistribution("x", 0, 1), *MakeIntDistribution("x", 0, 1)));
  EXPECT_FALSE(Compatible(*MakeCategoricalDistribution("c", {"a"}),
                          *MakeCategoricalDistribution("c", {"a", "b"})));
}

}  // namespace
}  // namespace mgr
