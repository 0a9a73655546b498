// Argument parsing of the storage commands (tuner/storage_commands.cc), checked against
// Optuna's own forms: distribution_json and sampler class names. Storage URLs are parsed
// by storage/storage.cc (tests/storage/storage_test.cc).
#include "tuner/storage_commands.h"

#include <algorithm>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/storage.h"
#include "storage/trial.h"
#include "tests/test_util.h"

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
  EXPECT_EQ(*SamplerConfigFromArgs("GPSampler", R"({"deterministic_objective": true})", 2),
            Json::parse(R"({"type": "gp", "seed": 2, "deterministic_objective": true})"));
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

// `trials --epochs`: one record per entry of the `epochs` user attr the orchestrator
// writes (docs/storage.md), usual metrics first, other keys by name, any format.
TEST(TrialsEpochsTest, OneRowPerEpochWithTheUsualMetricsFirst) {
  testing_util::TempDir dir;
  const std::string url = "sqlite:///" + dir.path() + "/e.db";
  {
    auto st = OpenStorage(url);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    Storage& s = **st;
    const int64_t study = *s.CreateStudy("demo/base", {StudyDirection::kMinimize});
    const int64_t a = *s.CreateTrial(study), b = *s.CreateTrial(study);
    *s.CreateTrial(study);  // no epochs: no row
    ASSERT_TRUE(
        s.SetTrialUserAttr(a, "epochs", Json::parse(R"([{"epoch": 1, "zeta": 7, "val_loss": 2.5,
                                     "train_loss": 3, "t": 0.5},
                                    {"epoch": 2, "val_loss": 1.5, "train_loss": 2, "t": 1}])"))
            .ok());
    ASSERT_TRUE(s.SetTrialStateValues(a, TrialState::kComplete, {1.5}).ok());
    ASSERT_TRUE(
        s.SetTrialUserAttr(b, "epochs", Json::parse(R"([{"epoch": 1, "val_loss": null}])")).ok());
    ASSERT_TRUE(s.SetTrialStateValues(b, TrialState::kPruned).ok());
  }
  auto run = [&](const std::string& format) {
    CLI::App app;
    CommandRunner runner;
    std::ostringstream out, err;
    RegisterStorageCommands(app, &runner, &out, &err);
    app.parse("trials --storage " + url + " --study-name demo/base -f " + format + " --epochs",
              /*program_name_included=*/false);
    EXPECT_EQ(runner(), 0) << err.str();
    return out.str();
  };
  EXPECT_EQ(Json::parse(run("json")), Json::parse(R"([
    {"number": 0, "state": "COMPLETE", "epoch": 1, "train_loss": 3, "val_loss": 2.5, "t": 0.5,
     "zeta": 7},
    {"number": 0, "state": "COMPLETE", "epoch": 2, "train_loss": 2, "val_loss": 1.5, "t": 1},
    {"number": 1, "state": "PRUNED", "epoch": 1, "val_loss": null}])"));
  const std::string csv = run("csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "number,state,epoch,train_loss,val_loss,t,zeta");
}

// A loop of `mgr-tune ask --sampler-kwargs '{"seed": 0}'` (each a new process, hence a new
// sampler) gives each trial its own values: a trial's draws come from the seed, the study
// and the trial number, not from a stream each process starts again (issue #14). The same
// loop on a second study with the same seed gives other values.
TEST(AskCommandTest, ALoopOfSeededAsksNeverRepeatsAValue) {
  testing_util::TempDir dir;
  const std::string url = "sqlite:///" + dir.path() + "/ask.db";
  const std::string space =
      R"({"lr": {"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.1, "log": true, "step": null}}})";
  auto ask = [&](const std::string& study, const std::string& sampler) {
    CLI::App app;
    CommandRunner runner;
    std::ostringstream out, err;
    RegisterStorageCommands(app, &runner, &out, &err);
    // CLI11 takes the arguments last first.
    std::vector<std::string> args = {"ask",
                                     "--storage",
                                     url,
                                     "--study-name",
                                     study,
                                     "--direction",
                                     "minimize",
                                     "--sampler",
                                     sampler,
                                     "--sampler-kwargs",
                                     R"({"seed": 0})",
                                     "--search-space",
                                     space,
                                     "-f",
                                     "json"};
    std::reverse(args.begin(), args.end());
    app.parse(args);
    EXPECT_EQ(runner(), 0) << err.str();
    Json asked = Json::parse(out.str());
    return asked["params"]["lr"].get<double>();
  };
  for (const std::string sampler : {"RandomSampler", "TPESampler", "QMCSampler"}) {
    SCOPED_TRACE(sampler);
    std::vector<double> a, b;
    for (int k = 0; k < 6; ++k) a.push_back(ask("a-" + sampler, sampler));
    for (int k = 0; k < 6; ++k) b.push_back(ask("b-" + sampler, sampler));
    std::set<double> all(a.begin(), a.end());
    EXPECT_EQ(all.size(), a.size()) << "a seeded ask repeated an earlier trial's lr";
    all.insert(b.begin(), b.end());
    EXPECT_EQ(all.size(), a.size() + b.size()) << "two studies with one seed share values";
  }
}

// Runs one storage command in-process; returns its exit code, output in *out and *err.
int RunStorageCommand(std::vector<std::string> args, std::string* out, std::string* err) {
  CLI::App app;
  CommandRunner runner;
  std::ostringstream o, e;
  RegisterStorageCommands(app, &runner, &o, &e);
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  app.parse(args);
  const int rc = runner();
  *out = o.str();
  *err = e.str();
  return rc;
}

// copy-study with a playbook study's name copies every stage, renamed; a target that exists
// already stops it before anything is written.
TEST(CopyStudyCommandTest, CopiesEveryStageAndNeverHalfOfThem) {
  testing_util::TempDir dir;
  const std::string from = "sqlite:///" + dir.path() + "/from.db";
  const std::string to = "sqlite:///" + dir.path() + "/to.db";
  {
    std::unique_ptr<Storage> s = std::move(OpenStorage(from)).value();
    for (const char* stage : {"demo/base", "demo/dense", "demo2/base"}) {
      const int64_t id = *s->CreateStudy(stage, {StudyDirection::kMinimize});
      ASSERT_TRUE(s->SetStudyUserAttr(id, "stage", stage).ok());
      for (int i = 0; i < 2; ++i) {
        const int64_t t = *s->CreateTrial(id);
        ASSERT_TRUE(s->SetTrialIntermediateValue(t, 1, 0.5 + i).ok());
        ASSERT_TRUE(s->SetTrialStateValues(t, TrialState::kComplete, {0.5 + i}).ok());
      }
    }
  }
  std::string out, err;
  ASSERT_EQ(RunStorageCommand({"copy-study", "--from-storage", from, "--to-storage", to,
                               "--study-name", "demo", "--to-study-name", "copy"},
                              &out, &err),
            0)
      << err;
  EXPECT_EQ(
      out,
      "copied demo/base -> copy/base (2 trials)\ncopied demo/dense -> copy/dense (2 trials)\n");
  {
    std::unique_ptr<Storage> s = std::move(OpenStorage(to)).value();
    std::vector<StudySummary> studies = *s->GetAllStudies();
    ASSERT_EQ(studies.size(), 2u);
    const int64_t dense = *s->GetStudyId("copy/dense");
    EXPECT_EQ(s->GetStudyUserAttrs(dense)->at("stage"), "demo/dense");
    std::vector<FrozenTrial> trials = *s->GetAllTrials(dense);
    ASSERT_EQ(trials.size(), 2u);
    EXPECT_EQ(trials[1].values, std::vector<double>{1.5});
    EXPECT_EQ(trials[1].intermediate_values.at(1), 1.5);
  }
  // The second stage's name is taken in a third store: nothing at all is copied there.
  const std::string third = "sqlite:///" + dir.path() + "/third.db";
  {
    std::unique_ptr<Storage> s = std::move(OpenStorage(third)).value();
    ASSERT_TRUE(s->CreateStudy("demo/dense", {StudyDirection::kMaximize}).ok());
  }
  EXPECT_EQ(RunStorageCommand({"copy-study", "--from-storage", from, "--to-storage", third,
                               "--study-name", "demo"},
                              &out, &err),
            1);
  EXPECT_NE(err.find("a study named 'demo/dense' already exists"), std::string::npos) << err;
  {
    std::unique_ptr<Storage> s = std::move(OpenStorage(third)).value();
    EXPECT_EQ(s->GetStudyId("demo/base").status().code(), StatusCode::kNotFound);
  }
  EXPECT_EQ(RunStorageCommand({"copy-study", "--from-storage", from, "--to-storage", to,
                               "--study-name", "nothing"},
                              &out, &err),
            1);
  EXPECT_NE(err.find("no study named 'nothing'"), std::string::npos) << err;
}

}  // namespace
}  // namespace mgr
