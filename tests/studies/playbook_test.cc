#include "studies/playbook.h"

#include <cmath>

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

// A proposal equal to none of the measured configurations is kept as it is.
TEST(PlaybookTest, DrawKeepsANewProposal) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  Incumbent inc;
  inc.hparams = {{"lr", 0.003}, {"dense_layers", 1}, {"dense_units_0", 9}};
  FakeSuggest f{{{"lr", 0.02}, {"dense_layers", 2}, {"dense_units_0", 64}, {"dense_units_1", 32}}};
  const std::map<std::string, Json> incumbent_config = {{"lr", 0.003},
                                                        {"dense_layers", 1},
                                                        {"dense_units_0", 9},
                                                        {"max_epochs", 5},
                                                        {"batch_size", 32}};
  auto d = pb.DrawTrialHparams(1, inc, f.Fn(), {incumbent_config}, 0);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->redraws, 0);
  EXPECT_EQ(d->duplicate_of, -1);
  EXPECT_EQ(d->hparams, (std::map<std::string, Json>{{"lr", 0.02},
                                                     {"dense_layers", 2},
                                                     {"dense_units_0", 64},
                                                     {"dense_units_1", 32},
                                                     {"max_epochs", 5},
                                                     {"batch_size", 32}}));
  // The searched names with the distributions the trial records them under.
  ASSERT_EQ(d->searched.size(), 4u);
  EXPECT_EQ(d->searched.at("dense_units_1"), Distribution(IntDistribution{4, 256, false, 1}));
  EXPECT_EQ(d->searched.at("lr"), Distribution(FloatDistribution{1e-5, 1e-1, true, std::nullopt}));
}

// The sampler proposes the incumbent's exact configuration (what a later stage's first
// trial did when every stage's sampler had the same seed): it is drawn again, uniformly,
// the same way for the same trial number.
TEST(PlaybookTest, DrawRedrawsAProposalAlreadyMeasured) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  Incumbent inc;
  inc.hparams = {{"lr", 0.003}, {"dense_layers", 1}, {"dense_units_0", 9}};
  const std::map<std::string, Json> incumbent_config = {{"lr", 0.003},
                                                        {"dense_layers", 1},
                                                        {"dense_units_0", 9},
                                                        {"max_epochs", 5},
                                                        {"batch_size", 32}};
  const std::vector<std::map<std::string, Json>> measured = {{{"lr", 0.5}}, incumbent_config};
  FakeSuggest f{{{"lr", 0.003}, {"dense_layers", 1}, {"dense_units_0", 9}}};
  auto d = pb.DrawTrialHparams(1, inc, f.Fn(), measured, 7);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_THAT(f.asked, ElementsAre("dense_layers", "lr", "dense_units_0"));  // proposed once
  EXPECT_GE(d->redraws, 1);
  EXPECT_EQ(d->duplicate_of, -1);
  EXPECT_NE(d->hparams, incumbent_config);
  // Every searched value lies in its distribution; the rest is the incumbent's.
  const int64_t layers = d->hparams.at("dense_layers").get<int64_t>();
  EXPECT_GE(layers, 1);
  EXPECT_LE(layers, 3);
  const double lr = d->hparams.at("lr").get<double>();
  EXPECT_GE(lr, 1e-5);
  EXPECT_LE(lr, 1e-1);
  for (int64_t i = 0; i < 4; ++i) {
    const std::string name = "dense_units_" + std::to_string(i);
    ASSERT_EQ(d->hparams.count(name), i < layers ? 1u : 0u) << name;
    ASSERT_EQ(d->searched.count(name), i < layers ? 1u : 0u) << name;
    if (i >= layers) continue;
    EXPECT_GE(d->hparams.at(name).get<int64_t>(), 4);
    EXPECT_LE(d->hparams.at(name).get<int64_t>(), 256);
  }
  EXPECT_EQ(d->hparams.at("max_epochs"), 5);
  EXPECT_EQ(d->searched.size(), static_cast<size_t>(2 + layers));
  // Deterministic per trial number (a resumed study draws the same), different across.
  FakeSuggest again{f.answers};
  auto same = pb.DrawTrialHparams(1, inc, again.Fn(), measured, 7);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->hparams, d->hparams);
  FakeSuggest other{f.answers};
  auto next = pb.DrawTrialHparams(1, inc, other.Fn(), measured, 8);
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next->hparams.at("lr"), d->hparams.at("lr"));
}

// Equality is exact: a float one ulp away is another configuration.
TEST(PlaybookTest, DrawComparesFloatsExactly) {
  StudyFile s = MakeStudy();
  Playbook pb(&s);
  FakeSuggest f{{{"lr", std::nextafter(0.01, 1.0)}}};
  auto d = pb.DrawTrialHparams(0, Incumbent{}, f.Fn(),
                               {{{"lr", 0.01}, {"max_epochs", 5}, {"batch_size", 32}}}, 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->redraws, 0);
  EXPECT_EQ(d->duplicate_of, -1);
  // The same value is a duplicate; with no redraws allowed (an enqueued trial) it stays.
  FakeSuggest g{{{"lr", 0.01}}};
  d = pb.DrawTrialHparams(0, Incumbent{}, g.Fn(),
                          {{{"lr", 0.5}}, {{"lr", 0.01}, {"max_epochs", 5}, {"batch_size", 32}}}, 0,
                          /*max_redraws=*/0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->redraws, 0);
  EXPECT_EQ(d->duplicate_of, 1);
  EXPECT_EQ(d->hparams.at("lr"), 0.01);
}

// A stage whose whole space is one configuration, already measured: after the allowed
// redraws it settles for it and says which measured trial it equals.
TEST(PlaybookTest, DrawSettlesForAMeasuredConfigurationWhenThereIsNoOther) {
  auto parsed = ParseStudyJson(Json::parse(R"({
    "name": "one",
    "dataset": {"metadata": "t.csv", "audio_dir": "a", "cache_dir": "c"},
    "model": {"family": "nnet2"},
    "fixed": {"max_epochs": 5, "opt": "adam"},
    "retune": {"lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": true}},
    "stages": [
      {"name": "base", "trials": 2},
      {"name": "opt", "trials": 2, "retune": {},
       "params": {"opt": {"type": "categorical", "choices": ["adam"]}}}
    ]})"),
                               "/tmp/one.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Playbook pb(&*parsed);
  Incumbent inc;
  inc.hparams = {{"lr", 0.01}};
  inc.value = 1.0;
  int proposals = 0;
  SuggestFn propose = [&](const std::string& name, const Distribution& d) -> Result<Json> {
    ++proposals;
    return Json("adam");
  };
  auto d = pb.DrawTrialHparams(1, inc, propose,
                               {{{"lr", 0.01}, {"max_epochs", 5}, {"opt", "adam"}}}, 3, 5);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(proposals, 1);
  EXPECT_EQ(d->redraws, 5);
  EXPECT_EQ(d->duplicate_of, 0);
  EXPECT_EQ(d->searched.size(), 1u);
}

// A best trial that copied another's result (reused_from) makes that trial the incumbent:
// the export finds its checkpoint there.
TEST(PlaybookTest, ACopiedBestTrialMakesTheTrialThatTrainedTheIncumbent) {
  StudyFile s = MakeStudy("0.05");
  Playbook pb(&s);
  EXPECT_EQ(pb.ReuseRef(1, 7), "pb/dense#7");
  Incumbent inc;
  inc.value = 1.0;
  FrozenTrial t = Complete(4, 0.5);
  t.user_attrs["reused_from"] = "pb/base#3";
  Incumbent next;
  StageDecision d = pb.Decide(1, inc, &t, {{"lr", 0.01}, {"dense_layers", 1}}, &next);
  ASSERT_TRUE(d.accepted);
  EXPECT_EQ(d.best_trial_number, 4);
  EXPECT_EQ(next.stage, "base");
  EXPECT_EQ(next.trial_number, 3);
  EXPECT_EQ(next.value, 0.5);
  // A reference that names no stage of this study is ignored.
  for (const char* bad : {"pb/base#x", "other/base#3", "pb/base#", "pb/base#-1", "pb/base3"}) {
    t.user_attrs["reused_from"] = bad;
    pb.Decide(1, inc, &t, {{"lr", 0.01}}, &next);
    EXPECT_EQ(next.stage, "dense") << bad;
    EXPECT_EQ(next.trial_number, 4) << bad;
  }
}

}  // namespace
}  // namespace mgr
