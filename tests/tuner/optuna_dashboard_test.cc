// The real optuna-dashboard (PyPI, pinned in optuna_dashboard_venv.sh) on a database that
// the orchestrator writes with the fake worker: while the study runs and after it, its HTTP
// API shows the studies, trials, params and intermediate values that are in the store, and
// each stage's decision as the stage study's note (tuner/dashboard_note.h).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "studies/study.h"
#include "tests/test_util.h"
#include "tuner/dashboard_note.h"
#include "tuner/orchestrator.h"

namespace mgr {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kVenv = std::string(MGR_BINARY_DIR) + "/dashboard-venv";
const std::string kTests = std::string(MGR_SOURCE_DIR) + "/tests/tuner";

// "COMPLETE" -> "Complete", as the dashboard names states.
std::string DashboardState(TrialState s) {
  std::string name = TrialStateName(s);
  for (size_t i = 1; i < name.size(); ++i) name[i] = static_cast<char>(std::tolower(name[i]));
  return name;
}

class OptunaDashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    ASSERT_FALSE(dir_.path().empty());
    // Once per build folder; fails (never skips) when PyPI cannot be reached.
    std::string out;
    const int rc = testing_util::Shell(
        "bash '" + kTests + "/optuna_dashboard_venv.sh' '" + kVenv + "' 2>&1", &out);
    ASSERT_EQ(rc, 0) << out;
  }

  // What the dashboard's API shows for `url` (optuna_dashboard_probe.py).
  Json Probe(const std::string& url) {
    std::string out;
    const std::string log = dir_.path() + "/dashboard.log";
    const int rc = testing_util::Shell("'" + kVenv + "/bin/python' '" + kTests +
                                           "/optuna_dashboard_probe.py' '" + kVenv +
                                           "/bin/optuna-dashboard' '" + url + "' '" + log + "'",
                                       &out);
    EXPECT_EQ(rc, 0) << out << testing_util::ReadFile(log);
    Json j = Json::parse(out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << out;
    return j.is_object() ? j : Json::object();
  }

  static const Json* FindStudy(const Json& probe, const std::string& name) {
    if (!probe.contains("studies") || !probe["studies"].is_array()) return nullptr;
    for (const Json& s : probe["studies"]) {
      if (s.value("name", "") == name) return &s;
    }
    return nullptr;
  }

  testing_util::TempDir dir_;
};

TEST_F(OptunaDashboardTest, ShowsStudiesTrialsParamsIntermediateValuesAndNotes) {
  Json j = {
      {"name", "t"},
      {"dataset", {{"metadata", "tracks.csv"}, {"audio_dir", "audio"}, {"cache_dir", "cache"}}},
      {"model", {{"family", "nnet2"}}},
      // Slow epochs: the study runs for about 20 s, long enough to look at it mid-run even
      // when the dashboard takes seconds to start.
      {"fixed", {{"max_epochs", 5}, {"sleep_per_epoch", 1.0}}},
      {"retune", {{"lr", {{"type", "float"}, {"low", 1e-5}, {"high", 1.0}, {"log", true}}}}},
      {"sampler", {{"type", "random"}, {"seed", 1}}},
      {"pruner", {{"type", "median"}, {"n_startup_trials", 2}, {"n_warmup_steps", 0}}},
      {"stages",
       {{{"name", "base"}, {"trials", 4}},
        {{"name", "quality"},
         {"trials", 4},
         {"params", {{"quality", {{"type", "float"}, {"low", 0.0}, {"high", 3.0}}}}}}}},
      {"workers", {{"gpus", Json::array()}, {"cpu_workers", 2}}},
      {"heartbeat", {{"interval", 0.2}, {"grace", 5}}},
      {"export", false}};
  const std::string path = dir_.path() + "/study.json";
  std::ofstream(path) << j.dump(2);
  auto loaded = LoadStudyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const StudyFile s = *loaded;
  const std::string url = s.storage_url;

  // The orchestrator in a child process, so that the dashboard reads the file mid-run.
  const std::string run_log = dir_.path() + "/run.txt";
  pid_t child = fork();
  if (child == 0) {
    std::ofstream out(run_log);
    OrchestratorOptions o;
    o.worker_command = {MGR_FAKE_WORKER};
    o.out = &out;
    o.poll_seconds = 0.2;
    auto st = OpenStorage(url);
    if (!st.ok()) _exit(1);
    Orchestrator orch(s, std::shared_ptr<Storage>(std::move(*st)), o);
    auto r = orch.Run();
    out.flush();
    _exit(r.ok() ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  auto opened = OpenStorage(url);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::shared_ptr<Storage> st = std::move(*opened);
  bool started = false;
  for (int i = 0; i < 600 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto id = st->GetStudyId("t/base");
    if (!id.ok()) continue;
    auto trials = st->GetAllTrials(*id);
    if (!trials.ok()) continue;
    for (const auto& t : *trials) started = started || !t.intermediate_values.empty();
  }
  ASSERT_TRUE(started) << testing_util::ReadFile(run_log);

  // Mid-run: a running trial and the epochs reported so far.
  Json during = Probe(url);
  int status = 0;
  const bool still_running = waitpid(child, &status, WNOHANG) == 0;
  ASSERT_NE(FindStudy(during, "t/base"), nullptr) << during.dump();
  int running = 0, reported = 0;
  for (const Json& study : during["studies"]) {
    for (const Json& t : study["trials"]) {
      running += t["state"] == "Running";
      reported += !t["intermediate_values"].empty();
    }
  }
  if (still_running) {
    EXPECT_GE(running, 1) << during.dump();
    EXPECT_GE(reported, 1) << during.dump();
  }

  if (still_running) {
    ASSERT_EQ(waitpid(child, &status, 0), child);
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing_util::ReadFile(run_log);
  // The look mid-run must have been mid-run; else the study is too fast for this machine.
  ASSERT_TRUE(still_running) << "the study ended before the dashboard answered";

  // A long note with multi-byte characters, saved twice: the dashboard joins our chunks.
  auto notes = st->CreateStudy("notes", {StudyDirection::kMinimize});
  ASSERT_TRUE(notes.ok());
  std::string long_note;
  for (int i = 0; i < 700; ++i) long_note += "é—x ";  // 2800 characters: 2 chunks after 3
  ASSERT_TRUE(SaveDashboardNote(*st, *notes, long_note + long_note).ok());
  ASSERT_TRUE(SaveDashboardNote(*st, *notes, long_note).ok());

  Json after = Probe(url);
  for (size_t i = 0; i < s.stages.size(); ++i) {
    const std::string name = s.StageStudyName(i);
    SCOPED_TRACE(name);
    const Json* study = FindStudy(after, name);
    ASSERT_NE(study, nullptr) << after.dump();
    const int64_t id = *st->GetStudyId(name);
    EXPECT_EQ((*study)["study_id"], id);
    EXPECT_TRUE((*study)["user_attrs"].contains("decision"));
    auto ours = st->GetAllTrials(id);
    ASSERT_TRUE(ours.ok());
    const Json& theirs = (*study)["trials"];
    ASSERT_EQ(theirs.size(), ours->size());
    for (size_t k = 0; k < ours->size(); ++k) {
      const FrozenTrial& t = (*ours)[k];
      const Json& d = theirs[k];
      SCOPED_TRACE(d.dump());
      EXPECT_EQ(d["number"], t.number);
      EXPECT_EQ(d["state"], DashboardState(t.state));
      ASSERT_EQ(d["params"].size(), t.params.size());
      for (const auto& [param, value] : t.params) {
        ASSERT_TRUE(d["params"].contains(param));
        // Float parameters: the internal value is the external one; Python's str()
        // round-trips.
        EXPECT_DOUBLE_EQ(std::stod(d["params"][param].get<std::string>()), value);
      }
      ASSERT_EQ(d["intermediate_values"].size(), t.intermediate_values.size());
      size_t n = 0;
      for (const auto& [step, value] : t.intermediate_values) {
        EXPECT_EQ(d["intermediate_values"][n][0], step);
        EXPECT_DOUBLE_EQ(d["intermediate_values"][n][1].get<double>(), value);
        ++n;
      }
      EXPECT_TRUE(d["user_attrs"].contains("epochs"));
      if (t.state == TrialState::kComplete) {
        EXPECT_DOUBLE_EQ(d["values"][0].get<double>(), t.value());
      }
    }
    // The decision is the note, as stored.
    auto note = LoadDashboardNote(*st, id);
    ASSERT_TRUE(note.ok());
    EXPECT_EQ((*study)["note"]["body"], *note);
    EXPECT_EQ((*study)["note"]["version"], 1);
    auto attrs = st->GetStudyUserAttrs(id);
    ASSERT_TRUE(attrs.ok());
    EXPECT_THAT((*study)["note"]["body"].get<std::string>(),
                HasSubstr(attrs->at("decision").at("summary").get<std::string>()));
  }
  // The mid-run view agrees with the end: its trials' intermediate values are prefixes.
  for (const Json& study : during["studies"]) {
    const Json* end = FindStudy(after, study["name"]);
    ASSERT_NE(end, nullptr);
    for (const Json& t : study["trials"]) {
      const Json& final_t = (*end)["trials"][t["number"].get<size_t>()];
      const Json& early = t["intermediate_values"];
      ASSERT_LE(early.size(), final_t["intermediate_values"].size());
      for (size_t k = 0; k < early.size(); ++k) {
        EXPECT_EQ(early[k], final_t["intermediate_values"][k]);
      }
    }
  }
  const Json* note_study = FindStudy(after, "notes");
  ASSERT_NE(note_study, nullptr);
  EXPECT_EQ((*note_study)["note"]["body"], long_note);
  EXPECT_EQ((*note_study)["note"]["version"], 2);
}

}  // namespace
}  // namespace mgr
