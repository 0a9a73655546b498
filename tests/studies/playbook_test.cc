#include "studies/playbook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mgr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StudyFile MakeStudy(const std::string& min_improvement = "0.05") {
  Json j = Json::parse(R"({
    "name": "pb",
    "dataset": {"metadata": "t.csv", "audio_dir": "a", "cache_dir": "c"},
    "model": {"family": "nnet2"},
    "fixed": {"max_epochs": 5, "batch_size": 32},
    "retune": {"lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": true}},
    "stages": [
      {"name": "base", "trials": 2},
      {"name": "dense", "trials": 2, "params": {
         "dense_layers": {"type": "int", "low": 1, "high": 3},
         "dense_units": {"type": "int", "low": 4, "high": 256, "per_layer_of": "dense_layers"}}},
      {"name": "bn", "trials": 2, "fixed": {"batch_norm": true},
       "params": {"dropout": {"type": "float", "low": 0, "high": 0.5, "per_layer_of": "dense_layers"}}}
    ]})");
  j["stages"][1]["min_improvement"] = Json::parse(min_improvement);
  auto r = ParseStudyJson(j, "/tmp/pb.json");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

// A deterministic stand-in for Trial::Suggest: records the names and returns set values.
struct FakeSuggest {
  explicit FakeSuggest(std::map<std::string, Json> answers) : answers(std::move(answers)) {}
  std::map<std::string, Json> answers;
  std::vector<std::string> asked;
  SuggestFn Fn() {
    return [this](const std::string& name, const Distribution& d) -> Result<Json> {
      asked.push_back(name);
      auto it = answers.find(name);
      if (it == answers.end()) return Status::NotFound("no answer for " + name);
      return it->second;
    };
  }
};

FrozenTrial Complete(int64_t number, double value) {
  FrozenTrial t;
  t.number = number;
  t.state = TrialState::kComplete;
  t.values = {value};
  return t;
}

TEST(PlaybookTest, BaseStageSearchesOnlyTheRetunedParams) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  FakeSuggest f{{{"lr", 0.01}}};
  auto h = pb.TrialHparams(0, Incumbent{}, f.Fn());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_THAT(f.asked, ElementsAre("lr"));
  EXPECT_EQ(*h, (std::map<std::string, Json>{{"lr", 0.01}, {"max_epochs", 5}, {"batch_size", 32}}));
}

TEST(PlaybookTest, LaterStageFixesTheIncumbentAndExpandsPerLayerParams) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  Incumbent inc;
  inc.hparams = {{"lr", 0.003},        {"dense_layers", 3},  {"dense_units_0", 9},
                 {"dense_units_1", 9}, {"dense_units_2", 9}, {"conv_layers", 4}};
  inc.value = 1.0;
  FakeSuggest f{{{"lr", 0.02}, {"dense_layers", 2}, {"dense_units_0", 64}, {"dense_units_1", 32}}};
  auto h = pb.TrialHparams(1, inc, f.Fn());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  // Per-layer params are drawn after the count they depend on, and only for layers that exist.
  EXPECT_THAT(f.asked, ElementsAre("dense_layers", "lr", "dense_units_0", "dense_units_1"));
  EXPECT_EQ(h->at("conv_layers"), 4);        // incumbent, fixed
  EXPECT_EQ(h->at("lr"), 0.02);              // re-tuned
  EXPECT_EQ(h->count("dense_units_2"), 0u);  // the incumbent's third layer is gone
  EXPECT_EQ(h->at("max_epochs"), 5);
}

TEST(PlaybookTest, PerLayerCountFromTheIncumbentAndStageFixedWins) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  Incumbent inc;
  inc.hparams = {{"dense_layers", 2}, {"batch_norm", false}};
  FakeSuggest f{{{"lr", 0.02}, {"dropout_0", 0.1}, {"dropout_1", 0.2}}};
  auto h = pb.TrialHparams(2, inc, f.Fn());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_THAT(f.asked, ElementsAre("lr", "dropout_0", "dropout_1"));
  EXPECT_EQ(h->at("batch_norm"), true);
  // Without a count anywhere, the error says what to do.
  FakeSuggest g{{{"lr", 0.02}}};
  auto e = pb.TrialHparams(2, Incumbent{}, g.Fn());
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("dropout is per_layer_of dense_layers"));
}

TEST(PlaybookTest, FirstStageAlwaysBecomesTheIncumbent) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  FrozenTrial best = Complete(1, 1.5);
  Incumbent next;
  StageDecision d = pb.Decide(0, Incumbent{}, &best, {{"lr", 0.01}, {"max_epochs", 5}}, &next);
  EXPECT_TRUE(d.accepted);
  EXPECT_EQ(next.value, 1.5);
  EXPECT_EQ(next.hparams,
            (std::map<std::string, Json>{{"lr", 0.01}}));  // fixed ones stay in `fixed`
  EXPECT_EQ(next.stage, "base");
  EXPECT_EQ(next.trial_number, 1);
}

TEST(PlaybookTest, ReplacedOnlyWhenImprovingByTheAbsoluteMinimum) {
  StudyFile s = MakeStudy("0.05");
  Playbook pb(&s);
  Incumbent inc;
  inc.hparams = {{"lr", 0.01}, {"dense_layers", 3}, {"dense_units_2", 7}};
  inc.value = 1.00;
  std::map<std::string, Json> h = {
      {"lr", 0.03}, {"dense_layers", 1}, {"dense_units_0", 50}, {"max_epochs", 5}};
  // 0.96 improves by 0.04 < 0.05: rejected, incumbent unchanged.
  FrozenTrial close = Complete(3, 0.96);
  Incumbent next;
  StageDecision d = pb.Decide(1, inc, &close, h, &next);
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(next.hparams, inc.hparams);
  EXPECT_EQ(next.value, 1.0);
  EXPECT_THAT(d.summary, HasSubstr("rejected"));
  // 0.94 improves by 0.06: accepted; the stage's params and the re-tuned lr replace the old.
  FrozenTrial better = Complete(4, 0.94);
  d = pb.Decide(1, inc, &better, h, &next);
  EXPECT_TRUE(d.accepted);
  EXPECT_EQ(next.hparams, (std::map<std::string, Json>{
                              {"lr", 0.03}, {"dense_layers", 1}, {"dense_units_0", 50}}));
  EXPECT_EQ(next.value, 0.94);
  EXPECT_EQ(d.changes.count("max_epochs"), 0u);
  EXPECT_DOUBLE_EQ(*d.incumbent_value, 1.0);
}

TEST(PlaybookTest, RelativeMinimumAndMaximisation) {
  StudyFile s = MakeStudy("\"10%\"");
  Playbook pb(&s);
  Incumbent inc;
  inc.value = 2.0;
  Incumbent next;
  FrozenTrial t = Complete(0, 1.85);  // needs 0.2
  EXPECT_FALSE(pb.Decide(1, inc, &t, {}, &next).accepted);
  t.values = {1.79};
  StageDecision d = pb.Decide(1, inc, &t, {}, &next);
  EXPECT_TRUE(d.accepted);
  EXPECT_DOUBLE_EQ(d.required_improvement, 0.2);
  s.direction = StudyDirection::kMaximize;
  t.values = {2.1};
  EXPECT_FALSE(pb.Decide(1, inc, &t, {}, &next).accepted);
  t.values = {2.3};
  EXPECT_TRUE(pb.Decide(1, inc, &t, {}, &next).accepted);
}

TEST(PlaybookTest, StageFixedValuesAreKeptOnAcceptance) {
  StudyFile s = MakeStudy("0");
  Playbook pb(&s);
  Incumbent inc;
  inc.hparams = {{"dense_layers", 2}, {"lr", 0.1}};
  inc.value = 1.0;
  FrozenTrial t = Complete(2, 0.5);
  Incumbent next;
  StageDecision d = pb.Decide(2, inc, &t,
                              {{"dense_layers", 2},
                               {"dropout_0", 0.1},
                               {"dropout_1", 0.3},
                               {"lr", 0.05},
                               {"batch_norm", true}},
                              &next);
  ASSERT_TRUE(d.accepted);
  EXPECT_EQ(next.hparams.at("batch_norm"), true);
  EXPECT_EQ(next.hparams.at("dropout_1"), 0.3);
  EXPECT_EQ(next.hparams.at("lr"), 0.05);
}

TEST(PlaybookTest, NoCompleteTrialKeepsTheIncumbent) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  Incumbent inc;
  inc.value = 1.0;
  inc.hparams = {{"lr", 0.1}};
  Incumbent next;
  StageDecision d = pb.Decide(1, inc, nullptr, {}, &next);
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(next.hparams, inc.hparams);
  EXPECT_THAT(d.summary, HasSubstr("no trial completed"));
}

TEST(PlaybookTest, DecisionsAndIncumbentsRoundTripThroughJson) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  Incumbent inc;
  inc.value = 1.0;
  FrozenTrial t = Complete(4, 0.5);
  Incumbent next;
  StageDecision d =
      pb.Decide(1, inc, &t, {{"dense_layers", 1}, {"dense_units_0", 8}, {"lr", 0.01}}, &next);
  auto d2 = StageDecision::FromJson(d.ToJson());
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(d2->ToJson(), d.ToJson());
  auto n2 = Incumbent::FromJson(next.ToJson());
  ASSERT_TRUE(n2.ok());
  EXPECT_EQ(n2->ToJson(), next.ToJson());
  EXPECT_FALSE(Incumbent::FromJson(Json(3)).ok());
}

}  // namespace
}  // namespace mgr
