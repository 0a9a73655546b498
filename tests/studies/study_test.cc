// The study API against Optuna's semantics (study.py, _tell.py, trial/_trial.py,
// _callbacks.py RetryFailedTrialCallback), on the in-memory backend. Expected values are
// worked out by hand from those rules, never copied from our own output.
#include "studies/study.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "samplers/pruner.h"
#include "samplers/pruners.h"
#include "samplers/sampler.h"
#include "storage/in_memory_storage.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// A sampler whose answers are predictable: SampleIndependent returns `independent_value`
// clamped into the distribution (index 0 for categoricals), and relative sampling offers
// `relative` on `relative_space`. Records what it was shown.
class FakeSampler : public Sampler {
 public:
  std::string Name() const override { return "FakeSampler"; }
  SearchSpace InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) override {
    ++infer_calls;
    return relative_space;
  }
  std::map<std::string, double> SampleRelative(const StudyView& study, const FrozenTrial& trial,
                                               const SearchSpace& space) override {
    seen_relative_space = space;
    seen_system_attrs.clear();
    for (const FrozenTrial& t : study.trials) seen_system_attrs.push_back(t.system_attrs);
    for (const auto& [key, value] : record) study.set_trial_system_attr(trial.trial_id, key, value);
    return relative;
  }
  double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                           const std::string& name, const Distribution& dist) override {
    ++independent_calls;
    independent_names.push_back(name);
    seen_trials = study.trials.size();
    seen_number = trial.number;
    if (std::holds_alternative<CategoricalDistribution>(dist)) return 0.0;
    if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
      return std::min(std::max(independent_value, f->low), f->high);
    }
    const auto& i = std::get<IntDistribution>(dist);
    return std::min(std::max(independent_value, static_cast<double>(i.low)),
                    static_cast<double>(i.high));
  }

  double independent_value = 0.5;
  SearchSpace relative_space;
  std::map<std::string, double> relative;
  SearchSpace seen_relative_space;
  std::map<std::string, Json> record;  // recorded on the trial by SampleRelative
  std::vector<std::map<std::string, Json>> seen_system_attrs;  // by SampleRelative, per trial
  int infer_calls = 0;
  int independent_calls = 0;
  std::vector<std::string> independent_names;
  size_t seen_trials = 0;
  int64_t seen_number = -1;
};

// Prunes when the trial's last intermediate value exceeds `threshold`; records its view.
class RecordingPruner : public Pruner {
 public:
  std::string Name() const override { return "RecordingPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override {
    ++calls;
    seen_directions = study.directions;
    seen_states.clear();
    for (const FrozenTrial& t : study.trials) seen_states.push_back(t.state);
    seen_trial_number = trial.number;
    seen_intermediate = trial.intermediate_values;
    std::optional<int64_t> last = trial.LastStep();
    return last && trial.intermediate_values.at(*last) > threshold;
  }
  double threshold = 10.0;
  mutable int calls = 0;
  mutable std::vector<StudyDirection> seen_directions;
  mutable std::vector<TrialState> seen_states;
  mutable int64_t seen_trial_number = -1;
  mutable std::map<int64_t, double> seen_intermediate;
};

class StudyTest : public ::testing::Test {
 protected:
  void SetUp() override { storage_ = std::make_shared<InMemoryStorage>(); }

  std::unique_ptr<Study> Make(std::vector<StudyDirection> dirs = {StudyDirection::kMinimize},
                              const std::string& name = "s") {
    auto sampler = std::make_unique<FakeSampler>();
    auto pruner = std::make_unique<RecordingPruner>();
    sampler_ = sampler.get();
    pruner_ = pruner.get();
    auto study =
        Study::CreateOrLoad(storage_, name, std::move(dirs), std::move(sampler), std::move(pruner));
    EXPECT_TRUE(study.ok()) << study.status().ToString();
    return std::move(study).value();
  }

  // Asks a trial and completes it with `values`.
  int64_t AskTell(Study& study, std::vector<double> values) {
    Result<Trial> t = study.Ask();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(study.Tell(t->id(), TrialState::kComplete, values).ok());
    return t->number();
  }

  std::shared_ptr<InMemoryStorage> storage_;
  FakeSampler* sampler_ = nullptr;
  RecordingPruner* pruner_ = nullptr;
};

std::vector<int64_t> Numbers(const std::vector<FrozenTrial>& trials) {
  std::vector<int64_t> out;
  for (const auto& t : trials) out.push_back(t.number);
  return out;
}

TEST_F(StudyTest, CreateOrLoadReusesTheStudyAndChecksDirections) {
  auto a = Make({StudyDirection::kMaximize}, "cnn");
  auto b =
      Study::CreateOrLoad(storage_, "cnn", {StudyDirection::kMaximize},
                          std::make_unique<FakeSampler>(), std::make_unique<RecordingPruner>());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->id(), a->id());
  auto c =
      Study::CreateOrLoad(storage_, "cnn", {StudyDirection::kMinimize},
                          std::make_unique<FakeSampler>(), std::make_unique<RecordingPruner>());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr("MAXIMIZE"));

  auto missing = Study::Load(storage_, "nope", std::make_unique<FakeSampler>(),
                             std::make_unique<RecordingPruner>());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("nope"));

  auto loaded = Study::Load(storage_, "cnn", std::make_unique<FakeSampler>(),
                            std::make_unique<RecordingPruner>());
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT((*loaded)->directions(), ElementsAre(StudyDirection::kMaximize));
}

TEST_F(StudyTest, EmptyDirectionsMeanMinimize) {
  auto s = Make({});
  EXPECT_THAT(s->directions(), ElementsAre(StudyDirection::kMinimize));
}

TEST_F(StudyTest, AskNumbersRunningTrialsFromZero) {
  auto s = Make();
  for (int i = 0; i < 3; ++i) {
    Result<Trial> t = s->Ask();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->number(), i);
    auto frozen = s->GetTrial(t->id());
    ASSERT_TRUE(frozen.ok());
    EXPECT_EQ(frozen->state, TrialState::kRunning);
    EXPECT_TRUE(frozen->datetime_start.has_value());
  }
  EXPECT_EQ(sampler_->infer_calls, 3);
}

TEST_F(StudyTest, TellCompleteStoresValuesAndRejectsBadValues) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t.ok());
  // Wrong count and NaN are rejected and change nothing.
  EXPECT_EQ(s->Tell(t->id(), TrialState::kComplete, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Tell(t->id(), TrialState::kComplete, {1.0, 2.0}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Tell(t->id(), TrialState::kComplete, {std::nan("")}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Tell(t->id(), TrialState::kRunning).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->GetTrial(t->id())->state, TrialState::kRunning);

  ASSERT_TRUE(s->Tell(t->id(), TrialState::kComplete, {0.25}).ok());
  FrozenTrial f = *s->GetTrial(t->id());
  EXPECT_EQ(f.state, TrialState::kComplete);
  EXPECT_THAT(f.values, ElementsAre(0.25));
  EXPECT_TRUE(f.datetime_complete.has_value());
  // A finished trial cannot be told again.
  Status again = s->Tell(t->id(), TrialState::kFail);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), ::testing::HasSubstr("COMPLETE"));
  EXPECT_THAT(s->GetTrial(t->id())->values, ElementsAre(0.25));
}

TEST_F(StudyTest, InfiniteValuesAreAccepted) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(
      s->Tell(t->id(), TrialState::kComplete, {std::numeric_limits<double>::infinity()}).ok());
  EXPECT_TRUE(std::isinf(s->GetTrial(t->id())->values.at(0)));
}

TEST_F(StudyTest, PrunedTakesTheLastIntermediateValue) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->Report(3.0, 0).ok());
  ASSERT_TRUE(t->Report(9.0, 2).ok());
  ASSERT_TRUE(t->Report(1.5, 5).ok());
  // Values cannot be given with PRUNED.
  EXPECT_EQ(s->Tell(t->id(), TrialState::kPruned, {1.0}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(s->Tell(t->id(), TrialState::kPruned).ok());
  FrozenTrial f = *s->GetTrial(t->id());
  EXPECT_EQ(f.state, TrialState::kPruned);
  EXPECT_THAT(f.values, ElementsAre(1.5));  // step 5 is the last step, not the last call
}

TEST_F(StudyTest, PrunedWithoutOrWithNanLastValueHasNoValue) {
  auto s = Make();
  Result<Trial> a = s->Ask();
  ASSERT_TRUE(s->Tell(a->id(), TrialState::kPruned).ok());
  EXPECT_TRUE(s->GetTrial(a->id())->values.empty());

  Result<Trial> b = s->Ask();
  ASSERT_TRUE(b->Report(2.0, 0).ok());
  ASSERT_TRUE(b->Report(std::nan(""), 1).ok());
  ASSERT_TRUE(s->Tell(b->id(), TrialState::kPruned).ok());
  FrozenTrial f = *s->GetTrial(b->id());
  EXPECT_EQ(f.state, TrialState::kPruned);
  EXPECT_TRUE(f.values.empty());
}

TEST_F(StudyTest, FailTakesNoValues) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->Report(2.0, 0).ok());
  EXPECT_EQ(s->Tell(t->id(), TrialState::kFail, {1.0}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(s->Tell(t->id(), TrialState::kFail).ok());
  FrozenTrial f = *s->GetTrial(t->id());
  EXPECT_EQ(f.state, TrialState::kFail);
  EXPECT_TRUE(f.values.empty());
  EXPECT_TRUE(f.datetime_complete.has_value());
}

TEST_F(StudyTest, ReportKeepsTheFirstValueOfAStepAndRejectsNegativeSteps) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->Report(1.0, 3).ok());
  ASSERT_TRUE(t->Report(7.0, 3).ok());           // Optuna warns and ignores
  ASSERT_TRUE(s->Report(t->id(), 3, 8.0).ok());  // same through the study
  EXPECT_EQ(s->Report(t->id(), -1, 1.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->GetTrial(t->id())->intermediate_values, (std::map<int64_t, double>{{3, 1.0}}));
  ASSERT_TRUE(s->Tell(t->id(), TrialState::kComplete, {1.0}).ok());
  EXPECT_EQ(s->Report(t->id(), 4, 1.0).code(), StatusCode::kFailedPrecondition);
}

TEST_F(StudyTest, EnqueuedTrialIsAskedFirstWithItsFixedParams) {
  auto s = Make();
  Result<Trial> first = s->Ask();  // number 0, RUNNING
  ASSERT_TRUE(s->Enqueue({{"x", 0.25}, {"opt", "sgd"}, {"n", 3}}, {{"origin", "manual"}}).ok());
  FrozenTrial waiting = *s->GetTrialByNumber(1);
  EXPECT_EQ(waiting.state, TrialState::kWaiting);
  EXPECT_EQ(waiting.system_attrs.at("fixed_params"),
            Json::parse(R"({"x": 0.25, "opt": "sgd", "n": 3})"));
  EXPECT_EQ(waiting.user_attrs.at("origin"), "manual");

  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->number(), 1);  // the WAITING trial, not a new one
  EXPECT_EQ(s->GetTrial(t->id())->state, TrialState::kRunning);
  EXPECT_EQ(*t->SuggestFloat("x", 0.0, 1.0), 0.25);
  EXPECT_EQ(*t->SuggestCategorical("opt", {"adam", "sgd"}), "sgd");
  EXPECT_EQ(*t->SuggestInt("n", 1, 8), 3);
  EXPECT_EQ(sampler_->independent_calls, 0);  // fixed params never reach the sampler
  // A parameter the queue did not fix is sampled.
  EXPECT_EQ(*t->SuggestFloat("y", 0.0, 1.0), 0.5);
  EXPECT_THAT(sampler_->independent_names, ElementsAre("y"));

  FrozenTrial stored = *s->GetTrial(t->id());
  EXPECT_EQ(stored.params.at("opt"), 1.0);  // the index of "sgd" in the choices
  EXPECT_EQ(stored.params.at("x"), 0.25);
  EXPECT_EQ(stored.params.at("n"), 3.0);
  EXPECT_EQ(t->params().at("opt"), "sgd");

  Result<Trial> next = s->Ask();
  EXPECT_EQ(next->number(), 2);  // the queue is empty again
}

TEST_F(StudyTest, WaitingTrialsAreClaimedOldestFirst) {
  auto s = Make();
  ASSERT_TRUE(s->Enqueue({{"x", 0.1}}).ok());
  ASSERT_TRUE(s->Enqueue({{"x", 0.2}}).ok());
  Result<Trial> a = s->Ask();
  Result<Trial> b = s->Ask();
  Result<Trial> c = s->Ask();
  EXPECT_EQ(a->number(), 0);
  EXPECT_EQ(b->number(), 1);
  EXPECT_EQ(c->number(), 2);
  EXPECT_EQ(*a->SuggestFloat("x", 0, 1), 0.1);
  EXPECT_EQ(*b->SuggestFloat("x", 0, 1), 0.2);
  EXPECT_EQ(*c->SuggestFloat("x", 0, 1), 0.5);  // sampled
}

TEST_F(StudyTest, EnqueuedValueOutsideTheDistributionIsAClearError) {
  auto s = Make();
  ASSERT_TRUE(s->Enqueue({{"x", 5.0}, {"opt", "rmsprop"}}).ok());
  Result<Trial> t = s->Ask();
  Result<double> x = t->SuggestFloat("x", 0.0, 1.0);
  ASSERT_FALSE(x.ok());
  EXPECT_THAT(x.status().message(), ::testing::HasSubstr("'x'"));
  Result<Json> opt = t->SuggestCategorical("opt", {"adam", "sgd"});
  ASSERT_FALSE(opt.ok());
  EXPECT_THAT(opt.status().message(), ::testing::HasSubstr("'opt'"));
  EXPECT_TRUE(s->GetTrial(t->id())->params.empty());
}

TEST_F(StudyTest, SuggestingAgainReturnsTheSameValue) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  sampler_->independent_value = 0.3;
  EXPECT_EQ(*t->SuggestFloat("lr", 0.0, 1.0), 0.3);
  sampler_->independent_value = 0.9;
  EXPECT_EQ(*t->SuggestFloat("lr", 0.0, 1.0), 0.3);
  // A compatible distribution with another range still returns the first value (Optuna).
  EXPECT_EQ(*t->SuggestFloat("lr", 0.0, 2.0), 0.3);
  EXPECT_EQ(sampler_->independent_calls, 1);
  EXPECT_EQ(*t->SuggestInt("layers", 1, 4), 1);  // 0.9 clamped into [1, 4]
  EXPECT_EQ(t->params().size(), 2u);
}

// Propose draws as Suggest does but records nothing; SetParam records a chosen value.
TEST_F(StudyTest, ProposeRecordsNothingAndSetParamRecordsTheChosenValue) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  const Distribution lr = FloatDistribution{0.0, 1.0, false, std::nullopt};
  sampler_->independent_value = 0.3;
  EXPECT_EQ(*t->Propose("lr", lr), 0.3);
  EXPECT_EQ(sampler_->independent_calls, 1);
  EXPECT_TRUE(t->params().empty());
  EXPECT_TRUE(s->GetTrial(t->id())->params.empty());

  ASSERT_TRUE(t->SetParam("lr", lr, 0.7).ok());
  EXPECT_EQ(s->GetTrial(t->id())->params.at("lr"), 0.7);
  EXPECT_EQ(t->params().at("lr"), 0.7);
  // Recorded now: Suggest and Propose return it without asking the sampler.
  EXPECT_EQ(*t->Suggest("lr", lr), 0.7);
  EXPECT_EQ(*t->Propose("lr", lr), 0.7);
  EXPECT_EQ(sampler_->independent_calls, 1);
  // The same value again is fine; another is refused, as is one outside the distribution.
  EXPECT_TRUE(t->SetParam("lr", lr, 0.7).ok());
  Status other = t->SetParam("lr", lr, 0.2);
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.message(), ::testing::HasSubstr("'lr'"));
  Status outside = t->SetParam("layers", IntDistribution{1, 4, false, 1}, 9);
  EXPECT_EQ(outside.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(outside.message(), ::testing::HasSubstr("'layers'"));
  EXPECT_EQ(s->GetTrial(t->id())->params.count("layers"), 0u);
  // Categoricals are recorded by index.
  ASSERT_TRUE(t->SetParam("opt", CategoricalDistribution{{"adam", "sgd"}}, "sgd").ok());
  EXPECT_EQ(s->GetTrial(t->id())->params.at("opt"), 1.0);
  EXPECT_EQ(s->GetTrial(t->id())->Param("opt"), "sgd");
}

// An enqueued trial's Propose gives its fixed value, as Suggest would.
TEST_F(StudyTest, ProposeGivesAnEnqueuedTrialsFixedValue) {
  auto s = Make();
  ASSERT_TRUE(s->Enqueue({{"x", 0.25}}).ok());
  Result<Trial> t = s->Ask();
  EXPECT_EQ(*t->Propose("x", FloatDistribution{0.0, 1.0, false, std::nullopt}), 0.25);
  EXPECT_EQ(sampler_->independent_calls, 0);
  EXPECT_TRUE(s->GetTrial(t->id())->params.empty());
}

TEST_F(StudyTest, IncompatibleDistributionsAreRejected) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->SuggestFloat("x", 0.0, 1.0).ok());
  ASSERT_TRUE(t->SuggestCategorical("opt", {"adam", "sgd"}).ok());
  Result<int64_t> as_int = t->SuggestInt("x", 0, 1);
  ASSERT_FALSE(as_int.ok());
  EXPECT_EQ(as_int.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(as_int.status().message(), ::testing::HasSubstr("'x'"));
  Result<Json> other_choices = t->SuggestCategorical("opt", {"adam", "rmsprop"});
  EXPECT_EQ(other_choices.status().code(), StatusCode::kInvalidArgument);
  // Invalid distributions are rejected before anything is stored.
  EXPECT_FALSE(t->SuggestFloat("bad", 1.0, 0.0).ok());
  EXPECT_EQ(s->GetTrial(t->id())->params.count("bad"), 0u);

  // Across trials, the storage keeps one kind per parameter name (Optuna's RDB check).
  ASSERT_TRUE(s->Tell(t->id(), TrialState::kComplete, {1.0}).ok());
  Result<Trial> u = s->Ask();
  EXPECT_FALSE(u->SuggestInt("x", 0, 3).ok());
}

TEST_F(StudyTest, SingleValueDistributionsSkipTheSampler) {
  auto s = Make();
  Result<Trial> t = s->Ask();
  EXPECT_EQ(*t->SuggestInt("k", 7, 7), 7);
  EXPECT_EQ(*t->SuggestFloat("f", 2.5, 2.5), 2.5);
  EXPECT_EQ(*t->SuggestCategorical("c", {"only"}), "only");
  EXPECT_EQ(sampler_->independent_calls, 0);
}

TEST_F(StudyTest, RelativeSamplesAreUsedForTheirSearchSpace) {
  auto s = Make();
  sampler_->relative_space = {{"r", FloatDistribution{0.0, 1.0, false, std::nullopt}}};
  sampler_->relative = {{"r", 0.75}};
  Result<Trial> t = s->Ask();
  EXPECT_EQ(sampler_->seen_relative_space.count("r"), 1u);
  EXPECT_EQ(*t->SuggestFloat("r", 0.0, 1.0), 0.75);
  EXPECT_EQ(*t->SuggestFloat("q", 0.0, 1.0), 0.5);  // not in the relative space
  EXPECT_THAT(sampler_->independent_names, ElementsAre("q"));
  // The relative value is only used if the distribution contains it.
  Result<Trial> u = s->Ask();
  EXPECT_EQ(*u->SuggestFloat("r", 0.0, 0.5), 0.5);
}

// GpSampler records its fit on the trial it samples, for the next trial's warm start: the
// record goes to the store, where a second Study object (another process) sees it.
TEST_F(StudyTest, WhatTheSamplerRecordsIsStoredOnTheAskedTrial) {
  auto s = Make();
  sampler_->relative_space = {{"r", FloatDistribution{0.0, 1.0, false, std::nullopt}}};
  sampler_->record = {{"fake:fit", Json({1.5, 2.0})}};
  Result<Trial> a = s->Ask();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Result<FrozenTrial> stored = storage_->GetTrial(a->id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->system_attrs.at("fake:fit"), Json({1.5, 2.0}));

  auto other = Make();
  sampler_->relative_space = {{"r", FloatDistribution{0.0, 1.0, false, std::nullopt}}};
  ASSERT_TRUE(other->Ask().ok());
  ASSERT_EQ(sampler_->seen_system_attrs.size(), 2u);
  EXPECT_EQ(sampler_->seen_system_attrs[0].at("fake:fit"), Json({1.5, 2.0}));
}

TEST_F(StudyTest, SamplerSeesTheStudyWithTheCurrentTrial) {
  auto s = Make();
  AskTell(*s, {1.0});
  AskTell(*s, {2.0});
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->SuggestFloat("x", 0, 1).ok());
  EXPECT_EQ(sampler_->seen_trials, 3u);
  EXPECT_EQ(sampler_->seen_number, 2);
}

TEST_F(StudyTest, ShouldPruneAsksThePrunerWithTheWholeStudy) {
  auto s = Make({StudyDirection::kMaximize});
  AskTell(*s, {1.0});
  Result<Trial> pruned = s->Ask();
  ASSERT_TRUE(s->Tell(pruned->id(), TrialState::kPruned).ok());
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->Report(4.0, 0).ok());
  Result<bool> p = t->ShouldPrune();
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  EXPECT_EQ(pruner_->calls, 1);
  EXPECT_THAT(pruner_->seen_directions, ElementsAre(StudyDirection::kMaximize));
  EXPECT_THAT(pruner_->seen_states,
              ElementsAre(TrialState::kComplete, TrialState::kPruned, TrialState::kRunning));
  EXPECT_EQ(pruner_->seen_trial_number, 2);
  EXPECT_EQ(pruner_->seen_intermediate, (std::map<int64_t, double>{{0, 4.0}}));

  ASSERT_TRUE(s->Report(t->id(), 1, 11.0).ok());  // the orchestrator's path, by id
  p = s->ShouldPrune(t->id());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(*p);
  EXPECT_EQ(pruner_->seen_intermediate, (std::map<int64_t, double>{{0, 4.0}, {1, 11.0}}));
}

TEST_F(StudyTest, PrunerSeesWhatAnotherProcessDidSinceTheLastCall) {
  // Study caches finished trials; trials another process (here a second Study object on the
  // same store) creates, finishes or reports to must still reach the pruner.
  auto mine = Make();
  RecordingPruner* my_pruner = pruner_;
  auto theirs = Make();
  Result<Trial> a = mine->Ask();
  Result<Trial> b = theirs->Ask();
  ASSERT_TRUE(mine->Report(a->id(), 0, 1.0).ok());
  ASSERT_TRUE(theirs->Report(b->id(), 0, 2.0).ok());
  ASSERT_TRUE(mine->ShouldPrune(a->id()).ok());
  EXPECT_THAT(my_pruner->seen_states, ElementsAre(TrialState::kRunning, TrialState::kRunning));

  ASSERT_TRUE(theirs->Report(b->id(), 1, 3.0).ok());
  ASSERT_TRUE(theirs->Tell(b->id(), TrialState::kPruned).ok());
  Result<Trial> c = theirs->Ask();
  ASSERT_TRUE(theirs->Tell(c->id(), TrialState::kComplete, {5.0}).ok());
  ASSERT_TRUE(mine->Report(a->id(), 1, 12.0).ok());
  Result<bool> p = mine->ShouldPrune(a->id());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(*p);
  EXPECT_THAT(my_pruner->seen_states,
              ElementsAre(TrialState::kRunning, TrialState::kPruned, TrialState::kComplete));
  EXPECT_EQ(my_pruner->seen_intermediate, (std::map<int64_t, double>{{0, 1.0}, {1, 12.0}}));
  auto all = mine->Trials();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->at(1).intermediate_values, (std::map<int64_t, double>{{0, 2.0}, {1, 3.0}}));
}

// Successive halving's rungs go to the store: a second orchestrator (its own Study and pruner
// on the same store) ranks its trial against the first one's rung. Optuna's rule, reduction
// factor 2: of rung values {1, 2} the best 2 // 2 = 1 is promoted, so 2 is pruned; had the
// rung stayed in the first pruner's memory, 2 would compete alone and be promoted.
TEST_F(StudyTest, SuccessiveHalvingRungsAreStoredForEveryProcess) {
  SuccessiveHalvingPrunerOptions o;
  o.min_resource = 1;
  o.reduction_factor = 2;
  auto open = [&] {
    return std::move(Study::CreateOrLoad(storage_, "asha", {StudyDirection::kMinimize},
                                         std::make_unique<FakeSampler>(),
                                         std::make_unique<SuccessiveHalvingPruner>(o)))
        .value();
  };
  auto first = open();
  auto second = open();
  Result<Trial> a = first->Ask();
  ASSERT_TRUE(a->Report(1.0, 1).ok());
  Result<bool> p = a->ShouldPrune();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(*p);
  Result<FrozenTrial> stored = storage_->GetTrial(a->id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->system_attrs.at("completed_rung_0"), Json(1.0));

  Result<Trial> b = second->Ask();
  ASSERT_TRUE(b->Report(2.0, 1).ok());
  p = b->ShouldPrune();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(*p);
}

TEST_F(StudyTest, MultiObjectiveStudiesDoNotPrune) {
  auto s = Make({StudyDirection::kMinimize, StudyDirection::kMaximize});
  Result<Trial> t = s->Ask();
  EXPECT_EQ(t->ShouldPrune().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t->Report(1.0, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pruner_->calls, 0);
}

TEST_F(StudyTest, BestTrialMinimize) {
  auto s = Make({StudyDirection::kMinimize});
  EXPECT_EQ(s->BestTrial().status().code(), StatusCode::kNotFound);
  AskTell(*s, {3.0});
  AskTell(*s, {-1.0});
  AskTell(*s, {2.0});
  AskTell(*s, {-1.0});  // a tie: the earlier trial stays best
  Result<Trial> pruned = s->Ask();
  ASSERT_TRUE(pruned->Report(-50.0, 0).ok());
  ASSERT_TRUE(s->Tell(pruned->id(), TrialState::kPruned).ok());  // value -50 but not COMPLETE
  Result<FrozenTrial> best = s->BestTrial();
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(best->number, 1);
  EXPECT_EQ(best->value(), -1.0);
}

TEST_F(StudyTest, BestTrialMaximize) {
  auto s = Make({StudyDirection::kMaximize});
  AskTell(*s, {3.0});
  AskTell(*s, {-1.0});
  AskTell(*s, {7.5});
  AskTell(*s, {2.0});
  EXPECT_EQ(s->BestTrial()->number, 2);
}

TEST_F(StudyTest, BestTrialNeedsOneObjective) {
  auto s = Make({StudyDirection::kMinimize, StudyDirection::kMinimize});
  AskTell(*s, {1.0, 2.0});
  EXPECT_EQ(s->BestTrial().status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StudyTest, ParetoFrontTwoObjectives) {
  // Minimise the first value, maximise the second. Hand-worked dominance:
  //   t0 (1, 5)   front
  //   t1 (2, 6)   front (best second value so far)
  //   t2 (2, 4)   dominated by t0 (1 <= 2, 5 >= 4)
  //   t3 (3, 6)   dominated by t1 (2 <= 3, 6 >= 6, not equal)
  //   t4 (1, 5)   equal to t0: equal values do not dominate, so front
  //   t5 (0.5, 1) front (best first value)
  //   t6          FAIL, ignored
  auto s = Make({StudyDirection::kMinimize, StudyDirection::kMaximize});
  AskTell(*s, {1, 5});
  AskTell(*s, {2, 6});
  AskTell(*s, {2, 4});
  AskTell(*s, {3, 6});
  AskTell(*s, {1, 5});
  AskTell(*s, {0.5, 1});
  Result<Trial> failed = s->Ask();
  ASSERT_TRUE(s->Tell(failed->id(), TrialState::kFail).ok());
  Result<std::vector<FrozenTrial>> front = s->BestTrials();
  ASSERT_TRUE(front.ok());
  EXPECT_THAT(Numbers(*front), ElementsAre(0, 1, 4, 5));
}

TEST_F(StudyTest, ParetoFrontThreeObjectives) {
  // All minimised.
  //   t0 (1, 1, 9) front   t1 (2, 2, 9) dominated by t0   t2 (9, 9, 1) front
  //   t3 (1, 2, 8) front (third value beats t0)   t4 (1, 1, 10) dominated by t0
  auto s = Make({StudyDirection::kMinimize, StudyDirection::kMinimize, StudyDirection::kMinimize});
  AskTell(*s, {1, 1, 9});
  AskTell(*s, {2, 2, 9});
  AskTell(*s, {9, 9, 1});
  AskTell(*s, {1, 2, 8});
  AskTell(*s, {1, 1, 10});
  EXPECT_THAT(Numbers(*s->BestTrials()), ElementsAre(0, 2, 3));
}

TEST_F(StudyTest, ParetoFrontOfOneObjectiveIsEveryBestTie) {
  auto s = Make({StudyDirection::kMaximize});
  AskTell(*s, {2});
  AskTell(*s, {5});
  AskTell(*s, {5});
  EXPECT_THAT(Numbers(*s->BestTrials()), ElementsAre(1, 2));
}

TEST_F(StudyTest, TrialsFiltersByState) {
  auto s = Make();
  AskTell(*s, {1});
  Result<Trial> running = s->Ask();
  ASSERT_TRUE(s->Enqueue({{"x", 1}}).ok());
  EXPECT_THAT(Numbers(*s->Trials()), ElementsAre(0, 1, 2));
  EXPECT_THAT(Numbers(*s->Trials({TrialState::kWaiting, TrialState::kComplete})),
              ElementsAre(0, 2));
}

TEST_F(StudyTest, StudyAttributes) {
  auto s = Make();
  ASSERT_TRUE(s->SetUserAttr("dataset", "fma_small").ok());
  ASSERT_TRUE(s->SetSystemAttr("stage", 2).ok());
  EXPECT_EQ(s->UserAttrs()->at("dataset"), "fma_small");
  EXPECT_EQ(s->SystemAttrs()->at("stage"), 2);
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->SetUserAttr("gpu", 1).ok());
  ASSERT_TRUE(t->SetSystemAttr("pid", 42).ok());
  FrozenTrial f = *s->GetTrial(t->id());
  EXPECT_EQ(f.user_attrs.at("gpu"), 1);
  EXPECT_EQ(f.system_attrs.at("pid"), 42);
}

// Makes trial `id` stale: a heartbeat, then a pause longer than a zero grace period.
void HeartbeatAndWait(Study& s, int64_t id) {
  ASSERT_TRUE(s.Heartbeat(id).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

TEST_F(StudyTest, FailStaleTrialsRetriesLikeOptunasCallback) {
  // RetryFailedTrialCallback(max_retry=2): system_attrs = {"failed_trial": number,
  // "retry_history": [], **trial.system_attrs}; history.append(number); no retry once
  // len(history) > max_retry.
  auto s = Make();
  Result<Trial> t0 = s->Ask();
  ASSERT_TRUE(t0->SuggestFloat("lr", 0.0, 1.0).ok());
  ASSERT_TRUE(t0->SuggestCategorical("opt", {"adam", "sgd"}).ok());
  ASSERT_TRUE(t0->SetUserAttr("note", "first").ok());
  ASSERT_TRUE(t0->Report(0.7, 0).ok());
  Result<Trial> healthy = s->Ask();  // no heartbeat: never stale
  HeartbeatAndWait(*s, t0->id());

  auto failed = s->FailStaleTrials(std::chrono::seconds(0), 2);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_THAT(*failed, ElementsAre(t0->id()));
  EXPECT_EQ(s->GetTrial(t0->id())->state, TrialState::kFail);
  EXPECT_EQ(s->GetTrial(healthy->id())->state, TrialState::kRunning);

  FrozenTrial r1 = *s->GetTrialByNumber(2);
  EXPECT_EQ(r1.state, TrialState::kWaiting);
  EXPECT_EQ(r1.params, s->GetTrial(t0->id())->params);
  EXPECT_EQ(r1.distributions, s->GetTrial(t0->id())->distributions);
  EXPECT_EQ(r1.user_attrs.at("note"), "first");
  EXPECT_TRUE(r1.intermediate_values.empty());  // inherit_intermediate_values=False
  EXPECT_EQ(r1.system_attrs.at("failed_trial"), 0);
  EXPECT_EQ(r1.system_attrs.at("retry_history"), Json::parse("[0]"));

  // The retry is asked next and keeps its params without sampling.
  sampler_->independent_calls = 0;
  Result<Trial> t2 = s->Ask();
  EXPECT_EQ(t2->number(), 2);
  EXPECT_EQ(t2->params().at("opt"), t0->params().at("opt"));
  EXPECT_EQ(*t2->SuggestFloat("lr", 0.0, 1.0), t0->params().at("lr").get<double>());
  EXPECT_EQ(sampler_->independent_calls, 0);
  HeartbeatAndWait(*s, t2->id());
  ASSERT_TRUE(s->FailStaleTrials(std::chrono::seconds(0), 2).ok());
  FrozenTrial r2 = *s->GetTrialByNumber(3);
  EXPECT_EQ(r2.system_attrs.at("failed_trial"), 0);  // the chain's first trial
  EXPECT_EQ(r2.system_attrs.at("retry_history"), Json::parse("[0, 2]"));

  // Third failure: history would be [0, 2, 3], longer than max_retry = 2: no retry.
  Result<Trial> t3 = s->Ask();
  EXPECT_EQ(t3->number(), 3);
  HeartbeatAndWait(*s, t3->id());
  auto last = s->FailStaleTrials(std::chrono::seconds(0), 2);
  EXPECT_THAT(*last, ElementsAre(t3->id()));
  EXPECT_TRUE(s->Trials({TrialState::kWaiting})->empty());
  EXPECT_EQ(*s->storage().CountTrials(s->id()), 4);
}

TEST_F(StudyTest, AskCanRecordTheFirstHeartbeat) {
  // A trial asked with record_heartbeat goes stale even if nothing else ever beats for it
  // (its process was killed right after Ask); one asked without stays RUNNING.
  auto s = Make();
  Result<Trial> beating = s->Ask(/*record_heartbeat=*/true);
  Result<Trial> silent = s->Ask();
  ASSERT_TRUE(beating.ok() && silent.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto failed = s->FailStaleTrials(std::chrono::seconds(0), 0);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_THAT(*failed, ElementsAre(beating->id()));
  EXPECT_EQ(s->GetTrial(silent->id())->state, TrialState::kRunning);
}

TEST_F(StudyTest, RetryKeepsFixedParamsAndHonoursTheLimit) {
  auto s = Make();
  ASSERT_TRUE(s->Enqueue({{"x", 0.125}}).ok());
  Result<Trial> t = s->Ask();
  ASSERT_TRUE(t->SuggestFloat("x", 0.0, 1.0).ok());
  ASSERT_TRUE(s->Tell(t->id(), TrialState::kFail).ok());

  EXPECT_EQ(*s->Retry(t->id(), 0), std::nullopt);  // max_retry = 0: never
  Result<std::optional<int64_t>> n = s->Retry(t->id(), 1);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(n->has_value());
  EXPECT_EQ(**n, 1);
  FrozenTrial r = *s->GetTrialByNumber(1);
  EXPECT_EQ(r.system_attrs.at("fixed_params"), Json::parse(R"({"x": 0.125})"));
  EXPECT_EQ(r.system_attrs.at("retry_history"), Json::parse("[0]"));

  Result<Trial> running = s->Ask();
  EXPECT_EQ(s->Retry(running->id(), 3).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StudyTest, TellRejectsWaitingTrials) {
  auto s = Make();
  ASSERT_TRUE(s->Enqueue({}).ok());
  FrozenTrial w = *s->GetTrialByNumber(0);
  Status st = s->Tell(w.trial_id, TrialState::kComplete, {1.0});
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), ::testing::HasSubstr("WAITING"));
}

// --- Seeded samplers across processes (issue #14) ----------------------------------------
// Each Study object below stands for one process: its own SQLite connection and its own
// sampler with the same seed. A trial's draws come from (seed, study, trial number), so a
// process that takes over a study, or runs beside another, never repeats its draws.
class SeededStudyTest : public ::testing::TestWithParam<Json> {
 protected:
  std::string Url(const std::string& file) const { return "sqlite:///" + dir_.path() + "/" + file; }

  std::unique_ptr<Study> Open(const std::string& url) {
    auto storage = OpenStorage(url);
    EXPECT_TRUE(storage.ok()) << storage.status().ToString();
    auto sampler = MakeSampler(GetParam());
    auto pruner = MakePruner(Json{{"type", "nop"}});
    EXPECT_TRUE(sampler.ok() && pruner.ok());
    auto study =
        Study::CreateOrLoad(std::shared_ptr<Storage>(std::move(*storage)), "demo/base",
                            {StudyDirection::kMinimize}, std::move(*sampler), std::move(*pruner));
    EXPECT_TRUE(study.ok()) << study.status().ToString();
    return std::move(study).value();
  }

  // Asks a trial and suggests lr and dropout; the trial stays RUNNING.
  static Trial Ask(Study& study) {
    Result<Trial> t = study.Ask();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(t->SuggestFloat("lr", 1e-5, 1e-1, true).ok());
    EXPECT_TRUE(t->SuggestFloat("dropout", 0.0, 0.5).ok());
    return std::move(t).value();
  }
  static void Tell(Study& study, const Trial& t) {
    const double lr = t.params().at("lr").get<double>();
    const double value = std::pow(std::log10(lr) + 3.0, 2) + t.params().at("dropout").get<double>();
    EXPECT_TRUE(study.Tell(t.id(), TrialState::kComplete, {value}).ok());
  }

  // A process asks and tells `n` trials, then is killed while its next trial runs.
  static void RunThenDie(Study& study, int n) {
    for (int k = 0; k < n; ++k) Tell(study, Ask(study));
    Ask(study);
  }

  static std::vector<double> Lrs(Study& study) {
    Result<std::vector<FrozenTrial>> trials = study.Trials();
    EXPECT_TRUE(trials.ok()) << trials.status().ToString();
    std::vector<double> lrs;
    for (const FrozenTrial& t : *trials) lrs.push_back(t.Param("lr").get<double>());
    return lrs;
  }

  testing_util::TempDir dir_;
};

std::set<double> Distinct(const std::vector<double>& v) { return {v.begin(), v.end()}; }

TEST_P(SeededStudyTest, ARestartedProcessNeitherRepeatsNorChangesTheSequence) {
  // Two SIGKILLs: three processes in turn over one store, each killed mid-trial.
  const std::string url = Url("restart.db");
  for (int process = 0; process < 3; ++process) RunThenDie(*Open(url), 4);
  std::vector<double> lrs = Lrs(*Open(url));
  ASSERT_EQ(lrs.size(), 15u);
  EXPECT_EQ(Distinct(lrs).size(), lrs.size()) << "a restart repeated an earlier trial's lr";

  // The same study run again from scratch with the same seed: the same sequence.
  const std::string again = Url("again.db");
  for (int process = 0; process < 3; ++process) RunThenDie(*Open(again), 4);
  EXPECT_EQ(Lrs(*Open(again)), lrs);
  // And one process that is never killed asks the same values for the same trial numbers
  // (the killed trials' numbers included).
  const std::string one = Url("one.db");
  {
    auto study = Open(one);
    for (int k = 0; k < 15; ++k) {
      Trial t = Ask(*study);
      if (k % 5 != 4) Tell(*study, t);  // trials 4, 9, 14 stay RUNNING as above
    }
  }
  EXPECT_EQ(Lrs(*Open(one)), lrs);
}

TEST_P(SeededStudyTest, TwoProcessesAskingInTurnNeverRepeatEachOther) {
  const std::string url = Url("two.db");
  auto a = Open(url), b = Open(url);
  for (int k = 0; k < 8; ++k) {
    Trial ta = Ask(*a);
    Trial tb = Ask(*b);  // a's trial is RUNNING meanwhile
    Tell(*a, ta);
    Tell(*b, tb);
  }
  std::vector<double> lrs = Lrs(*a);
  ASSERT_EQ(lrs.size(), 16u);
  EXPECT_EQ(Distinct(lrs).size(), lrs.size());
}

INSTANTIATE_TEST_SUITE_P(
    Samplers, SeededStudyTest,
    ::testing::Values(Json{{"type", "random"}, {"seed", 0}},
                      // n_startup_trials 6: TPE steps after the first two processes
                      Json{{"type", "tpe"}, {"seed", 0}, {"n_startup_trials", 6}},
                      Json{{"type", "qmc"}, {"seed", 0}}),
    [](const auto& info) { return info.param["type"].template get<std::string>(); });

}  // namespace
}  // namespace mgr
