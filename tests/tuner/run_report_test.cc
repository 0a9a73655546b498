#include "tuner/run_report.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mgr {
namespace {

using ::testing::ElementsAre;

FrozenTrial MakeTrial(TrialState state, double value = NAN) {
  FrozenTrial t;
  t.state = state;
  if (!std::isnan(value)) t.values = {value};
  return t;
}

StudyFile TwoStages() {
  StudyFile s;
  s.name = "demo";
  s.objective_metric = "val_loss";
  s.stages.resize(2);
  s.stages[0].name = "base";
  s.stages[0].trials = 6;
  s.stages[1].name = "width";
  s.stages[1].trials = 4;
  s.fixed = {{"max_epochs", 20}, {"lr", 0.001}};
  return s;
}

TEST(RunReportTest, NumberOrIsNaNForAnythingButANumber) {
  const Json o = {{"a", 1.5}, {"s", "2"}, {"n", nullptr}};
  EXPECT_EQ(NumberOr(o, "a"), 1.5);
  EXPECT_TRUE(std::isnan(NumberOr(o, "s")));
  EXPECT_TRUE(std::isnan(NumberOr(o, "n")));
  EXPECT_TRUE(std::isnan(NumberOr(o, "missing")));
  EXPECT_TRUE(std::isnan(NumberOr(Json::array({1, 2}), "a")));
  EXPECT_TRUE(std::isnan(NumberOr(Json(3), "a")));
  EXPECT_TRUE(std::isnan(NumberOr(Json(), "a")));
}

TEST(RunReportTest, WorkerStatusLines) {
  WorkerStatus idle;
  idle.slot = "gpu1";
  EXPECT_EQ(FormatWorkerStatus(idle, "val_loss"), "gpu1  idle");

  WorkerStatus w;
  w.slot = "cpu";
  w.idle = false;
  w.trial = "base #3";
  w.epoch = 2;
  w.max_epochs = 20;
  EXPECT_EQ(FormatWorkerStatus(w, "val_loss"), "cpu  base #3  epoch 2/20  val_loss -  ETA ?");
  w.batch = 17;
  w.batches = 100;
  w.value = 1.23456;
  w.eta_seconds = 185;
  w.pruning = true;
  EXPECT_EQ(FormatWorkerStatus(w, "val_accuracy"),
            "cpu  base #3  epoch 2/20 (17/100)  val_accuracy 1.235  ETA 3m05s  (pruning)");
  w.pruning = false;
  w.stopping = true;
  EXPECT_THAT(FormatWorkerStatus(w, "val_loss"), ::testing::EndsWith("ETA 3m05s  (stopping)"));
}

TEST(RunReportTest, StageProgressCountsEveryState) {
  std::vector<FrozenTrial> trials = {
      MakeTrial(TrialState::kComplete, 1.5), MakeTrial(TrialState::kComplete, 1.25),
      MakeTrial(TrialState::kPruned),        MakeTrial(TrialState::kFail),
      MakeTrial(TrialState::kRunning),       MakeTrial(TrialState::kRunning),
      MakeTrial(TrialState::kWaiting)};
  StageProgress p = CountStageTrials(trials, StudyDirection::kMinimize);
  EXPECT_EQ(p.complete, 2);
  EXPECT_EQ(p.pruned, 1);
  EXPECT_EQ(p.failed, 1);
  EXPECT_EQ(p.running, 2);
  EXPECT_DOUBLE_EQ(p.best, 1.25);
  EXPECT_DOUBLE_EQ(CountStageTrials(trials, StudyDirection::kMaximize).best, 1.5);
  EXPECT_TRUE(std::isnan(CountStageTrials({}, StudyDirection::kMinimize).best));

  Incumbent incumbent;
  EXPECT_EQ(FormatStageStatus(TwoStages(), 0, p, incumbent),
            "stage 1/2 base: 3/6 done (2 complete, 1 pruned, 1 failed, 2 running), best 1.25; "
            "incumbent -");
  incumbent.value = 1.3;
  EXPECT_EQ(FormatStageStatus(TwoStages(), 1, StageProgress(), incumbent),
            "stage 2/2 width: 0/4 done (0 complete, 0 pruned, 0 failed, 0 running), best -; "
            "incumbent 1.3");
}

TEST(RunReportTest, FinalReportWithoutExport) {
  StageDecision kept, rejected;
  kept.accepted = true;
  kept.summary = "base: best #2 1.25 becomes the incumbent";
  rejected.summary = "width: best 1.26 does not beat 1.25";
  Incumbent incumbent;
  incumbent.stage = "base";
  incumbent.trial_number = 2;
  incumbent.value = 1.25;
  incumbent.hparams = {{"lr", 0.003}};  // replaces the fixed lr
  EXPECT_THAT(
      FinalReportLines(TwoStages(), {kept, rejected}, incumbent, nullptr),
      ElementsAre("", "== demo: playbook finished ==",
                  "  stage 0 [kept]     base: best #2 1.25 becomes the incumbent",
                  "  stage 1 [rejected] width: best 1.26 does not beat 1.25",
                  "incumbent (base #2, validation val_loss 1.25): lr=0.003, max_epochs=20"));
}

TEST(RunReportTest, FinalReportWithTestMetricsAndModel) {
  Incumbent incumbent;
  incumbent.stage = "base";
  incumbent.trial_number = 0;
  const Json result = {{"test",
                        {{"loss", 1.1},
                         {"accuracy", 0.75},
                         {"macro_f1", 0.7},
                         {"confusion", {{3, 1}, {1, 13}, {0, 2}}},
                         {"classes", {"Rock", "Electronic-and-more"}}}},
                       {"model_path", "/run/final/model/model.pt"}};
  std::vector<std::string> lines = FinalReportLines(TwoStages(), {}, incumbent, result);
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines[2], "incumbent (base #0, validation val_loss -): lr=0.001, max_epochs=20");
  EXPECT_EQ(lines[3], "test accuracy 0.75, macro F1 0.7, loss 1.1");
  EXPECT_EQ(lines[4], "confusion matrix (rows: true class, columns: predicted):");
  EXPECT_EQ(lines[5], "  Rock               3     1");
  EXPECT_EQ(lines[6], "  Electronic-an      1    13");  // names cut to 13 characters
  EXPECT_EQ(lines[7], "  2                  0     2");  // no name: the row number
  EXPECT_EQ(lines[8], "exported model: /run/final/model/model.pt");
}

TEST(RunReportTest, FinalReportShowsTheMidpointWindowAndTheTrackLevelFigures) {
  Incumbent incumbent;
  incumbent.stage = "base";
  incumbent.trial_number = 0;
  const Json result = {{"test",
                        {{"loss", 1.1},
                         {"accuracy", 0.5},
                         {"macro_f1", 0.4},
                         {"track", {{"loss", 0.9}, {"accuracy", 0.625}, {"macro_f1", 0.6}}}}}};
  std::vector<std::string> lines = FinalReportLines(TwoStages(), {}, incumbent, result);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[3],
            "test accuracy 0.5, macro F1 0.4, loss 1.1 (one window from the middle of each "
            "track, as the paper)");
  EXPECT_EQ(lines[4],
            "track level (the mean logits of every window of a track): accuracy 0.625, "
            "macro F1 0.6, loss 0.9");
}

TEST(RunReportTest, FinalReportToleratesAnOddResultFile) {
  // result.json may come from an earlier run or a person's editor: nothing may throw.
  Incumbent incumbent;
  const Json result = {{"test", {{"accuracy", "high"}, {"classes", {1, 2}}, {"confusion", 5}}},
                       {"model_path", 7}};
  std::vector<std::string> lines = FinalReportLines(TwoStages(), {}, incumbent, result);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3], "test accuracy -, macro F1 -, loss -");
  EXPECT_EQ(FinalReportLines(TwoStages(), {}, incumbent, Json{{"error", "export failed"}}).size(),
            3u);
}

}  // namespace
}  // namespace mgr
