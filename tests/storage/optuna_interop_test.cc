// Interoperability with Python Optuna at the storage level, against Debian's python3-optuna
// 3.1 and Optuna 4.9 and 5.1 from PyPI (BUILD/optuna4-venv, optuna5-venv; label python):
// (1) a study written by SqliteStorage is read by optuna.load_study, whose dump of every
//     field must equal what we wrote (expected values written by hand below);
// (2) a study written by Python Optuna (TPE, pruner, failures, enqueue, attrs) is read by
//     SqliteStorage, and every field must equal Python's own dump of it;
// (3) datetimes under a non-UTC TZ: we store naive UTC, as Optuna 5 does (docs/storage.md);
// each in an SQLite file and in a PostgreSQL database (the postgres_server fixture's).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "storage/sqlite_storage.h"
#ifdef MGR_HAVE_POSTGRES
#include "storage/postgres_storage.h"
#endif
#include "tests/storage/storage_test_util.h"

namespace mgr {
namespace {

using testing_util::RunCommand;
using testing_util::TempDir;

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The encoding optuna_dump.py uses for floats.
Json Enc(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

Json Enc(const Json& v) {
  if (v.is_number_float()) return Enc(v.get<double>());
  return v;
}

// An Optuna release the tests run against: Debian's (pip_version null) or one from PyPI.
struct OptunaRelease {
  const char* name;
  const char* pip_version;
  const char* alembic_version;  // what it stamps on a new SQLite file
};

std::ostream& operator<<(std::ostream& os, const OptunaRelease& r) { return os << r.name; }

// A release, and whether the store is PostgreSQL (else an SQLite file).
using Setup = std::tuple<OptunaRelease, bool>;

class OptunaInteropTest : public ::testing::TestWithParam<Setup> {
 protected:
  const OptunaRelease& Release() const { return std::get<0>(GetParam()); }
  bool Postgres() const { return std::get<1>(GetParam()); }

  // The store `name` of this test: a file in `dir`, or a database of its own on the server.
  std::string Url(const TempDir& dir, const std::string& name) const {
    if (!Postgres()) return "sqlite:///" + dir.path() + "/" + name + ".db";
#ifdef MGR_HAVE_POSTGRES
    std::string error;
    const std::string url = testing_util::PostgresTestDatabase(
        "interop_" + std::to_string(std::hash<std::string>()(dir.path())) + "_" + name, &error);
    EXPECT_FALSE(url.empty()) << error;
    // SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3; the venvs have psycopg2.
    return "postgresql+psycopg2://" + url.substr(url.find("://") + 3);
#else
    return "";
#endif
  }
  // The alembic revision our store reads in it.
  static std::string AlembicOf(Storage& s) {
    if (auto* sqlite = dynamic_cast<SqliteStorage*>(&s)) return sqlite->alembic_version();
#ifdef MGR_HAVE_POSTGRES
    if (auto* pg = dynamic_cast<PostgresStorage*>(&s)) return pg->alembic_version();
#endif
    return "";
  }

  void SetUp() override {
    if (Release().pip_version == nullptr) return;  // Debian's python3-optuna
    // Once per build folder; fails (never skips) when PyPI cannot be reached.
    std::string log;
    python_ = testing_util::OptunaVenvPython(Release().pip_version, "", &log);
    ASSERT_FALSE(python_.empty()) << log;
  }

  // tests/storage/optuna_dump.py MODE URL STUDY with this release, in time zone `tz`.
  Json RunDump(const std::string& mode, const std::string& url, const std::string& study,
               const std::string& tz = "UTC") const {
    std::string out;
    std::string cmd = "TZ=" + tz + " '" + python_ + "' " + MGR_SOURCE_DIR +
                      "/tests/storage/optuna_dump.py " + mode + " '" + url + "' '" + study +
                      "' 2>/dev/null";
    int rc = RunCommand(cmd, &out);
    EXPECT_EQ(rc, 0) << cmd;
    Json j = Json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out;
    return j;
  }

  std::string python_ = MGR_PYTHON;  // the release's venv python (SetUp), else Debian's
};

// Our storage's view in optuna_dump.py's format.
Json DumpOurs(Storage& s, const std::string& name) {
  int64_t id = *s.GetStudyId(name);
  Json out;
  out["study_name"] = *s.GetStudyName(id);
  out["directions"] = Json::array();
  const auto dirs = *s.GetStudyDirections(id);
  for (StudyDirection d : dirs) out["directions"].push_back(StudyDirectionName(d));
  out["user_attrs"] = Json::object();
  const auto user = *s.GetStudyUserAttrs(id);
  for (auto& [k, v] : user) out["user_attrs"][k] = v;
  out["system_attrs"] = Json::object();
  const auto system = *s.GetStudySystemAttrs(id);
  for (auto& [k, v] : system) out["system_attrs"][k] = v;
  out["trials"] = Json::array();
  const std::vector<FrozenTrial> all = *s.GetAllTrials(id);
  for (const FrozenTrial& t : all) {
    Json j;
    j["trial_id"] = t.trial_id;
    j["number"] = t.number;
    j["state"] = TrialStateName(t.state);
    if (t.values.empty()) {
      j["values"] = nullptr;
    } else {
      for (double v : t.values) j["values"].push_back(Enc(v));
    }
    j["params"] = Json::object();
    j["distributions"] = Json::object();
    for (auto& [k, d] : t.distributions) {
      j["params"][k] = Enc(t.Param(k));
      j["distributions"][k] = DistributionToJson(d);
    }
    j["intermediate_values"] = Json::array();
    for (auto& [step, v] : t.intermediate_values)
      j["intermediate_values"].push_back({step, Enc(v)});
    j["user_attrs"] = Json::object();
    for (auto& [k, v] : t.user_attrs) j["user_attrs"][k] = v;
    j["system_attrs"] = Json::object();
    for (auto& [k, v] : t.system_attrs) j["system_attrs"][k] = v;
    j["datetime_start"] = t.datetime_start ? Json(FormatDatetime(*t.datetime_start)) : Json();
    j["datetime_complete"] =
        t.datetime_complete ? Json(FormatDatetime(*t.datetime_complete)) : Json();
    out["trials"].push_back(j);
  }
  return out;
}

// Compares field by field so that a failure names the trial and field.
void ExpectSameStudy(const Json& ours, const Json& python) {
  for (const char* key : {"study_name", "directions", "user_attrs", "system_attrs"}) {
    EXPECT_EQ(ours[key], python[key]) << key;
  }
  ASSERT_EQ(ours["trials"].size(), python["trials"].size());
  for (size_t i = 0; i < ours["trials"].size(); ++i) {
    const Json& a = ours["trials"][i];
    const Json& b = python["trials"][i];
    for (auto it = b.begin(); it != b.end(); ++it) {
      EXPECT_EQ(a[it.key()], it.value()) << "trial " << i << " field " << it.key();
    }
    EXPECT_EQ(a.size(), b.size()) << "trial " << i;
  }
}

TEST_P(OptunaInteropTest, PythonReadsEveryFieldWeWrite) {
  TempDir dir;
  const std::string url = Url(dir, "ours");
  const auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  const Distribution lr = FloatDistribution{1e-5, 0.1, true, {}};
  const Distribution layers = IntDistribution{2, 10, false, 2};
  const Distribution drop = FloatDistribution{0.0, 0.5, false, 0.05};
  const Distribution opt = CategoricalDistribution{{"adam", "sgd", nullptr, 1.5}};
  {
    auto s = std::move(OpenStorage(url)).value();
    int64_t study = *s->CreateStudy("ours", {StudyDirection::kMinimize});
    ASSERT_TRUE(s->SetStudyUserAttr(study, "dataset", "fma_small").ok());
    ASSERT_TRUE(s->SetStudySystemAttr(study, "stage", Json{{"index", 2}, {"name", "reg"}}).ok());
    // 0: COMPLETE, step by step.
    int64_t t0 = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(t0, "lr", 0.003, lr).ok());
    ASSERT_TRUE(s->SetTrialParam(t0, "layers", 6, layers).ok());
    ASSERT_TRUE(s->SetTrialParam(t0, "drop", 0.25, drop).ok());
    ASSERT_TRUE(s->SetTrialParam(t0, "opt", 1, opt).ok());
    const std::vector<double> iv = {0.9, kInf, kNaN, -kInf, 0.5};
    for (size_t i = 0; i < iv.size(); ++i) {
      ASSERT_TRUE(s->SetTrialIntermediateValue(t0, static_cast<int64_t>(i), iv[i]).ok());
    }
    ASSERT_TRUE(s->SetTrialUserAttr(t0, "note", "first \"one\"").ok());
    ASSERT_TRUE(s->SetTrialSystemAttr(t0, "retry_history", Json::array({1, 2})).ok());
    ASSERT_TRUE(s->SetTrialStateValues(t0, TrialState::kComplete, {0.5}).ok());
    // 1: COMPLETE with an infinite objective, written whole with fixed datetimes.
    FrozenTrial t1;
    t1.state = TrialState::kComplete;
    t1.values = {kInf};
    t1.params = {{"lr", 1e-5}, {"opt", 2}};
    t1.distributions = {{"lr", lr}, {"opt", opt}};
    t1.datetime_start = *ParseDatetime("2025-03-04 05:06:07.000001");
    t1.datetime_complete = *ParseDatetime("2025-03-04 06:07:08.999999");
    ASSERT_TRUE(s->CreateTrial(study, &t1).ok());
    // 2: PRUNED with its last intermediate value.
    int64_t t2 = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(t2, "layers", 10, layers).ok());
    ASSERT_TRUE(s->SetTrialIntermediateValue(t2, 0, 2.0).ok());
    ASSERT_TRUE(s->SetTrialIntermediateValue(t2, 7, -1.25).ok());
    ASSERT_TRUE(s->SetTrialStateValues(t2, TrialState::kPruned, {-1.25}).ok());
    // 3: FAIL.
    int64_t t3 = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(t3, "opt", 3, opt).ok());
    ASSERT_TRUE(s->SetTrialSystemAttr(t3, "failed_trial", 0).ok());
    ASSERT_TRUE(s->SetTrialStateValues(t3, TrialState::kFail).ok());
    // 4: RUNNING.
    int64_t t4 = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(t4, "drop", 0.5, drop).ok());
    ASSERT_TRUE(s->SetTrialIntermediateValue(t4, 3, -kInf).ok());
    ASSERT_TRUE(s->RecordHeartbeat(t4).ok());
    // 5: WAITING (enqueued).
    FrozenTrial t5;
    t5.state = TrialState::kWaiting;
    t5.params = {{"layers", 4}};
    t5.distributions = {{"layers", layers}};
    t5.system_attrs = {{"fixed_params", Json{{"layers", 4}}}};
    ASSERT_TRUE(s->CreateTrial(study, &t5).ok());
  }
  const auto after = std::chrono::system_clock::now() + std::chrono::seconds(1);

  Json py = RunDump("dump", url, "ours");
  ASSERT_TRUE(py.is_object());
  EXPECT_EQ(py["study_name"], "ours");
  EXPECT_EQ(py["directions"], Json::parse(R"(["MINIMIZE"])"));
  EXPECT_EQ(py["user_attrs"], Json::parse(R"({"dataset": "fma_small"})"));
  EXPECT_EQ(py["system_attrs"], Json::parse(R"({"stage": {"index": 2, "name": "reg"}})"));
  const Json dist_lr = Json::parse(
      R"({"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.1, "log": true, "step": null}})");
  const Json dist_layers = Json::parse(
      R"({"name": "IntDistribution", "attributes": {"low": 2, "high": 10, "log": false, "step": 2}})");
  const Json dist_drop = Json::parse(
      R"({"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 0.5, "log": false, "step": 0.05}})");
  const Json dist_opt = Json::parse(
      R"({"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd", null, 1.5]}})");
  const Json& trials = py["trials"];
  ASSERT_EQ(trials.size(), 6u);
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i]["number"], i);

  const Json& j0 = trials[0];
  EXPECT_EQ(j0["state"], "COMPLETE");
  EXPECT_EQ(j0["values"], Json::parse("[0.5]"));
  EXPECT_EQ(j0["params"], Json::parse(R"({"lr": 0.003, "layers": 6, "drop": 0.25, "opt": "sgd"})"));
  EXPECT_TRUE(j0["params"]["layers"].is_number_integer());  // Optuna returns an int
  EXPECT_EQ(j0["distributions"]["lr"], dist_lr);
  EXPECT_EQ(j0["distributions"]["layers"], dist_layers);
  EXPECT_EQ(j0["distributions"]["drop"], dist_drop);
  EXPECT_EQ(j0["distributions"]["opt"], dist_opt);
  EXPECT_EQ(j0["intermediate_values"],
            Json::parse(R"([[0, 0.9], [1, "inf"], [2, "nan"], [3, "-inf"], [4, 0.5]])"));
  EXPECT_EQ(j0["user_attrs"], Json::parse(R"({"note": "first \"one\""})"));
  EXPECT_EQ(j0["system_attrs"], Json::parse(R"({"retry_history": [1, 2]})"));
  for (const char* f : {"datetime_start", "datetime_complete"}) {
    ASSERT_TRUE(j0[f].is_string()) << f;
    TimePoint tp = *ParseDatetime(j0[f].get<std::string>());
    EXPECT_GE(tp, before) << f;
    EXPECT_LE(tp, after) << f;
  }
  EXPECT_LE(j0["datetime_start"].get<std::string>(), j0["datetime_complete"].get<std::string>());

  const Json& j1 = trials[1];
  EXPECT_EQ(j1["state"], "COMPLETE");
  EXPECT_EQ(j1["values"], Json::parse(R"(["inf"])"));
  EXPECT_EQ(j1["params"], Json::parse(R"({"lr": 1e-05, "opt": null})"));
  EXPECT_EQ(j1["datetime_start"], "2025-03-04 05:06:07.000001");
  EXPECT_EQ(j1["datetime_complete"], "2025-03-04 06:07:08.999999");
  EXPECT_EQ(j1["intermediate_values"], Json::array());

  const Json& j2 = trials[2];
  EXPECT_EQ(j2["state"], "PRUNED");
  EXPECT_EQ(j2["values"], Json::parse("[-1.25]"));
  EXPECT_EQ(j2["params"], Json::parse(R"({"layers": 10})"));
  EXPECT_EQ(j2["intermediate_values"], Json::parse("[[0, 2.0], [7, -1.25]]"));

  const Json& j3 = trials[3];
  EXPECT_EQ(j3["state"], "FAIL");
  EXPECT_EQ(j3["values"], nullptr);
  EXPECT_EQ(j3["params"], Json::parse(R"({"opt": 1.5})"));
  EXPECT_EQ(j3["system_attrs"], Json::parse(R"({"failed_trial": 0})"));
  EXPECT_TRUE(j3["datetime_complete"].is_string());

  const Json& j4 = trials[4];
  EXPECT_EQ(j4["state"], "RUNNING");
  EXPECT_EQ(j4["values"], nullptr);
  EXPECT_EQ(j4["params"], Json::parse(R"({"drop": 0.5})"));
  EXPECT_EQ(j4["intermediate_values"], Json::parse(R"([[3, "-inf"]])"));
  EXPECT_TRUE(j4["datetime_start"].is_string());
  EXPECT_EQ(j4["datetime_complete"], nullptr);

  const Json& j5 = trials[5];
  EXPECT_EQ(j5["state"], "WAITING");
  EXPECT_EQ(j5["params"], Json::parse(R"({"layers": 4})"));
  EXPECT_EQ(j5["system_attrs"], Json::parse(R"({"fixed_params": {"layers": 4}})"));
  EXPECT_EQ(j5["datetime_start"], nullptr);
  EXPECT_EQ(j5["datetime_complete"], nullptr);
}

TEST_P(OptunaInteropTest, WeReadEveryFieldPythonWrites) {
  TempDir dir;
  const std::string url = Url(dir, "py");
  Json py = RunDump("write", url, "py");
  ASSERT_TRUE(py.is_object());
  // The scenario really exercises what it claims (see optuna_dump.py).
  std::map<std::string, int> states;
  bool saw_nan = false, saw_inf = false;
  for (const Json& t : py["trials"]) {
    ++states[t["state"].get<std::string>()];
    for (const Json& iv : t["intermediate_values"]) {
      saw_nan |= iv[1] == "nan";
      saw_inf |= iv[1] == "inf";
    }
  }
  EXPECT_GE(states["COMPLETE"], 3);
  EXPECT_GE(states["PRUNED"], 2);
  EXPECT_EQ(states["FAIL"], 1);
  EXPECT_EQ(states["RUNNING"], 1);
  EXPECT_EQ(states["WAITING"], 1);
  EXPECT_TRUE(saw_nan);
  EXPECT_TRUE(saw_inf);

  auto s = OpenStorage(url);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(AlembicOf(**s), Release().alembic_version);
  ExpectSameStudy(DumpOurs(**s, "py"), py);
  // Python can still read the store after we opened it.
  Json again = RunDump("dump", url, "py");
  EXPECT_EQ(again, py);
}

// Python reads the file live, while another process keeps writing whole trials to it: every
// read succeeds and sees only whole trials (WAL readers see committed transactions only).
TEST_P(OptunaInteropTest, PythonReadsLiveWhileWeWrite) {
  TempDir dir;
  const std::string url = Url(dir, "live");
  int64_t study;
  {
    auto s = std::move(OpenStorage(url)).value();
    study = *s->CreateStudy("live", {StudyDirection::kMinimize});
  }
  pid_t writer = fork();
  if (writer == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a failed ASSERT below must not leave it running
    auto r = OpenStorage(url);
    if (!r.ok()) _exit(2);
    FrozenTrial t;
    t.state = TrialState::kComplete;
    for (int k = 0; k < 5; ++k) {
      t.params["p" + std::to_string(k)] = k;
      t.distributions["p" + std::to_string(k)] = IntDistribution{0, 10, false, 1};
    }
    for (int step = 0; step < 30; ++step) t.intermediate_values[step] = step;
    // Paced, so that Python's (slow) reads of the growing study stay short.
    for (int i = 0;; ++i) {
      t.values = {static_cast<double>(i)};
      if (i < 400 && !(*r)->CreateTrial(study, &t).ok()) _exit(3);
      usleep(5000);
    }
  }
  usleep(100000);
  size_t last_seen = 0;
  for (int round = 0; round < 2; ++round) {
    Json py = RunDump("dump", url, "live");
    ASSERT_TRUE(py.is_object());
    const Json& trials = py["trials"];
    EXPECT_GE(trials.size(), last_seen);
    last_seen = trials.size();
    for (size_t i = 0; i < trials.size(); ++i) {
      EXPECT_EQ(trials[i]["number"], i);
      EXPECT_EQ(trials[i]["state"], "COMPLETE");
      EXPECT_EQ(trials[i]["params"].size(), 5u);
      EXPECT_EQ(trials[i]["intermediate_values"].size(), 30u);
    }
  }
  kill(writer, SIGKILL);
  int status = 0;
  waitpid(writer, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "writer stopped early with " << WEXITSTATUS(status);
  EXPECT_GT(last_seen, 0u);
}

// Optuna <= 4 stored naive local time, Optuna 5 naive UTC; every release shows naive local
// time. We store UTC, so under TZ=Asia/Tokyo (UTC+9, no daylight saving) Optuna 5 shows our
// instants right both ways, and Optuna 3.1 and 4.9 are 9 hours off (docs/storage.md).
TEST_P(OptunaInteropTest, DatetimesAreUtcInTheFileAsOptuna5Has) {
  const bool utc_release = std::string(Release().name).rfind("5.", 0) == 0;
  const auto offset = std::chrono::hours(utc_release ? 0 : 9);
  TempDir dir;
  // Ours, read by Python in Tokyo: 05:06 UTC is 14:06 there.
  const std::string ours = Url(dir, "ours");
  {
    auto s = std::move(OpenStorage(ours)).value();
    int64_t study = *s->CreateStudy("ours", {StudyDirection::kMinimize});
    FrozenTrial t;
    t.state = TrialState::kComplete;
    t.values = {1.0};
    t.datetime_start = *ParseDatetime("2025-03-04 05:06:07.000001");
    t.datetime_complete = *ParseDatetime("2025-03-04 06:07:08.999999");
    ASSERT_TRUE(s->CreateTrial(study, &t).ok());
  }
  Json py = RunDump("dump", ours, "ours", "Asia/Tokyo");
  ASSERT_EQ(py["trials"].size(), 1u);
  EXPECT_EQ(py["trials"][0]["datetime_start"],
            utc_release ? "2025-03-04 14:06:07.000001" : "2025-03-04 05:06:07.000001");
  EXPECT_EQ(py["trials"][0]["datetime_complete"],
            utc_release ? "2025-03-04 15:07:08.999999" : "2025-03-04 06:07:08.999999");

  // Python's, written in Tokyo now: we read the instant (Optuna 5) or 9 hours later.
  const std::string theirs = Url(dir, "py");
  const auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  ASSERT_TRUE(RunDump("write", theirs, "py", "Asia/Tokyo").is_object());
  const auto after = std::chrono::system_clock::now() + std::chrono::seconds(1);
  auto s = OpenStorage(theirs);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto trials = (*s)->GetAllTrials(*(*s)->GetStudyId("py"));
  ASSERT_TRUE(trials.ok());
  ASSERT_FALSE(trials->empty());
  const FrozenTrial& first = trials->front();
  ASSERT_TRUE(first.datetime_start.has_value());
  EXPECT_GE(*first.datetime_start, before + offset) << FormatDatetime(*first.datetime_start);
  EXPECT_LE(*first.datetime_start, after + offset) << FormatDatetime(*first.datetime_start);
}

#ifdef MGR_HAVE_POSTGRES
const bool kBackends[] = {false, true};
#else
const bool kBackends[] = {false};
#endif

INSTANTIATE_TEST_SUITE_P(
    Releases, OptunaInteropTest,
    ::testing::Combine(::testing::Values(OptunaRelease{"3.1 (Debian)", nullptr, "v3.0.0.d"},
                                         OptunaRelease{"4.9", "4.9.0", "v3.2.0.a"},
                                         OptunaRelease{"5.1", "5.1.0", "v3.2.0.a"}),
                       ::testing::ValuesIn(kBackends)),
    [](const ::testing::TestParamInfo<Setup>& info) {
      const OptunaRelease& r = std::get<0>(info.param);
      return std::string("Optuna") +
             (r.pip_version == nullptr ? "31"
                                       : std::string(1, r.pip_version[0]) + r.pip_version[2]) +
             (std::get<1>(info.param) ? "Postgres" : "Sqlite");
    });

}  // namespace
}  // namespace mgr
