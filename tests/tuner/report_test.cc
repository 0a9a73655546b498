#include "tuner/report.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/in_memory_storage.h"
#include "tests/test_util.h"
#include "tests/tuner/report_test_study.h"

namespace mgr {
namespace {

using ::testing::HasSubstr;

// Like HasSubstr, without printing the whole page on failure.
::testing::AssertionResult Has(const std::string& page, const std::string& part) {
  if (page.find(part) != std::string::npos) return ::testing::AssertionSuccess() << "has " << part;
  return ::testing::AssertionFailure() << "the page lacks: " << part;
}

std::string Num6(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// The chart configs the page hands to Chart.js.
Json Charts(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"mgr-charts\">";
  const size_t a = html.find(open);
  const size_t b = html.find("</script>", a);
  EXPECT_NE(a, std::string::npos);
  return Json::parse(html.substr(a + open.size(), b - a - open.size()));
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto names = report_test::WriteSyntheticStudy(storage_, "demo", 12);
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    names_ = *names;
  }
  InMemoryStorage storage_;
  std::vector<std::string> names_;
};

TEST_F(ReportTest, ReadsStagesTrialsEpochsAndAttrs) {
  auto data = ReadReportData(storage_, names_);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->title, "demo");
  ASSERT_EQ(data->stages.size(), 2u);
  const ReportStage& base = data->stages[0];
  EXPECT_EQ(base.stage, "base");
  EXPECT_EQ(base.study_name, "demo/base");
  EXPECT_EQ(base.budget, 12);
  ASSERT_EQ(base.trials.size(), 12u);
  // Fixed parameters are not searched: units only in the second stage.
  EXPECT_EQ(base.distributions.size(), 2u);
  EXPECT_EQ(data->stages[1].distributions.count("units"), 1u);

  const ReportTrial& failed = base.trials[0];
  EXPECT_EQ(failed.state, TrialState::kFail);
  EXPECT_THAT(failed.fail_reason, HasSubstr("nan"));
  ASSERT_EQ(failed.epochs.size(), 1u);
  EXPECT_TRUE(std::isnan(failed.epochs[0].train_loss));  // stored as null

  const ReportTrial& t = base.trials[1];
  EXPECT_EQ(t.state, TrialState::kComplete);
  ASSERT_EQ(t.epochs.size(), 6u);
  EXPECT_EQ(t.max_epochs, 6);
  const double lr = t.params.at("lr").get<double>(), dropout = t.params.at("dropout").get<double>();
  EXPECT_DOUBLE_EQ(t.epochs[2].val_loss, report_test::ValLoss(lr, dropout, 32, 3));
  EXPECT_DOUBLE_EQ(t.epochs[2].train_loss, 0.8 * report_test::ValLoss(lr, dropout, 32, 3));
  EXPECT_DOUBLE_EQ(t.epochs[2].seconds, 10.0);
  EXPECT_DOUBLE_EQ(t.value, report_test::ValLoss(lr, dropout, 32, 6));  // the last epoch's
  EXPECT_DOUBLE_EQ(t.start, 1'800'000'000.0 + 30);
  EXPECT_DOUBLE_EQ(t.end, t.start + 60);
  EXPECT_EQ(base.trials[3].state, TrialState::kPruned);
  EXPECT_EQ(base.trials[3].intermediate.size(), 2u);

  // The best trial, found independently.
  int best = -1;
  for (size_t i = 0; i < base.trials.size(); ++i) {
    if (base.trials[i].state == TrialState::kComplete &&
        (best < 0 || base.trials[i].value < base.trials[best].value))
      best = static_cast<int>(i);
  }
  EXPECT_EQ(base.best, best);
  EXPECT_TRUE(base.decision.value("accepted", false));
  EXPECT_DOUBLE_EQ(data->final_result["test"]["accuracy"].get<double>(), 0.8125);
  double total = 0;
  for (const auto& p : base.importance) total += p.importance;
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST_F(ReportTest, MissingStudyIsNotFoundNamingIt) {
  auto data = ReadReportData(storage_, {"demo/base", "demo/nope"});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("demo/nope"));
}

TEST_F(ReportTest, PageShowsTheStoresNumbers) {
  auto data = ReadReportData(storage_, names_);
  ASSERT_TRUE(data.ok());
  data->objective = "val_loss";
  const std::string html = RenderReportHtml(*data);
  // Self-contained: Chart.js inlined, nothing fetched.
  EXPECT_TRUE(Has(html, "Chart.js v3.9"));
  EXPECT_FALSE(Has(html, "<script src"));
  EXPECT_FALSE(Has(html, "<link"));
  // Summary and decisions.
  const ReportStage& base = data->stages[0];
  EXPECT_TRUE(Has(html, Num6(base.trials[base.best].value) + " (#" +
                            std::to_string(base.trials[base.best].number) + ")"));
  EXPECT_TRUE(Has(html, "Decision: accepted"));
  // Failed and diverged: trial 0 of 12 (8.3%).
  EXPECT_TRUE(Has(html, "1 failed (8.3%)</span>, of which 1 diverged (8.3%)"));
  // Final model: test metrics, per-class F1 (2PR/(P+R)), the confusion matrix.
  EXPECT_TRUE(Has(html, "id=\"test-accuracy\">0.8125<"));
  EXPECT_TRUE(Has(html, "id=\"test-macro-f1\">0.796875<"));
  EXPECT_TRUE(Has(html,
                  "<td>Rock</td><td class=\"num\">0.75</td><td class=\"num\">1</td>"
                  "<td class=\"num\">0.857143</td>"));
  EXPECT_TRUE(Has(html,
                  "<th>Pop</th><td class=\"num\" style=\"background:rgba(214,39,40,"
                  "0.333);color:#000\">2</td>"));
  EXPECT_TRUE(Has(html, "/runs/final/model.pt"));
  // lr's best trials are mid-range (ValLoss is lowest at 3e-3): no warning.
  EXPECT_FALSE(Has(html, "data-param=\"lr\""));
  // The store has no worker names: lanes, said so.
  EXPECT_TRUE(Has(html, "lane (trials running at once)"));

  // Every chart has data; the history holds every COMPLETE trial's value.
  const Json charts = Charts(html);
  ASSERT_GE(charts.size(), 10u);
  for (const Json& c : charts) {
    size_t points = 0;
    for (const Json& d : c["data"]["datasets"]) points += d["data"].size();
    EXPECT_GT(points, 0u) << c["options"]["plugins"]["title"]["text"];
  }
  const Json& history = charts[0];
  EXPECT_EQ(history["options"]["plugins"]["title"]["text"], "base: optimization history");
  size_t complete = 0;
  for (const auto& t : base.trials) complete += t.state == TrialState::kComplete;
  ASSERT_EQ(history["data"]["datasets"][0]["data"].size(), complete);
  EXPECT_DOUBLE_EQ(history["data"]["datasets"][0]["data"][0]["y"].get<double>(),
                   base.trials[1].value);
  // The objective against lr, with the search space's bounds drawn at 1e-4 and 0.1.
  std::vector<double> bounds;
  for (const Json& c : charts) {
    if (c["options"]["plugins"]["title"]["text"].get<std::string>().rfind("base: val_loss vs lr",
                                                                          0) != 0)
      continue;
    EXPECT_EQ(c["options"]["scales"]["x"]["type"], "logarithmic");
    for (const Json& d : c["data"]["datasets"]) {
      if (d["label"] == "search-space bound") bounds.push_back(d["data"][0]["x"].get<double>());
    }
  }
  EXPECT_EQ(bounds, (std::vector<double>{1e-4, 0.1}));
  // Deterministic.
  EXPECT_EQ(html, RenderReportHtml(*data));
}

TEST_F(ReportTest, LearningCurvesMarkPrunedTrialsAndHighlightTheBest) {
  auto data = ReadReportData(storage_, names_);
  ASSERT_TRUE(data.ok());
  const Json charts = Charts(RenderReportHtml(*data));
  const Json* loss = nullptr;
  for (const Json& c : charts) {
    if (c["options"]["plugins"]["title"]["text"].get<std::string>().rfind(
            "base: learning curves, train (dashed) and validation loss", 0) == 0)
      loss = &c;
  }
  ASSERT_NE(loss, nullptr);
  const Json& stops = (*loss)["data"]["datasets"].back();
  EXPECT_EQ(stops["label"], "pruned: stopped here");
  // Trials 3, 7 and 11 were pruned after epoch 2.
  ASSERT_EQ(stops["data"].size(), 3u);
  EXPECT_EQ(stops["data"][0]["x"], 2);
  const ReportStage& base = data->stages[0];
  const std::string best_label =
      "#" + std::to_string(base.trials[base.best].number) + " (best) val";
  bool found = false;
  for (const Json& d : (*loss)["data"]["datasets"]) {
    if (d["label"] == best_label) {
      found = true;
      EXPECT_EQ(d["borderWidth"], 3);
      EXPECT_EQ(d["data"].size(), 6u);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ReportTest, FinalModelShowsTheWholeConfigurationAndEverySeed) {
  auto data = ReadReportData(storage_, names_);
  ASSERT_TRUE(data.ok());
  // As the playbook stores it: the incumbent holds only what the stages chose; the rest of
  // the configuration is its trial's `hparams` attr.
  ReportStage& last = data->stages.back();
  ASSERT_GE(last.best, 0);
  const ReportTrial& best = last.trials[last.best];
  last.incumbent = {{"hparams", {{"lr", best.hparams["lr"]}}},
                    {"value", best.value},
                    {"stage", last.stage},
                    {"trial_number", best.number}};
  // Final training over three seeds, the second failed.
  const Json test = data->final_result["test"];
  data->final_result["final"] = {{"max_epochs", 100}, {"patience", 20}};
  data->final_result["seeds"] = {
      {{"seed", 0},
       {"test", {{"accuracy", 0.75}, {"macro_f1", 0.5}, {"loss", 1.25}}},
       {"best_val_loss", 0.5},
       {"epochs_run", 31}},
      {{"seed", 1}, {"error", "out of memory"}},
      {{"seed", 2}, {"test", test}, {"best_val_loss", 0.25}, {"epochs_run", 47}}};
  data->final_result["summary"] = {{"accuracy", {{"mean", 0.78125}, {"std", 0.0441942}}},
                                   {"macro_f1", {{"mean", 0.6484375}, {"std", 0.209938}}},
                                   {"loss", {{"mean", 0.84375}, {"std", 0.574524}}}};
  data->final_result["best_seed"] = 2;
  const std::string html = RenderReportHtml(*data);
  // Every hyperparameter of the incumbent trial, the chosen one marked.
  EXPECT_TRUE(
      Has(html, "<tr><td>lr</td><td>" + best.hparams["lr"].dump() + "</td><td>yes</td></tr>"));
  EXPECT_TRUE(Has(html, "<tr><td>max_epochs</td><td>6</td><td></td></tr>"));
  EXPECT_TRUE(Has(
      html, "<tr><td>dropout</td><td>" + best.hparams["dropout"].dump() + "</td><td></td></tr>"));
  // The seeds, the failed one named, the spread, and which seed the tables below are.
  EXPECT_TRUE(Has(html, "Final training: 3 seeds, max_epochs 100, patience 20"));
  EXPECT_TRUE(Has(html,
                  "<tr><td>0</td><td class=\"num\">0.75</td><td class=\"num\">0.5</td>"
                  "<td class=\"num\">1.25</td><td class=\"num\">0.5</td>"
                  "<td class=\"num\">31</td></tr>"));
  EXPECT_TRUE(Has(html, "failed: out of memory"));
  EXPECT_TRUE(Has(html, "<td class=\"num\">0.78125 &plusmn; 0.0441942</td>"));
  // A result written before `monitor`: ranked by best_val_loss.
  EXPECT_TRUE(Has(html, "<th>best val_loss</th>"));
  EXPECT_TRUE(Has(html, "Best seed by val_loss (validation, not test): 2"));
  EXPECT_TRUE(Has(html, "id=\"test-accuracy\">0.8125<"));

  // Weights kept by whole-track loss: the column and the choice name it, with its values.
  data->final_result["selected_by"] = "val_track_loss";
  data->final_result["best_monitored"] = 0.125;
  data->final_result["seeds"][0]["best_monitored"] = 0.375;
  data->final_result["seeds"][2]["best_monitored"] = 0.125;
  const std::string by_track = RenderReportHtml(*data);
  EXPECT_TRUE(Has(by_track, "<th>best val_track_loss</th>"));
  EXPECT_TRUE(Has(by_track,
                  "<td class=\"num\">1.25</td><td class=\"num\">0.375</td>"
                  "<td class=\"num\">31</td></tr>"));
  EXPECT_TRUE(Has(by_track, "Best seed by val_track_loss (validation, not test): 2"));
}

TEST_F(ReportTest, FinalModelShowsTheTrackLevelFiguresBesideTheMidpointWindow) {
  auto data = ReadReportData(storage_, names_);
  ASSERT_TRUE(data.ok());
  const std::string without = RenderReportHtml(*data);
  EXPECT_FALSE(Has(without, "id=\"test-track-accuracy\""));
  EXPECT_TRUE(Has(without, "<h3>Confusion matrix"));
  data->final_result["test"]["track"] = {{"loss", 0.25},
                                         {"accuracy", 0.9375},
                                         {"macro_f1", 0.875},
                                         {"precision", {1.0, 1.0, 0.75}},
                                         {"recall", {1.0, 0.75, 1.0}},
                                         {"confusion", {{6, 0, 0}, {0, 6, 2}, {0, 0, 4}}}};
  const std::string html = RenderReportHtml(*data);
  EXPECT_TRUE(Has(html, "<th>midpoint window</th><td class=\"num\" id=\"test-accuracy\">0.8125<"));
  EXPECT_TRUE(
      Has(html, "<th>track level</th><td class=\"num\" id=\"test-track-accuracy\">0.9375<"));
  EXPECT_TRUE(Has(html, "id=\"test-track-macro-f1\">0.875<"));
  EXPECT_TRUE(Has(html, "<h3>Midpoint window: confusion matrix"));
  EXPECT_TRUE(Has(html, "<h3>Track level: confusion matrix"));
  // Per-class F1 of the track level from its precision and recall: Pop 2*1*0.75/1.75.
  EXPECT_TRUE(Has(html,
                  "<td>Pop</td><td class=\"num\">1</td><td class=\"num\">0.75</td>"
                  "<td class=\"num\">0.857143</td>"));
}

TEST(ReportPlainStudyTest, WorksWithoutPlaybookAttrs) {
  InMemoryStorage storage;
  auto study = storage.CreateStudy("plain", {StudyDirection::kMaximize});
  ASSERT_TRUE(study.ok());
  auto x = MakeFloatDistribution("x", -1, 1);
  ASSERT_TRUE(x.ok());
  for (int i = 0; i < 5; ++i) {
    FrozenTrial t;
    t.state = TrialState::kComplete;
    t.params["x"] = -1 + 0.5 * i;
    t.distributions["x"] = *x;
    t.values = {static_cast<double>(i)};
    t.intermediate_values[0] = i;
    ASSERT_TRUE(storage.CreateTrial(*study, &t).ok());
  }
  ASSERT_TRUE(storage.CreateTrial(*study).ok());  // RUNNING, no params
  auto data = ReadReportData(storage, {"plain"});
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->stages[0].stage, "plain");
  EXPECT_EQ(data->stages[0].best, 4);  // maximize
  const std::string html = RenderReportHtml(*data);
  EXPECT_TRUE(Has(html, "Decision: pending"));
  EXPECT_TRUE(Has(html, "No test evaluation in the store yet"));
  EXPECT_TRUE(Has(html, "4 (#4)"));
  // x's best (the top 10%: one trial) is at its upper bound.
  EXPECT_TRUE(Has(html, "data-param=\"x\""));
}

TEST(ReportPlainStudyTest, InvalidUtf8InTheStoreDoesNotThrow) {
  InMemoryStorage storage;
  const std::string name = "bad\xff name";
  auto study = storage.CreateStudy(name, {StudyDirection::kMinimize});
  ASSERT_TRUE(study.ok());
  ASSERT_TRUE(storage.SetStudyUserAttr(*study, "decision", {{"summary", "x\xfe"}}).ok());
  auto data = ReadReportData(storage, {name});
  ASSERT_TRUE(data.ok());
  std::string html;
  EXPECT_NO_THROW(html = RenderReportHtml(*data));
  EXPECT_TRUE(Has(html, "<h1>bad\xff name</h1>"));  // text is copied as it is
}

TEST_F(ReportTest, TheTimelineLeavesOutTrialsThatCopiedAKnownResult) {
  auto data = ReadReportData(storage_, names_);
  ASSERT_TRUE(data.ok());
  auto timeline_bars = [](const std::string& html) {
    size_t bars = 0;
    for (const Json& c : Charts(html)) {
      if (c["options"]["plugins"]["title"]["text"].get<std::string>().rfind("Timeline", 0) != 0)
        continue;
      for (const Json& d : c["data"]["datasets"]) bars += d["data"].size();
    }
    return bars;
  };
  const size_t all = timeline_bars(RenderReportHtml(*data));
  ASSERT_GT(all, 0u);
  data->stages[0].trials[1].reused_from = "demo/base#0";
  EXPECT_EQ(timeline_bars(RenderReportHtml(*data)), all - 1);
}

TEST(ReportLargeStudyTest, CapsTheLinesDrawn) {
  InMemoryStorage storage;
  auto names = report_test::WriteSyntheticStudy(storage, "big", 300);
  ASSERT_TRUE(names.ok());
  auto data = ReadReportData(storage, *names);
  ASSERT_TRUE(data.ok());
  const std::string html = RenderReportHtml(*data);
  EXPECT_TRUE(Has(html, "Learning curves of 60 of 300 trials"));
  EXPECT_TRUE(Has(html, "Parallel coordinates of the best 200 of"));
}

TEST(WriteReportTest, WritesTheFileOrSaysWhy) {
  InMemoryStorage storage;
  auto names = report_test::WriteSyntheticStudy(storage, "w", 6);
  ASSERT_TRUE(names.ok());
  testing_util::TempDir dir;
  const std::string path = dir.path() + "/report.html";
  ASSERT_TRUE(WriteReport(storage, *names, path, "val_loss").ok());
  const std::string text = testing_util::ReadFile(path);
  EXPECT_TRUE(Has(text, "<!DOCTYPE html>"));
  EXPECT_TRUE(Has(text, "objective: val_loss"));
  Status s = WriteReport(storage, *names, "/nonexistent-dir/r.html");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent-dir/r.html"));
}

TEST(WriteStudyReportTest, ShowsTheStartedStagesInRunDir) {
  InMemoryStorage storage;
  ASSERT_TRUE(report_test::WriteSyntheticStudy(storage, "demo", 6).ok());
  testing_util::TempDir dir;
  StudyFile study;
  study.name = "demo";
  study.run_dir = dir.path();
  study.storage_url = ":memory:";
  study.objective_metric = "val_loss";
  study.stages.resize(3);
  study.stages[0].name = "base";
  study.stages[1].name = "wider";
  study.stages[2].name = "deeper";  // not started: left out
  auto path = WriteStudyReport(storage, study);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, dir.path() + "/report.html");
  const std::string text = testing_util::ReadFile(*path);
  EXPECT_TRUE(Has(text, "Stage 1: wider"));
  EXPECT_FALSE(Has(text, "deeper"));
  EXPECT_TRUE(Has(text, "best val_loss"));

  study.name = "other";  // no stage of it in the store
  auto none = WriteStudyReport(storage, study);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Has(none.status().message(), "study other has not started"));
}

}  // namespace
}  // namespace mgr
