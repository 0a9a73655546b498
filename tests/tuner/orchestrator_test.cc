// The orchestrator against the fake worker (tests/tuner/fake_worker.cc) and a real SQLite
// store; Python Optuna (MGR_PYTHON) reads the result independently.
#include "tuner/orchestrator.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "samplers/pruner.h"
#include "samplers/sampler.h"
#include "studies/study.h"
#include "tuner/dashboard_note.h"
#include "tuner/run_command.h"

namespace mgr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    dir_ = fs::temp_directory_path() /
           ("mgr_orch_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = (dir_ / "fake.log").string();
    setenv("MGR_FAKE_LOG", log_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("MGR_FAKE_LOG");
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // A study file in dir_ with the fake dataset paths; `patch` is merged on top.
  StudyFile MakeStudy(const Json& patch) {
    Json j = {
        {"name", "t"},
        {"dataset", {{"metadata", "tracks.csv"}, {"audio_dir", "audio"}, {"cache_dir", "cache"}}},
        {"model", {{"family", "nnet2"}}},
        {"fixed", {{"max_epochs", 3}, {"sleep_per_epoch", 0.02}}},
        {"retune", {{"lr", {{"type", "float"}, {"low", 1e-5}, {"high", 1.0}, {"log", true}}}}},
        {"sampler", {{"type", "random"}, {"seed", 1}}},
        {"pruner", {{"type", "nop"}}},
        {"stages", {{{"name", "base"}, {"trials", 4}}}},
        {"workers", {{"gpus", Json::array()}, {"cpu_workers", 2}}},
        {"heartbeat", {{"interval", 0.2}, {"grace", 1}}},
        {"kill_grace", 2}};
    j.merge_patch(patch);
    const std::string path = (dir_ / "study.json").string();
    std::ofstream(path) << j.dump(2);
    auto s = LoadStudyFile(path);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return *s;
  }

  std::shared_ptr<Storage> Open(const StudyFile& s) {
    auto st = OpenStorage(s.storage_url);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return std::shared_ptr<Storage>(std::move(*st));
  }

  Result<RunReport> RunStudy(const StudyFile& s, GpuDiscovery* gpus = nullptr) {
    OrchestratorOptions o;
    o.worker_command = {MGR_FAKE_WORKER};
    o.discovery = gpus;
    o.out = &out_;
    o.poll_seconds = 0.2;
    Orchestrator orch(s, Open(s), o);
    auto r = orch.Run();
    return r;
  }

  // Runs the orchestrator in a forked child (so that it can be killed) and returns its pid.
  pid_t ForkRun(const StudyFile& s, const std::string& out_file) {
    pid_t pid = fork();
    if (pid == 0) {
      std::ofstream out(out_file);
      OrchestratorOptions o;
      o.worker_command = {MGR_FAKE_WORKER};
      o.out = &out;
      o.poll_seconds = 0.2;
      auto st = OpenStorage(s.storage_url);
      if (!st.ok()) _exit(1);
      Orchestrator orch(s, std::shared_ptr<Storage>(std::move(*st)), o);
      auto r = orch.Run();
      out.flush();
      _exit(!r.ok() ? 1 : r->interrupted ? 130 : 0);
    }
    return pid;
  }

  // Two orchestrators on `s` at once (forked; logs in dir_/a.txt and b.txt), both of which
  // must exit 0. Their pids.
  std::pair<pid_t, pid_t> RunTwoOrchestrators(const StudyFile& s) {
    { auto st = Open(s); }  // the database exists before both open it
    pid_t a = ForkRun(s, (dir_ / "a.txt").string());
    pid_t b = ForkRun(s, (dir_ / "b.txt").string());
    int sa = 0, sb = 0;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    EXPECT_TRUE(WIFEXITED(sa) && WEXITSTATUS(sa) == 0) << "logs in " << dir_.string();
    EXPECT_TRUE(WIFEXITED(sb) && WEXITSTATUS(sb) == 0) << "logs in " << dir_.string();
    return {a, b};
  }

  std::vector<FrozenTrial> Trials(Storage& st, const std::string& study) {
    auto id = st.GetStudyId(study);
    EXPECT_TRUE(id.ok()) << study;
    if (!id.ok()) return {};
    return *st.GetAllTrials(*id);
  }

  std::vector<Json> FakeLog() {
    std::vector<Json> out;
    std::ifstream in(log_);
    std::string line;
    while (std::getline(in, line)) out.push_back(Json::parse(line));
    return out;
  }

  // Runs `script` with Debian's Python on the store `url`: its stdout and stderr; *rc its
  // exit status.
  static std::string RunPython(const std::string& script, const std::string& url, int* rc) {
    const std::string cmd = std::string(MGR_PYTHON) + " " + script + " '" + url + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
    *rc = pclose(p);
    return text;
  }

  // What Python Optuna reads from the database: per study, states and values by number.
  Json ReadWithOptuna(const std::string& url) {
    const std::string script = (dir_ / "read.py").string();
    std::ofstream(script) << R"(import json, math, sys
import optuna
storage = optuna.storages.RDBStorage(sys.argv[1], skip_compatibility_check=True)
out = {}
for s in optuna.get_all_study_summaries(storage):
    study = optuna.load_study(study_name=s.study_name, storage=storage)
    fin = lambda v: v if v is not None and math.isfinite(v) else None
    out[s.study_name] = {
        "states": [t.state.name for t in study.trials],
        "numbers": [t.number for t in study.trials],
        "values": [fin(t.value) for t in study.trials],
        "user_attrs": study.user_attrs,
    }
print(json.dumps(out))
)";
    int rc = 0;
    const std::string text = RunPython(script, url, &rc);
    EXPECT_EQ(rc, 0) << text;
    Json j = Json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << text;
    return j;
  }

  fs::path dir_;
  std::string log_;
  std::ostringstream out_;
};

int CountState(const std::vector<FrozenTrial>& ts, TrialState s) {
  int n = 0;
  for (const auto& t : ts) n += t.state == s;
  return n;
}

TEST_F(OrchestratorTest, TwoStagesTwoWorkersPruneAndOptunaReadsTheResult) {
  StudyFile s = MakeStudy(
      {{"pruner", {{"type", "median"}, {"n_startup_trials", 2}, {"n_warmup_steps", 0}}},
       {"fixed", {{"max_epochs", 4}, {"sleep_per_epoch", 0.1}}},
       {"stages",
        {{{"name", "base"}, {"trials", 6}},
         {{"name", "quality"},
          {"trials", 6},
          {"params", {{"quality", {{"type", "float"}, {"low", 0.0}, {"high", 3.0}}}}}}}}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  EXPECT_FALSE(r->interrupted);
  ASSERT_EQ(r->decisions.size(), 2u);
  EXPECT_TRUE(r->decisions[0].accepted);

  auto st = Open(s);
  int pruned = 0;
  for (int i = 0; i < 2; ++i) {
    auto trials = Trials(*st, s.StageStudyName(i));
    ASSERT_EQ(trials.size(), 6u) << out_.str();
    EXPECT_EQ(CountState(trials, TrialState::kComplete) + CountState(trials, TrialState::kPruned),
              6);
    pruned += CountState(trials, TrialState::kPruned);
    for (const auto& t : trials) {
      ASSERT_TRUE(t.user_attrs.count("hparams"));
      EXPECT_EQ(t.user_attrs.at("hparams")["max_epochs"], 4);
    }
  }
  EXPECT_GE(pruned, 1) << out_.str();

  // The second stage ran on the incumbent: its lr is re-tuned, its quality searched.
  auto base_best = Trials(*st, "t/base");
  Json optuna = ReadWithOptuna(s.storage_url);
  for (int i = 0; i < 2; ++i) {
    const std::string name = s.StageStudyName(i);
    ASSERT_TRUE(optuna.contains(name)) << optuna.dump();
    auto ours = Trials(*st, name);
    const Json& theirs = optuna[name];
    ASSERT_EQ(theirs["states"].size(), ours.size());
    for (size_t k = 0; k < ours.size(); ++k) {
      EXPECT_EQ(theirs["states"][k], TrialStateName(ours[k].state));
      EXPECT_EQ(theirs["numbers"][k], static_cast<int64_t>(k));
      if (ours[k].state == TrialState::kComplete) {
        EXPECT_DOUBLE_EQ(theirs["values"][k].get<double>(), ours[k].value());
      }
    }
    EXPECT_TRUE(theirs["user_attrs"].contains("decision"));
    EXPECT_TRUE(theirs["user_attrs"].contains("incumbent"));
  }
  // The incumbent's value is the best COMPLETE value among the accepted stages.
  double best0 = 1e9;
  for (const auto& t : base_best) {
    if (t.state == TrialState::kComplete) best0 = std::min(best0, t.value());
  }
  EXPECT_DOUBLE_EQ(*r->decisions[0].best_value, best0);
  ASSERT_TRUE(r->incumbent.value.has_value());
  EXPECT_LE(*r->incumbent.value, best0);

  // The export run evaluated the incumbent on the test split and exported it.
  ASSERT_TRUE(r->final_result.is_object()) << out_.str();
  EXPECT_EQ(r->final_result["test"]["accuracy"], 0.75);
  EXPECT_TRUE(fs::exists(fs::path(s.run_dir) / "final" / "model" / "model.pt"));
  EXPECT_THAT(out_.str(), HasSubstr("test accuracy 0.75, macro F1 0.7"));
  EXPECT_THAT(out_.str(), HasSubstr("exported model: "));
  int prepares = 0, exports = 0;
  for (const auto& e : FakeLog()) {
    prepares += e.contains("prepare");
    exports += e.value("evaluate_test", false);
  }
  EXPECT_EQ(prepares, 1);
  EXPECT_EQ(exports, 1);

  // `mgr-tune status` reports both stages as done with their decisions.
  std::ostringstream status;
  ASSERT_TRUE(PrintStudyStatus(s, *st, status).ok());
  EXPECT_THAT(status.str(), HasSubstr("stage 0 base [t/base]: 6/6 done"));
  EXPECT_THAT(status.str(), HasSubstr("stage 1 quality [t/quality]: 6/6 done"));
  EXPECT_THAT(status.str(), HasSubstr("decision: kept"));
  EXPECT_THAT(status.str(), HasSubstr("incumbent: "));

  // Running the same command again changes nothing and runs no worker.
  const size_t runs = FakeLog().size();
  auto again = RunStudy(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FakeLog().size(), runs);
  EXPECT_EQ(Trials(*st, "t/base").size(), 6u);
}

// A stage that searches sample_rate gets one prepared cache per rate before its first trial
// (on demand: after stage 0's trials, which need only the dataset's rate); the trials run
// at both rates (the value lands in their hparams like any parameter).
TEST_F(OrchestratorTest, AStageSearchingSampleRatePreparesItsRatesBeforeItsFirstTrial) {
  StudyFile s =
      MakeStudy({{"stages",
                  {{{"name", "base"}, {"trials", 2}},
                   {{"name", "rate"},
                    {"trials", 8},
                    {"params",
                     {{"sample_rate", {{"type", "categorical"}, {"choices", {8000, 16000}}}},
                      {"clip_samples", {{"type", "categorical"}, {"choices", {4096, 2048}}}}}}}}}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();

  std::vector<std::string> prepared;  // data files, in order
  std::set<int64_t> rates_before_stage1;
  std::set<int64_t> rates_run;
  bool stage1_started = false;
  int stage0_runs = 0;
  for (const auto& e : FakeLog()) {
    if (e.contains("prepare")) {
      ASSERT_FALSE(stage1_started) << "a cache prepared after a stage-1 trial ran";
      // 22050 Hz before stage 0; the others after its 2 trials, not before the run.
      EXPECT_EQ(stage0_runs, prepared.empty() ? 0 : 2) << e.dump();
      prepared.push_back(e["prepare"].get<std::string>());
      std::ifstream in(e["prepare"].get<std::string>());
      auto d = std::make_optional(Json::parse(in, nullptr, false));
      ASSERT_TRUE(d->is_object()) << e.dump();
      rates_before_stage1.insert((*d)["data"]["sample_rate"].get<int64_t>());
      // The shortest clip a stage can use.
      EXPECT_EQ((*d)["data"]["clip_samples"], 2048);
    } else if (e["trial"]["study"] == "t/rate") {
      stage1_started = true;
      rates_run.insert(e["hparams"]["sample_rate"].get<int64_t>());
      EXPECT_TRUE(rates_before_stage1.count(e["hparams"]["sample_rate"].get<int64_t>()));
    } else if (e["trial"]["study"] == "t/base") {
      ++stage0_runs;
      EXPECT_FALSE(e["hparams"].contains("sample_rate"));
    }
  }
  // Each rate once: the searched ones and 22050 (the dataset's, for stage 0).
  const fs::path run = s.run_dir;
  EXPECT_EQ(prepared, (std::vector<std::string>{(run / "data-22050.json").string(),
                                                (run / "data-8000.json").string(),
                                                (run / "data-16000.json").string()}));
  EXPECT_EQ(rates_run, (std::set<int64_t>{8000, 16000})) << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("at 16000 Hz (clips of at least 2048 samples; log "));

  // The stage's trials store the rate they ran at.
  auto st = Open(s);
  std::set<int64_t> stored;
  for (const auto& t : Trials(*st, "t/rate"))
    stored.insert(t.user_attrs.at("hparams")["sample_rate"].get<int64_t>());
  EXPECT_EQ(stored, rates_run);
}

TEST_F(OrchestratorTest, CrashedWorkerFailsWithReasonAndIsRetriedFromItsCheckpoint) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 3}, {"crash_at_epoch", 2}}},
                           {"stages", {{{"name", "base"}, {"trials", 2}}}},
                           {"retries", 1},
                           {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto st = Open(s);
  auto trials = Trials(*st, "t/base");
  // Two chains: each crashed once (FAIL) and its retry completed.
  ASSERT_EQ(trials.size(), 4u) << out_.str();
  EXPECT_EQ(CountState(trials, TrialState::kFail), 2);
  EXPECT_EQ(CountState(trials, TrialState::kComplete), 2);
  for (const auto& t : trials) {
    if (t.state == TrialState::kFail) {
      EXPECT_THAT(t.user_attrs.at("fail_reason").get<std::string>(),
                  HasSubstr("killed by signal 6"));
      EXPECT_THAT(t.user_attrs.at("fail_reason").get<std::string>(),
                  HasSubstr("crashing at epoch 2"));
    } else {
      ASSERT_TRUE(t.system_attrs.count("failed_trial"));
      // Epoch 1 came from the crashed attempt, 2 and 3 from the resumed one.
      EXPECT_EQ(t.intermediate_values.size(), 3u);
    }
  }
  int resumed = 0;
  for (const auto& e : FakeLog()) {
    if (e.contains("resumed_from") && e["resumed_from"] == 1) ++resumed;
  }
  EXPECT_EQ(resumed, 2);
}

// A retry that cannot see its checkpoint (another host, run_dir not shared) trains from
// epoch 1, keeps no epoch of the attempt before, and says why in its record.
TEST_F(OrchestratorTest, ARetryWithoutItsCheckpointTrainsFromEpochOneAndSaysSo) {
  StudyFile s = MakeStudy(
      {{"fixed", {{"max_epochs", 3}, {"crash_at_epoch", 3}, {"crash_loses_checkpoint", true}}},
       {"stages", {{{"name", "base"}, {"trials", 1}}}},
       {"retries", 1},
       {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto st = Open(s);
  auto trials = Trials(*st, "t/base");
  ASSERT_EQ(trials.size(), 2u) << out_.str();
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  const FrozenTrial& retry = trials[1];
  ASSERT_EQ(retry.state, TrialState::kComplete) << out_.str();
  EXPECT_THAT(retry.user_attrs.at("restarted").get<std::string>(), HasSubstr("no checkpoint at "));
  EXPECT_THAT(retry.user_attrs.at("restarted").get<std::string>(),
              HasSubstr("trained from epoch 1"));
  // Its own three epochs, once each: val_loss(epoch) = 0.5 + quality + 1 / epoch.
  const Json& epochs = retry.user_attrs.at("epochs");
  ASSERT_EQ(epochs.size(), 3u) << epochs.dump();
  for (int e = 1; e <= 3; ++e) EXPECT_EQ(epochs[e - 1]["epoch"], e);
  ASSERT_EQ(retry.intermediate_values.size(), 3u);
  const double quality = std::fabs(std::log10(retry.params.at("lr")) + 2.5);
  EXPECT_DOUBLE_EQ(retry.intermediate_values.at(1), 0.5 + quality + 1.0);
  std::vector<int> resumed_from;
  for (const auto& e : FakeLog()) {
    if (e.contains("trial")) resumed_from.push_back(e.value("resumed_from", -1));
  }
  EXPECT_EQ(resumed_from, (std::vector<int>{0, 0}));
  EXPECT_THAT(out_.str(), HasSubstr("trained from epoch 1"));
}

TEST_F(OrchestratorTest, FailingTrialIsRetriedUpToTheLimit) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 3}, {"fail_at_epoch", 1}}},
                           {"stages", {{{"name", "base"}, {"trials", 1}}}},
                           {"retries", 2},
                           {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto trials = Trials(*Open(s), "t/base");
  ASSERT_EQ(trials.size(), 3u);  // the trial and its 2 retries
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::kFail);
    EXPECT_THAT(t.user_attrs.at("fail_reason").get<std::string>(),
                HasSubstr("internal: fail_at_epoch reached"));
  }
  EXPECT_EQ(trials[2].system_attrs.at("retry_history"), Json({0, 1}));
  EXPECT_FALSE(r->decisions[0].accepted);
  EXPECT_THAT(r->decisions[0].summary, HasSubstr("no trial completed"));
}

TEST_F(OrchestratorTest, OutOfMemoryIsNotRetried) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 3}, {"oom_at_epoch", 2}, {"batch_size", 96}}},
                           {"stages", {{{"name", "base"}, {"trials", 1}}}},
                           {"retries", 2},
                           {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto trials = Trials(*Open(s), "t/base");
  ASSERT_EQ(trials.size(), 1u);  // retries: 2, yet no retry
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  const std::string reason = trials[0].user_attrs.at("fail_reason").get<std::string>();
  EXPECT_THAT(reason, HasSubstr("oom: out of memory on cuda:0 at batch_size 96"));
  EXPECT_THAT(reason, HasSubstr("not retried"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("retried as")));
}

TEST_F(OrchestratorTest, LinesThatAreNotEventsAreLoggedAndIgnored) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 2}, {"noise", true}}},
                           {"stages", {{{"name", "base"}, {"trials", 1}}}},
                           {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(out_.str(),
              HasSubstr("warning: base #0 wrote a non-event line: fake_worker: not an event"));
  EXPECT_THAT(out_.str(), HasSubstr("warning: base #0 wrote a malformed event: \"epoch\" event: "
                                    "field \"epoch\" is not an integer"));
  auto trials = Trials(*Open(s), "t/base");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete) << out_.str();
  EXPECT_EQ(trials[0].intermediate_values.size(), 2u);  // the malformed epoch was not reported
}

TEST_F(OrchestratorTest, TimeoutStopsThenKillsAndFails) {
  StudyFile s = MakeStudy({{"fixed", {{"hang", true}}},
                           {"stages", {{{"name", "base"}, {"trials", 1}}}},
                           {"trial_timeout", 0.5},
                           {"kill_grace", 0.3},
                           {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto trials = Trials(*Open(s), "t/base");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_THAT(trials[0].user_attrs.at("fail_reason").get<std::string>(), HasSubstr("timeout"));
}

TEST_F(OrchestratorTest, FourGpusRunOneTrialEachAtATime) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 2}, {"sleep_per_epoch", 0.15}}},
                           {"workers", {{"gpus", "auto"}, {"trials_per_gpu", 1}}},
                           {"stages", {{{"name", "base"}, {"trials", 12}}}},
                           {"export", false}});
  FixedGpuDiscovery four({"0", "1", "2", "3"});
  auto r = RunStudy(s, &four);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_gpu;
  for (const auto& e : FakeLog()) {
    if (!e.contains("start")) continue;
    ASSERT_TRUE(e["cuda"].is_string());
    by_gpu[e["cuda"].get<std::string>()].push_back(
        {e["start"].get<int64_t>(), e["end"].get<int64_t>()});
  }
  EXPECT_EQ(by_gpu.size(), 4u);
  int total = 0;
  for (auto& [gpu, spans] : by_gpu) {
    EXPECT_TRUE(gpu == "0" || gpu == "1" || gpu == "2" || gpu == "3") << gpu;
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) {
      EXPECT_GE(spans[i].first, spans[i - 1].second) << "two trials at once on GPU " << gpu;
    }
    total += spans.size();
  }
  EXPECT_EQ(total, 12);
}

TEST_F(OrchestratorTest, TwoTrialsPerGpuShareOneGpu) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 3}, {"sleep_per_epoch", 0.2}}},
                           {"workers", {{"gpus", "auto"}, {"trials_per_gpu", 2}}},
                           {"stages", {{{"name", "base"}, {"trials", 4}}}},
                           {"export", false}});
  FixedGpuDiscovery one({"GPU-8f1c2d3e"});
  auto r = RunStudy(s, &one);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const auto& e : FakeLog()) {
    if (!e.contains("start")) continue;
    EXPECT_EQ(e["cuda"], "GPU-8f1c2d3e");  // the UUID is passed on as it is
    spans.push_back({e["start"].get<int64_t>(), e["end"].get<int64_t>()});
  }
  ASSERT_EQ(spans.size(), 4u);
  std::sort(spans.begin(), spans.end());
  // Two workers at once on the one GPU: the second trial starts before the first ends,
  // and never three at once.
  EXPECT_LT(spans[1].first, spans[0].second);
  for (size_t i = 2; i < spans.size(); ++i) {
    int running = 0;
    for (size_t j = 0; j < i; ++j) running += spans[j].second > spans[i].first;
    EXPECT_LE(running, 1) << "three trials at once on a GPU with trials_per_gpu 2";
  }
  // Each trial names its worker (the report's timeline), and the run ends with the report.
  for (const auto& t : Trials(*Open(s), "t/base")) {
    EXPECT_EQ(t.system_attrs.at("worker"), "GPU-8f1c2d3e");
  }
  const fs::path report = fs::path(s.run_dir) / "report.html";
  EXPECT_TRUE(fs::is_regular_file(report));
  EXPECT_THAT(out_.str(), HasSubstr("report: " + report.string()));
}

TEST_F(OrchestratorTest, SigkillMidStudyThenRerunFinishesTheExactBudget) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 5}, {"sleep_per_epoch", 0.2}}},
                           {"stages", {{{"name", "base"}, {"trials", 6}}}},
                           {"export", false}});
  pid_t child = ForkRun(s, (dir_ / "run1.txt").string());
  auto st = Open(s);
  // Wait until one trial is complete and others are running mid-way.
  std::map<int64_t, double> complete_before;
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto id = st->GetStudyId("t/base");
    if (!id.ok()) continue;
    auto trials = *st->GetAllTrials(*id);
    int running_mid = 0;
    complete_before.clear();
    for (const auto& t : trials) {
      if (t.state == TrialState::kComplete) complete_before[t.number] = t.value();
      if (t.state == TrialState::kRunning && t.intermediate_values.size() >= 2) ++running_mid;
    }
    if (!complete_before.empty() && running_mid >= 1) break;
  }
  ASSERT_FALSE(complete_before.empty());
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << out_.str();
  auto trials = Trials(*st, "t/base");
  std::set<int64_t> numbers;
  std::map<int64_t, TrialState> chain_end;  // root number -> state of its last trial
  for (const auto& t : trials) {
    EXPECT_TRUE(numbers.insert(t.number).second) << "number used twice: " << t.number;
    chain_end[ChainRootNumber(t)] = t.state;
    EXPECT_NE(t.state, TrialState::kRunning);
    EXPECT_NE(t.state, TrialState::kWaiting);
  }
  EXPECT_EQ(chain_end.size(), 6u) << out_.str();
  for (const auto& [root, state] : chain_end)
    EXPECT_EQ(state, TrialState::kComplete) << "chain " << root;
  EXPECT_EQ(CountState(trials, TrialState::kComplete), 6);
  // No finished trial was lost or changed.
  for (const auto& [number, value] : complete_before) {
    EXPECT_EQ(trials[number].state, TrialState::kComplete);
    EXPECT_DOUBLE_EQ(trials[number].value(), value);
  }
  // The interrupted trials resumed from their checkpoints, not from epoch 0.
  int resumed = 0;
  for (const auto& e : FakeLog()) resumed += e.value("resumed_from", 0) > 0;
  EXPECT_GE(resumed, 1);
  EXPECT_THAT(out_.str(), HasSubstr("stale trial"));
}

TEST_F(OrchestratorTest, SigintStopsAtACheckpointAndTheNextRunResumes) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 6}, {"sleep_per_epoch", 0.2}}},
                           {"stages", {{{"name", "base"}, {"trials", 3}}}},
                           {"export", false}});
  pid_t child = ForkRun(s, (dir_ / "run1.txt").string());
  auto st = Open(s);
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto id = st->GetStudyId("t/base");
    if (!id.ok()) continue;
    bool mid = false;
    auto trials = st->GetAllTrials(*id);  // a named Result: `: *F()` would dangle
    if (!trials.ok()) continue;
    for (const auto& t : *trials) mid = mid || t.intermediate_values.size() >= 2;
    if (mid) break;
  }
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  auto trials = Trials(*st, "t/base");
  int waiting = CountState(trials, TrialState::kWaiting);
  EXPECT_GE(waiting, 1);
  EXPECT_EQ(CountState(trials, TrialState::kRunning), 0);
  for (const auto& t : trials) {
    if (t.state == TrialState::kFail) {
      EXPECT_THAT(t.user_attrs.at("fail_reason").get<std::string>(), HasSubstr("interrupted"));
    }
  }
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  trials = Trials(*st, "t/base");
  std::map<int64_t, TrialState> chain_end;
  for (const auto& t : trials) chain_end[ChainRootNumber(t)] = t.state;
  EXPECT_EQ(chain_end.size(), 3u);
  for (const auto& [root, state] : chain_end) EXPECT_EQ(state, TrialState::kComplete);
  int resumed = 0;
  for (const auto& e : FakeLog()) resumed += e.value("resumed_from", 0) > 0;
  EXPECT_GE(resumed, 1);
}

TEST_F(OrchestratorTest, TwoOrchestratorsShareTheBudget) {
  StudyFile s =
      // 0.5 s epochs: one orchestrator alone would need 6 s, so the second one starts (even
      // on a loaded machine) long before the first could finish the study by itself.
      MakeStudy({{"fixed", {{"max_epochs", 2}, {"sleep_per_epoch", 0.5}}},
                 {"stages",
                  {{{"name", "base"}, {"trials", 8}},
                   {{"name", "more"},
                    {"trials", 4},
                    {"params", {{"quality", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}}}}}}}},
                 {"export", false}});
  auto [a, b] = RunTwoOrchestrators(s);
  ASSERT_FALSE(HasFailure());  // an orchestrator failed
  auto st = Open(s);
  std::set<int64_t> orchestrators;
  std::map<std::string, int> runs_per_trial;
  for (const auto& e : FakeLog()) {
    if (!e.contains("start")) continue;
    orchestrators.insert(e["ppid"].get<int64_t>());
    ++runs_per_trial[e["trial"]["study"].get<std::string>() + "#" + e["trial"]["number"].dump()];
  }
  EXPECT_EQ(orchestrators, (std::set<int64_t>{a, b}))
      << "both orchestrators should have run trials; logs in " << dir_.string();
  for (const auto& [trial, n] : runs_per_trial) EXPECT_EQ(n, 1) << trial << " ran twice";
  for (auto [name, budget] : {std::pair<std::string, int>{"t/base", 8}, {"t/more", 4}}) {
    auto trials = Trials(*st, name);
    int complete = CountState(trials, TrialState::kComplete);
    EXPECT_EQ(complete, budget) << name;
    for (const auto& t : trials) {
      if (t.state != TrialState::kComplete) {
        EXPECT_THAT(t.user_attrs.at("fail_reason").get<std::string>(), HasSubstr("over budget"));
      }
    }
  }
}

// Each `epochs` entry is the fake worker's epoch event (tests/tuner/fake_worker.cc:
// val_loss = 0.5 + quality + 1 / epoch, train_loss = val_loss - 0.1, ...) without `event`,
// with `t` (seconds since the worker started).
double Num(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

void ExpectFakeEpoch(const Json& e, int epoch, double val_loss, int max_epochs, double sleep) {
  SCOPED_TRACE(e.dump());
  EXPECT_FALSE(e.contains("event"));
  EXPECT_EQ(e.value("epoch", -1), epoch);
  EXPECT_EQ(e.value("max_epochs", -1), max_epochs);
  EXPECT_DOUBLE_EQ(Num(e, "val_loss"), val_loss);
  EXPECT_DOUBLE_EQ(Num(e, "train_loss"), val_loss - 0.1);
  EXPECT_DOUBLE_EQ(Num(e, "train_accuracy"), 0.5);
  EXPECT_DOUBLE_EQ(Num(e, "val_accuracy"), 1.0 / (1.0 + val_loss));
  EXPECT_DOUBLE_EQ(Num(e, "val_macro_f1"), 0.9 / (1.0 + val_loss));
  EXPECT_DOUBLE_EQ(Num(e, "seconds"), sleep);
  EXPECT_GT(e.value("t", 0.0), 0.0);
}

TEST_F(OrchestratorTest, EveryEpochOfCompleteAndPrunedTrialsIsStoredAndOptunaReadsIt) {
  StudyFile s =
      MakeStudy({{"pruner", {{"type", "median"}, {"n_startup_trials", 1}, {"n_warmup_steps", 0}}},
                 {"fixed", {{"max_epochs", 4}, {"sleep_per_epoch", 0.05}}},
                 {"workers", {{"gpus", Json::array()}, {"cpu_workers", 1}}},
                 {"stages", {{{"name", "base"}, {"trials", 6}}}}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  auto st = Open(s);
  auto trials = Trials(*st, "t/base");
  ASSERT_EQ(trials.size(), 6u) << out_.str();
  EXPECT_GE(CountState(trials, TrialState::kPruned), 1) << out_.str();
  EXPECT_GE(CountState(trials, TrialState::kComplete), 1) << out_.str();
  for (const auto& t : trials) {
    SCOPED_TRACE("trial " + std::to_string(t.number));
    ASSERT_TRUE(t.user_attrs.count("epochs"));
    const Json& epochs = t.user_attrs.at("epochs");
    ASSERT_TRUE(epochs.is_array());
    // One entry per reported epoch, in order: all 4 when complete, fewer when pruned.
    ASSERT_EQ(epochs.size(), t.intermediate_values.size());
    EXPECT_EQ(epochs.size() == 4u, t.state == TrialState::kComplete);
    double last_t = 0;
    int epoch = 0;
    for (const auto& [step, value] : t.intermediate_values) {
      const Json& e = epochs[epoch];
      ++epoch;
      EXPECT_EQ(step, epoch);
      ExpectFakeEpoch(e, epoch, value, 4, 0.05);
      EXPECT_GE(e.value("t", 0.0), last_t);
      last_t = e.value("t", 0.0);
    }
  }

  // Debian's Python Optuna reads the same lists from the file.
  const std::string script = (dir_ / "epochs.py").string();
  std::ofstream(script) << R"(import json, sys
import optuna
# Debian's Optuna 3.1 predates the v3.2.0.a schema it reads: skip its version check.
storage = optuna.storages.RDBStorage(sys.argv[1], skip_compatibility_check=True)
study = optuna.load_study(study_name="t/base", storage=storage)
print(json.dumps({t.number: t.user_attrs["epochs"] for t in study.trials}))
)";
  int rc = 0;
  const std::string text = RunPython(script, s.storage_url, &rc);
  ASSERT_EQ(rc, 0) << text;
  Json optuna = Json::parse(text, nullptr, false);
  ASSERT_TRUE(optuna.is_object()) << text;
  ASSERT_EQ(optuna.size(), trials.size());
  for (const auto& t : trials) {
    EXPECT_EQ(optuna[std::to_string(t.number)], t.user_attrs.at("epochs")) << t.number;
  }

  // The final test evaluation, with per-class F1 from the fake's precision and recall.
  ASSERT_TRUE(r->final_result.is_object()) << out_.str();
  const Json& test = r->final_result["test"];
  ASSERT_TRUE(test.contains("f1")) << test.dump();
  ASSERT_EQ(test["f1"].size(), 2u);
  EXPECT_DOUBLE_EQ(test["f1"][0].get<double>(), 2 * 0.8 * 0.75 / (0.8 + 0.75));
  EXPECT_DOUBLE_EQ(test["f1"][1].get<double>(), 2 * 0.7 * 0.65 / (0.7 + 0.65));
  EXPECT_EQ(test["classes"], Json({"Rock", "Pop"}));
  EXPECT_EQ(test["confusion"], Json({{3, 1}, {1, 3}}));
  auto attrs = st->GetStudyUserAttrs(*st->GetStudyId("t/base"));
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("final_result"), r->final_result);

  // The stage's decision is its optuna-dashboard note.
  auto note = LoadDashboardNote(*st, *st->GetStudyId("t/base"));
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_THAT(*note, HasSubstr("## Stage 1 of 1: base — kept"));
  EXPECT_THAT(*note, HasSubstr(r->decisions[0].summary));
}

TEST_F(OrchestratorTest, AResumedTrialsEpochsContinueTheListOfTheAttemptItReplaces) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 3}, {"crash_at_epoch", 2}}},
                           {"stages", {{{"name", "base"}, {"trials", 1}}}},
                           {"retries", 1},
                           {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto trials = Trials(*Open(s), "t/base");
  ASSERT_EQ(trials.size(), 2u) << out_.str();
  const FrozenTrial &crashed = trials[0], &resumed = trials[1];
  ASSERT_EQ(crashed.state, TrialState::kFail);
  ASSERT_EQ(resumed.state, TrialState::kComplete);
  const double lr = crashed.user_attrs.at("hparams").at("lr").get<double>();
  const double quality = std::fabs(std::log10(lr) + 2.5);  // the fake's default
  // The crashed attempt ended its first epoch, then died in the second.
  const Json& before = crashed.user_attrs.at("epochs");
  ASSERT_EQ(before.size(), 1u);
  ExpectFakeEpoch(before[0], 1, 0.5 + quality + 1.0, 3, 0.02);
  // Its retry resumed from the checkpoint: epoch 1 carried over as it was, 2 and 3 its own.
  const Json& after = resumed.user_attrs.at("epochs");
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0], before[0]);
  for (int epoch = 2; epoch <= 3; ++epoch) {
    ExpectFakeEpoch(after[epoch - 1], epoch, 0.5 + quality + 1.0 / epoch, 3, 0.02);
  }
}

TEST_F(OrchestratorTest, WorkerThatCannotStartIsAnError) {
  StudyFile s = MakeStudy({{"export", false}});
  OrchestratorOptions o;
  o.worker_command = {"/nonexistent/mgr-train"};
  o.out = &out_;
  Orchestrator orch(s, Open(s), o);
  auto r = orch.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/mgr-train"));
}

// Worker runs of each stage study, from the fake worker's log (export runs excluded).
std::map<std::string, int> RunsPerStage(const std::vector<Json>& log) {
  std::map<std::string, int> runs;
  for (const auto& e : log) {
    if (e.contains("start") && !e.value("evaluate_test", false))
      ++runs[e["trial"]["study"].get<std::string>()];
  }
  return runs;
}

// A failed prepare stops the run before any trial, with its exit and its log named.
TEST_F(OrchestratorTest, APrepareFailureStopsTheRunNamingItsLog) {
  StudyFile s = MakeStudy({{"export", false}});
  setenv("MGR_FAKE_PREPARE_FAIL", "1", 1);
  auto r = RunStudy(s);
  unsetenv("MGR_FAKE_PREPARE_FAIL");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("prepare --data"));
  EXPECT_THAT(r.status().message(), HasSubstr("exit code 3"));
  EXPECT_THAT(r.status().message(), HasSubstr("cannot write the clip cache"));
  EXPECT_THAT(r.status().message(), HasSubstr("prepare-22050.log"));
  EXPECT_EQ(RunsPerStage(FakeLog()), (std::map<std::string, int>{}));
}

// Every study's sampler is seeded with the study-level "seed" (1), so the later stage's
// random stream repeats the base stage's, draw for draw: with its only new parameter a
// single choice (no draw), trial k proposes exactly base trial k's configuration. Each
// proposal is drawn again instead; every trial trains a configuration of its own.
TEST_F(OrchestratorTest, ASamplerThatRepeatsAMeasuredConfigurationIsDrawnAgain) {
  // Six configurations in all (lr from six choices; `tag` has one) for six trials: the
  // sampler's proposals collide (6!/6^6 = 1.5% chance that they would not), and each
  // collision is drawn again until the trial has a configuration nobody measured.
  const Json lr = {{"type", "categorical"},
                   {"choices", {1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2}},
                   {"low", nullptr},  // a merge patch: null removes the default's key
                   {"high", nullptr},
                   {"log", nullptr}};
  StudyFile s =
      MakeStudy({{"fixed", {{"tag", "a"}}},
                 {"retune", {{"lr", lr}}},
                 {"stages",
                  {{{"name", "base"}, {"trials", 3}},
                   {{"name", "tag"},
                    {"trials", 3},
                    {"params", {{"tag", {{"type", "categorical"}, {"choices", {"a"}}}}}}}}},
                 {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  auto st = Open(s);
  auto base = Trials(*st, "t/base"), tag = Trials(*st, "t/tag");
  ASSERT_EQ(base.size(), 3u);
  ASSERT_EQ(tag.size(), 3u);
  EXPECT_NE(out_.str().find("already measured; drawn"), std::string::npos) << out_.str();
  std::set<Json> configs;
  for (const auto* trials : {&base, &tag}) {
    for (const auto& t : *trials) {
      SCOPED_TRACE(t.number);
      ASSERT_EQ(t.state, TrialState::kComplete);
      EXPECT_EQ(t.user_attrs.count("reused_from"), 0u);
      const Json& h = t.user_attrs.at("hparams");
      EXPECT_TRUE(configs.insert(h).second) << "configuration trained twice: " << h.dump();
      // The stored parameter (what Optuna and TPE see) is the value that was trained.
      EXPECT_EQ(t.Param("lr"), h.at("lr"));
    }
  }
  EXPECT_EQ(configs.size(), 6u);
  EXPECT_EQ(RunsPerStage(FakeLog()), (std::map<std::string, int>{{"t/base", 3}, {"t/tag", 3}}));
}

// A stage whose search space holds only the incumbent's configuration: no draw can give
// another, so each trial copies the incumbent's result (value, epochs, reused_from) and
// none trains; the copies use the stage's budget, so the stage ends.
TEST_F(OrchestratorTest, AStageWithNothingNewToDrawCopiesTheIncumbentsResult) {
  StudyFile s =
      MakeStudy({{"fixed", {{"tag", "a"}}},
                 {"stages",
                  {{{"name", "base"}, {"trials", 3}},
                   {{"name", "tag"},
                    {"trials", 3},
                    {"retune", Json::object()},
                    {"params", {{"tag", {{"type", "categorical"}, {"choices", {"a"}}}}}}}}},
                 {"export", false}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  ASSERT_EQ(r->decisions.size(), 2u);
  EXPECT_FALSE(r->decisions[1].accepted);
  EXPECT_EQ(r->incumbent.stage, "base");
  const int64_t best = r->decisions[0].best_trial_number;
  auto st = Open(s);
  auto base = Trials(*st, "t/base"), tag = Trials(*st, "t/tag");
  ASSERT_EQ(tag.size(), 3u) << out_.str();
  const FrozenTrial& source = base.at(best);
  for (const auto& t : tag) {
    SCOPED_TRACE(t.number);
    ASSERT_EQ(t.state, TrialState::kComplete);
    EXPECT_EQ(t.user_attrs.at("reused_from"), "t/base#" + std::to_string(best));
    EXPECT_EQ(t.values, source.values);
    EXPECT_EQ(t.intermediate_values, source.intermediate_values);
    EXPECT_EQ(t.user_attrs.at("epochs"), source.user_attrs.at("epochs"));
    EXPECT_EQ(t.user_attrs.at("hparams"), source.user_attrs.at("hparams"));
    EXPECT_EQ(t.Param("tag"), "a");
  }
  EXPECT_THAT(out_.str(), HasSubstr("has the configuration of t/base#" + std::to_string(best)));
  EXPECT_EQ(RunsPerStage(FakeLog()), (std::map<std::string, int>{{"t/base", 3}}));

  // Python Optuna sees the copies as COMPLETE trials with the attribute.
  const std::string script = (dir_ / "reused.py").string();
  std::ofstream(script) << R"(import json, sys
import optuna
storage = optuna.storages.RDBStorage(sys.argv[1], skip_compatibility_check=True)
study = optuna.load_study(study_name="t/tag", storage=storage)
print(json.dumps([[t.state.name, t.value, t.user_attrs.get("reused_from")] for t in study.trials]))
)";
  int rc = 0;
  const std::string text = RunPython(script, s.storage_url, &rc);
  ASSERT_EQ(rc, 0) << text;
  const Json want = {"COMPLETE", source.value(), "t/base#" + std::to_string(best)};
  EXPECT_EQ(Json::parse(text), Json({want, want, want})) << text;
}

// An enqueued configuration is deliberate: it is not drawn again. The second copy of one
// already measured copies the first's result instead of training.
TEST_F(OrchestratorTest, AnEnqueuedConfigurationAlreadyMeasuredCopiesItsResult) {
  StudyFile s = MakeStudy({{"stages", {{{"name", "base"}, {"trials", 3}}}},
                           {"workers", {{"gpus", Json::array()}, {"cpu_workers", 1}}},
                           {"export", false}});
  {
    auto sampler = MakeSampler(Json{{"type", "random"}});
    auto pruner = MakePruner(Json{{"type", "nop"}});
    ASSERT_TRUE(sampler.ok() && pruner.ok());
    auto study = Study::CreateOrLoad(Open(s), "t/base", {StudyDirection::kMinimize},
                                     std::move(*sampler), std::move(*pruner));
    ASSERT_TRUE(study.ok()) << study.status().ToString();
    ASSERT_TRUE((*study)->Enqueue({{"lr", 0.003}}).ok());
    ASSERT_TRUE((*study)->Enqueue({{"lr", 0.003}}).ok());
  }
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  auto trials = Trials(*Open(s), "t/base");
  ASSERT_EQ(trials.size(), 3u) << out_.str();
  for (const auto& t : trials) ASSERT_EQ(t.state, TrialState::kComplete) << t.number;
  EXPECT_EQ(trials[0].user_attrs.count("reused_from"), 0u);
  EXPECT_EQ(trials[1].user_attrs.at("reused_from"), "t/base#0");
  EXPECT_EQ(trials[1].Param("lr"), 0.003);
  EXPECT_EQ(trials[1].values, trials[0].values);
  EXPECT_EQ(trials[2].user_attrs.count("reused_from"), 0u);
  EXPECT_NE(trials[2].Param("lr"), 0.003);
  EXPECT_EQ(RunsPerStage(FakeLog()), (std::map<std::string, int>{{"t/base", 2}}));
  // The copy ties its source; the source (lower number) stays the best trial.
  EXPECT_NE(r->incumbent.trial_number, 1);
}

// The fake worker's runs of the final training (study "t/final"), in the order they ended.
std::vector<Json> FinalRuns(const std::vector<Json>& log) {
  std::vector<Json> runs;
  for (const auto& e : log) {
    if (e.contains("trial") && e["trial"].value("study", "") == "t/final") runs.push_back(e);
  }
  return runs;
}

std::set<int64_t> SeedsOf(const std::vector<Json>& runs) {
  std::set<int64_t> seeds;
  for (const auto& e : runs) seeds.insert(e["seed"].get<int64_t>());
  return seeds;
}

// `final` trains the incumbent once per seed with the final budget, two at a time on the
// two CPU slots; result.json summarises the fake's seed-dependent test metrics and keeps
// the seed with the best validation loss (not the best test accuracy).
TEST_F(OrchestratorTest, FinalTrainingRunsEverySeedAndSummarisesTheTestMetrics) {
  StudyFile s = MakeStudy({{"fixed", {{"seed_effect", 0.01}}},
                           {"final", {{"max_epochs", 5}, {"patience", 4}, {"seeds", 3}}}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  const std::string out = out_.str();
  const std::vector<Json> runs = FinalRuns(FakeLog());
  ASSERT_EQ(runs.size(), 3u) << out;
  EXPECT_EQ(SeedsOf(runs), (std::set<int64_t>{0, 1, 2}));
  for (const auto& e : runs) {
    SCOPED_TRACE(e.dump());
    EXPECT_EQ(e["hparams"]["max_epochs"], 5);
    EXPECT_EQ(e["hparams"]["patience"], 4);
    EXPECT_EQ(e["hparams"]["lr"], r->incumbent.hparams.at("lr"));
    EXPECT_EQ(e["resumed_from"], 0);  // from scratch, not from the incumbent's checkpoint
    EXPECT_EQ(e["evaluate_test"], true);
  }
  for (const auto& e : FakeLog()) {  // no export of the incumbent's checkpoint
    if (e.contains("trial")) {
      EXPECT_NE(e["trial"]["study"], "t/export");
    }
  }
  // Two seeds started on the two slots before any finished.
  const size_t first_done = out.find(" complete: best val_loss");
  EXPECT_LT(out.find("start final seed 0"), first_done) << out;
  EXPECT_LT(out.find("start final seed 1"), first_done) << out;

  // The fake: quality = |log10(lr) + 2.5| + 0.01 * seed, val_loss(epoch) = 0.5 + quality +
  // 1 / epoch (best at the last, 5), test loss = best val_loss, accuracy 0.75 + 0.01 * seed,
  // macro F1 0.7 - 0.01 * seed. Over seeds 0, 1, 2: means 0.76, 0.69, L0 + 0.01, and a
  // sample standard deviation of 0.01 for each.
  const double lr = r->incumbent.hparams.at("lr").get<double>();
  const double l0 = 0.5 + std::fabs(std::log10(lr) + 2.5) + 1.0 / 5;
  const Json& res = r->final_result;
  ASSERT_TRUE(res.is_object()) << out;
  std::ifstream in(fs::path(s.run_dir) / "final" / "result.json");
  EXPECT_EQ(Json::parse(in), res);
  const Json& summary = res.at("summary");
  auto expect_spread = [&](const char* key, double mean, double lo, double hi) {
    SCOPED_TRACE(key);
    const Json& m = summary.at(key);
    EXPECT_EQ(m.at("n"), 3);
    EXPECT_NEAR(m.at("mean").get<double>(), mean, 1e-12);
    EXPECT_NEAR(m.at("std").get<double>(), 0.01, 1e-12);
    EXPECT_NEAR(m.at("min").get<double>(), lo, 1e-12);
    EXPECT_NEAR(m.at("max").get<double>(), hi, 1e-12);
  };
  expect_spread("accuracy", 0.76, 0.75, 0.77);
  expect_spread("macro_f1", 0.69, 0.68, 0.70);
  expect_spread("loss", l0 + 0.01, l0, l0 + 0.02);
  ASSERT_EQ(res.at("seeds").size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const Json& seed = res["seeds"][k];
    EXPECT_EQ(seed.at("seed"), k);
    EXPECT_NEAR(seed.at("best_val_loss").get<double>(), l0 + 0.01 * k, 1e-12);
    EXPECT_EQ(seed.at("model_path"),
              (fs::path(s.run_dir) / "final" / ("seed-" + std::to_string(k)) / "model" / "model.pt")
                  .string());
    EXPECT_EQ(seed.at("epochs_run"), 5);
  }
  // Seed 2 has the best test accuracy; seed 0 the best validation loss, and it is kept.
  EXPECT_EQ(res.at("best_seed"), 0);
  EXPECT_EQ(res.at("selected_by"), "val_loss");  // the fake sends no `monitor`
  EXPECT_NEAR(res.at("best_monitored").get<double>(), l0, 1e-12);
  EXPECT_EQ(res.at("test"), res["seeds"][0]["test"]);
  EXPECT_EQ(res.at("test").at("accuracy"), 0.75);
  EXPECT_NEAR(res.at("best_val_loss").get<double>(), l0, 1e-12);
  const fs::path model = fs::path(s.run_dir) / "final" / "model" / "model.pt";
  EXPECT_EQ(res.at("model_path"), model.string());
  EXPECT_TRUE(fs::exists(model));
  EXPECT_FALSE(res.contains("failed_seeds"));
  auto st = Open(s);
  auto attrs = st->GetStudyUserAttrs(*st->GetStudyId("t/base"));
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("final_result"), res);
  EXPECT_THAT(out, HasSubstr("final training: 3 of 3 seeds finished (max_epochs 5, patience 4)"));
  EXPECT_THAT(out, HasSubstr("  accuracy 0.76 +- 0.01 (0.75 .. 0.77), macro F1 0.69 +- 0.01"));
  EXPECT_THAT(out, HasSubstr("best seed 0 by val_loss ("));
  EXPECT_THAT(out, HasSubstr("test accuracy 0.75, macro F1 0.7,"));

  // A rerun finds every seed done: no worker starts, the same result.
  const size_t runs_before = FakeLog().size();
  out_.str("");
  auto again = RunStudy(s);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(FakeLog().size(), runs_before) << out_.str();
  EXPECT_EQ(again->final_result, res);
  EXPECT_THAT(out_.str(), HasSubstr("3 seeds, max_epochs 5, patience 4, 3 done by an earlier run"));
}

// With `monitor: val_track_loss` the seeds are ranked by the loss that kept their weights:
// the fake's highest seed has the lowest track loss (and the highest val_loss), and is kept.
TEST_F(OrchestratorTest, FinalTrainingKeepsTheSeedWithTheBestMonitoredLoss) {
  StudyFile s = MakeStudy({{"fixed", {{"seed_effect", 0.01}, {"monitor", "val_track_loss"}}},
                           {"final", {{"max_epochs", 5}, {"patience", 4}, {"seeds", 3}}}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  const Json& res = r->final_result;
  ASSERT_TRUE(res.is_object()) << out_.str();
  const double lr = r->incumbent.hparams.at("lr").get<double>();
  const double l0 = 0.5 + std::fabs(std::log10(lr) + 2.5) + 1.0 / 5;
  // Seed k: val_loss l0 + 0.01 k, val_track_loss l0 + 0.01 k - 0.03 k = l0 - 0.02 k.
  EXPECT_EQ(res.at("best_seed"), 2);
  EXPECT_EQ(res.at("selected_by"), "val_track_loss");
  EXPECT_NEAR(res.at("best_monitored").get<double>(), l0 - 0.04, 1e-12);
  EXPECT_NEAR(res.at("best_val_loss").get<double>(), l0 + 0.02, 1e-12);
  EXPECT_EQ(res.at("test"), res["seeds"][2]["test"]);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(res["seeds"][k].at("monitor"), "val_track_loss");
    EXPECT_NEAR(res["seeds"][k].at("best_monitored").get<double>(), l0 - 0.02 * k, 1e-12);
  }
  EXPECT_THAT(out_.str(), HasSubstr("complete: best val_track_loss "));
  EXPECT_THAT(out_.str(), HasSubstr("best seed 2 by val_track_loss ("));
}

// A seed that fails is reported; the others finish and are summarised. The next run trains
// only that seed.
TEST_F(OrchestratorTest, AFailedFinalSeedIsReportedAndTheRerunTrainsOnlyIt) {
  StudyFile s = MakeStudy({{"final", {{"max_epochs", 4}, {"patience", 2}, {"seeds", {4, 7, 9}}}}});
  setenv("MGR_FAKE_FAIL_SEED", "7", 1);
  auto r = RunStudy(s);
  unsetenv("MGR_FAKE_FAIL_SEED");
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  EXPECT_EQ(SeedsOf(FinalRuns(FakeLog())), (std::set<int64_t>{4, 7, 9}));
  const Json& res = r->final_result;
  ASSERT_TRUE(res.is_object() && res.contains("summary")) << res.dump() << out_.str();
  EXPECT_EQ(res.at("failed_seeds"), Json({7}));
  ASSERT_EQ(res.at("seeds").size(), 3u);
  EXPECT_EQ(res["seeds"][1]["seed"], 7);
  EXPECT_THAT(res["seeds"][1]["error"].get<std::string>(), HasSubstr("fail_at_epoch reached"));
  EXPECT_EQ(res["summary"]["accuracy"]["n"], 2);
  EXPECT_EQ(res.at("best_seed"), 4);  // the same loss for every seed: the first listed
  EXPECT_THAT(out_.str(), HasSubstr("final seed 7 failed: fail_at_epoch reached"));
  EXPECT_THAT(out_.str(), HasSubstr("failed seeds [7]"));
  EXPECT_TRUE(fs::exists(fs::path(s.run_dir) / "final" / "result.json"));

  const size_t before = FakeLog().size();
  auto again = RunStudy(s);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  const std::vector<Json> log = FakeLog();
  ASSERT_EQ(log.size(), before + 1) << out_.str();
  EXPECT_EQ(log.back()["seed"], 7);
  EXPECT_EQ(again->final_result["summary"]["accuracy"]["n"], 3);
  EXPECT_FALSE(again->final_result.contains("failed_seeds"));
}

// Only the seeds without a result train: after a run with seed 1, `seeds: 3` (0, 1, 2)
// trains 0 and 2. A changed budget is another configuration: every seed trains again.
TEST_F(OrchestratorTest, ARerunTrainsOnlyTheSeedsNotFinishedForThisConfiguration) {
  StudyFile one = MakeStudy({{"final", {{"max_epochs", 4}, {"seeds", {1}}}}});
  auto r = RunStudy(one);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  EXPECT_EQ(SeedsOf(FinalRuns(FakeLog())), (std::set<int64_t>{1}));
  EXPECT_EQ(r->final_result["summary"]["accuracy"]["n"], 1);
  EXPECT_TRUE(r->final_result["summary"]["accuracy"]["std"].is_null());  // one seed: no spread

  fs::remove(log_);
  StudyFile three = MakeStudy({{"final", {{"max_epochs", 4}, {"seeds", 3}}}});
  r = RunStudy(three);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Json> runs = FinalRuns(FakeLog());
  EXPECT_EQ(runs.size(), 2u) << out_.str();
  EXPECT_EQ(SeedsOf(runs), (std::set<int64_t>{0, 2}));
  EXPECT_EQ(r->final_result["summary"]["accuracy"]["n"], 3);

  fs::remove(log_);
  out_.str("");
  StudyFile longer = MakeStudy({{"final", {{"max_epochs", 6}, {"seeds", 3}}}});
  r = RunStudy(longer);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  runs = FinalRuns(FakeLog());
  EXPECT_EQ(SeedsOf(runs), (std::set<int64_t>{0, 1, 2})) << out_.str();
  for (const auto& e : runs) EXPECT_EQ(e["resumed_from"], 0) << e.dump();
  EXPECT_THAT(out_.str(), HasSubstr("the configuration changed since the last run"));
  EXPECT_EQ(r->final_result["seeds"][0]["epochs_run"], 6);
}

// Two orchestrators on one study file and run_dir (two hosts on a shared filesystem, or a
// command started twice): each final seed trains once, in whichever process claimed it, and
// both end with the same summary.
TEST_F(OrchestratorTest, TwoOrchestratorsTrainEachFinalSeedOnceAndAgreeOnTheSummary) {
  StudyFile s = MakeStudy({{"fixed", {{"max_epochs", 2}, {"sleep_per_epoch", 0.3}}},
                           {"stages", {{{"name", "base"}, {"trials", 2}}}},
                           {"final", {{"max_epochs", 2}, {"seeds", 4}}}});
  RunTwoOrchestrators(s);
  ASSERT_FALSE(HasFailure());  // an orchestrator failed
  const std::vector<Json> runs = FinalRuns(FakeLog());
  EXPECT_EQ(runs.size(), 4u) << "a final seed trained twice; logs in " << dir_.string();
  EXPECT_EQ(SeedsOf(runs), (std::set<int64_t>{0, 1, 2, 3}));
  std::ifstream in(fs::path(s.run_dir) / "final" / "result.json");
  const Json res = Json::parse(in);
  EXPECT_EQ(res["summary"]["accuracy"]["n"], 4);
  auto st = Open(s);
  auto id = st->GetStudyId("t/base");
  ASSERT_TRUE(id.ok());
  auto attrs = st->GetStudyUserAttrs(*id);
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("final_result"), res);
}

// Without `final`, the incumbent's export (test evaluation, model) runs in one of them.
TEST_F(OrchestratorTest, TwoOrchestratorsExportTheIncumbentOnce) {
  // The export takes 1 s: the second orchestrator reaches it (a 0.2 s poll) while it runs.
  StudyFile s =
      MakeStudy({{"fixed", {{"max_epochs", 2}, {"sleep_per_epoch", 0.3}, {"sleep_test", 1.0}}},
                 {"stages", {{{"name", "base"}, {"trials", 2}}}}});
  RunTwoOrchestrators(s);
  ASSERT_FALSE(HasFailure());  // an orchestrator failed
  int exports = 0;
  for (const auto& e : FakeLog()) {
    exports += e.contains("trial") && e["trial"].value("study", "") == "t/export";
  }
  EXPECT_EQ(exports, 1) << "logs in " << dir_.string();
  EXPECT_TRUE(fs::exists(fs::path(s.run_dir) / "final" / "result.json"));
}

// A final run that crashes keeps its checkpoint: every seed failed, so there is no
// result.json; the next run resumes each seed after its last checkpointed epoch.
TEST_F(OrchestratorTest, AnInterruptedFinalSeedResumesFromItsCheckpoint) {
  StudyFile s = MakeStudy({{"fixed", {{"crash_at_epoch", 2}}},
                           {"stages", {{{"name", "base"}, {"trials", 2}}}},
                           {"final", {{"max_epochs", 4}, {"seeds", 2}}}});
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  EXPECT_EQ(r->final_result, Json({{"error", "every final run failed (seeds [0,1])"}}));
  EXPECT_FALSE(fs::exists(fs::path(s.run_dir) / "final" / "result.json"));
  EXPECT_THAT(out_.str(), HasSubstr("final training failed for every seed"));

  fs::remove(log_);
  auto again = RunStudy(s);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  const std::vector<Json> runs = FinalRuns(FakeLog());
  ASSERT_EQ(runs.size(), 2u) << out_.str();
  for (const auto& e : runs) EXPECT_EQ(e["resumed_from"], 1) << e.dump();
  EXPECT_EQ(again->final_result["summary"]["accuracy"]["n"], 2);
}

// Stages with one sampler.seed (the study's sampler {"type": "random", "seed": 1} for
// both) start at different points: each stage's seed mixes in the stage's study name, so
// the second stage does not propose the first stage's configurations again (issue #14;
// before, every proposal of stage "tag" repeated one of "base" and was drawn again).
TEST_F(OrchestratorTest, StagesWithOneSamplerSeedDrawDifferentStartupPoints) {
  StudyFile s =
      MakeStudy({{"fixed", {{"tag", "a"}}},
                 {"stages",
                  {{{"name", "base"}, {"trials", 4}},
                   {{"name", "tag"},
                    {"trials", 4},
                    {"params", {{"tag", {{"type", "categorical"}, {"choices", {"a"}}}}}}}}},
                 {"export", false}});
  ASSERT_EQ(s.stages[0].sampler, s.stages[1].sampler);
  auto r = RunStudy(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << out_.str();
  auto st = Open(s);
  auto base = Trials(*st, "t/base"), tag = Trials(*st, "t/tag");
  ASSERT_EQ(base.size(), 4u);
  ASSERT_EQ(tag.size(), 4u);
  EXPECT_THAT(out_.str(), Not(HasSubstr("already measured; drawn"))) << out_.str();
  std::set<double> lrs;
  for (const auto* trials : {&base, &tag}) {
    for (const auto& t : *trials) lrs.insert(t.Param("lr").get<double>());
  }
  EXPECT_EQ(lrs.size(), 8u);
}

}  // namespace
}  // namespace mgr
