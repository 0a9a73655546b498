// The built mgr-tune against Python Optuna 3.1 (/usr/bin/python3), 4.9 and 5.1 (PyPI, into
// BUILD/optuna4-venv and optuna5-venv) on one SQLite file, and on one PostgreSQL database
// (the postgres_server fixture's server):
// a study Optuna wrote is listed byte for byte as optuna/cli.py's own code lists it, is
// continued with mgr-tune ask/tell, and Optuna still reads it; concurrent ask/tell
// processes lose nothing; bad input leaves the file byte-identical.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/storage/storage_test_util.h"

namespace {

using Json = nlohmann::json;

const std::string kTune = MGR_TUNE;
const std::string kHelper = std::string(MGR_SOURCE_DIR) + "/tests/tuner/optuna_interop.py";

struct Output {
  int code;
  std::string out;
  std::string err;
};

using mgr::testing_util::ReadFile;

// Runs a shell command line in `dir`, capturing stdout and stderr.
Output RunShell(const std::string& dir, const std::string& cmd) {
  std::string out = dir + "/.out", err = dir + "/.err";
  std::string line = "cd '" + dir + "' && " + cmd + " >'" + out + "' 2>'" + err + "'";
  int status = std::system(line.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
}

// The Optuna release on the other side (Debian's: null, or a version from PyPI), and whether
// the store is PostgreSQL (else an SQLite file).
using Setup = std::tuple<const char*, bool>;

class InteropTest : public ::testing::TestWithParam<Setup> {
 protected:
  const char* Release() const { return std::get<0>(GetParam()); }
  bool Postgres() const { return std::get<1>(GetParam()); }

  // Store `name` as the Python helper takes it: a file in dir_, or a database of this test's
  // own on the server (SQLAlchemy 2.1 needs +psycopg2 to pick the driver the venvs have).
  std::string Db(const std::string& name) {
    if (!Postgres()) return name + ".db";
    std::string error, url;
#ifdef MGR_HAVE_POSTGRES
    url = mgr::testing_util::PostgresTestDatabase(
        "cli_" + std::to_string(std::hash<std::string>()(dir_)) + "_" + name, &error);
#endif
    EXPECT_FALSE(url.empty()) << error;
    return "postgresql+psycopg2://" + url.substr(url.find("://") + 3);
  }
  // The same store as mgr-tune's --storage.
  std::string Url(const std::string& name) {
    return Postgres() ? "'" + Db(name) + "'" : "sqlite:///" + name + ".db";
  }

  void SetUp() override {
    char tmpl[] = "/tmp/mgr_interop_XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (Release() == nullptr) {
      python_ = MGR_PYTHON;
      return;
    }
    // Once per build folder; fails (never skips) when PyPI cannot be reached.
    std::string log;
    python_ = mgr::testing_util::OptunaVenvPython(Release(), "", &log);
    ASSERT_FALSE(python_.empty()) << log;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  Output Tune(const std::string& args) { return RunShell(dir_, "'" + kTune + "' " + args); }
  Output Py(const std::string& args) {
    return RunShell(dir_, "'" + python_ + "' '" + kHelper + "' " + args);
  }
  void MakePythonStudy() {
    Output made = Py("make '" + Db("py") + "'");
    ASSERT_EQ(made.code, 0) << made.err;
  }
  std::string dir_;
  std::string python_;
};

TEST_P(InteropTest, ListingsAreByteIdenticalToOptunasCli) {
  MakePythonStudy();
  const std::string storage = " --storage " + Url("py");
  struct Case {
    std::string command, study;
  };
  for (const Case& c :
       {Case{"studies", ""}, Case{"trials", "py"}, Case{"best-trial", "py"},
        Case{"best-trials", "py"}, Case{"trials", "py-multi"}, Case{"best-trials", "py-multi"}}) {
    for (const std::string fmt : {"json", "table", "yaml"}) {
      for (bool flatten : {false, true}) {
        SCOPED_TRACE(c.command + " " + c.study + " -f " + fmt + (flatten ? " --flatten" : ""));
        Output py = Py("dump '" + Db("py") + "' " + c.command + " " + fmt +
                       (flatten ? " 1 " : " 0 ") + c.study);
        ASSERT_EQ(py.code, 0) << py.err;
        Output ours = Tune(c.command + storage + " -f " + fmt + (flatten ? " --flatten" : "") +
                           (c.study.empty() ? "" : " --study-name " + c.study));
        ASSERT_EQ(ours.code, 0) << ours.err;
        EXPECT_EQ(ours.out, py.out);
      }
    }
  }
}

TEST_P(InteropTest, AskTellContinuesAPythonStudyThatPythonStillReads) {
  MakePythonStudy();
  Json before = Json::parse(Py("summary '" + Db("py") + "' py").out);
  const size_t n = before.size();  // 14 run + 1 WAITING
  ASSERT_EQ(before.back()["state"], "WAITING");

  // The enqueued trial comes first, with its fixed params.
  const std::string space =
      R"('{"lr": {"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.1, "log": true, "step": null}}, )"
      R"("layers": {"name": "IntDistribution", "attributes": {"low": 1, "high": 4, "log": false, "step": 1}}, )"
      R"("opt": {"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd"]}}}')";
  Output ask = Tune("ask --storage " + Url("py") + " --study-name py --search-space " + space);
  ASSERT_EQ(ask.code, 0) << ask.err;
  Json asked = Json::parse(ask.out);
  EXPECT_EQ(asked["number"], n - 1);
  EXPECT_EQ(asked["params"], Json::parse(R"({"lr": 0.001, "layers": 2, "opt": "adam"})"));
  ASSERT_EQ(Tune("tell --storage " + Url("py") + " --study-name py --trial-number " +
                 std::to_string(n - 1) + " --values 0.125")
                .code,
            0);

  // A fresh trial from TPE, then a pruned one without values.
  Output ask2 = Tune("ask --storage " + Url("py") +
                     " --study-name py --sampler TPESampler "
                     "--sampler-kwargs '{\"seed\": 3}' --search-space " +
                     space);
  ASSERT_EQ(ask2.code, 0) << ask2.err;
  Json asked2 = Json::parse(ask2.out);
  EXPECT_EQ(asked2["number"], n);
  EXPECT_GE(asked2["params"]["lr"].get<double>(), 1e-5);
  EXPECT_LE(asked2["params"]["lr"].get<double>(), 0.1);
  EXPECT_TRUE(asked2["params"]["opt"] == "adam" || asked2["params"]["opt"] == "sgd");
  ASSERT_EQ(Tune("tell --storage " + Url("py") + " --study-name py --trial-number " +
                 std::to_string(n) + " --state pruned")
                .code,
            0);

  // Python Optuna reads both new trials as told.
  Json after = Json::parse(Py("summary '" + Db("py") + "' py").out);
  ASSERT_EQ(after.size(), n + 1);
  EXPECT_EQ(after[n - 1]["state"], "COMPLETE");
  EXPECT_EQ(after[n - 1]["values"], Json::parse("[0.125]"));
  EXPECT_EQ(after[n - 1]["params"], Json::parse(R"({"lr": 0.001, "layers": 2, "opt": "adam"})"));
  EXPECT_EQ(after[n - 1]["system_attrs"]["fixed_params"],
            Json::parse(R"({"lr": 0.001, "layers": 2, "opt": "adam", "beta": 0.75})"));
  EXPECT_EQ(after[n]["state"], "PRUNED");
  EXPECT_TRUE(after[n]["values"].is_null());
  EXPECT_EQ(after[n]["params"], asked2["params"]);
  for (size_t i = 0; i + 1 < n; ++i) EXPECT_EQ(after[i], before[i]) << "trial " << i;

  // And both programs still list the study identically.
  Output py = Py("dump '" + Db("py") + "' trials json 0 py");
  Output ours = Tune("trials --storage " + Url("py") + " --study-name py -f json");
  EXPECT_EQ(ours.out, py.out);
}

TEST_P(InteropTest, ConcurrentAskTellLosesNothing) {
  ASSERT_EQ(Tune("create-study --storage " + Url("c") + " --study-name c").code, 0);
  // Three processes, each asking and telling 12 trials (value = the trial's number).
  const int kProcs = 3, kEach = 12;
  std::string loop =
      "for i in $(seq " + std::to_string(kEach) +
      "); do "
      "n=$('" +
      kTune + "' ask --storage " + Url("c") +
      " --study-name c --sampler RandomSampler "
      "--search-space '{\"x\": {\"name\": \"FloatDistribution\", \"attributes\": {\"low\": 0.0, "
      "\"high\": 1.0, \"log\": false, \"step\": null}}}' | sed 's/^{\"number\": "
      "\\([0-9]*\\).*/\\1/'); "
      "'" +
      kTune + "' tell --storage " + Url("c") +
      " --study-name c --trial-number $n --values $n "
      "2>/dev/null || exit 1; done";
  std::string all;
  for (int p = 0; p < kProcs; ++p) all += "(" + loop + ") & ";
  all += "wait";
  Output r = RunShell(dir_, "( " + all + " )");
  ASSERT_EQ(r.code, 0) << r.err;

  Output listed = Tune("trials --storage " + Url("c") + " --study-name c -f json");
  ASSERT_EQ(listed.code, 0) << listed.err;
  Json trials = Json::parse(listed.out);
  ASSERT_EQ(trials.size(), static_cast<size_t>(kProcs * kEach));
  std::set<int> numbers;
  for (const Json& t : trials) {
    numbers.insert(t["number"].get<int>());
    EXPECT_EQ(t["state"], "COMPLETE") << t.dump();
    EXPECT_EQ(t["value"].get<double>(), t["number"].get<double>()) << t.dump();
  }
  EXPECT_EQ(numbers.size(), trials.size());
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), kProcs * kEach - 1);
  // Python agrees.
  Json py = Json::parse(Py("summary '" + Db("c") + "' c").out);
  EXPECT_EQ(py.size(), trials.size());
}

// File-level checks (the file stays byte-identical, a read creates no file): SQLite only.
class SqliteInteropTest : public InteropTest {};

TEST_P(SqliteInteropTest, BadInputIsOneClearLineAndChangesNothing) {
  MakePythonStudy();
  // A first valid write, so the file is in the state mgr-tune leaves it in.
  ASSERT_EQ(Tune("ask --storage sqlite:///py.db --study-name py").code, 0);
  const std::string snapshot = ReadFile(dir_ + "/py.db");
  std::ofstream(dir_ + "/text.db") << "this is not a database\n";
  const std::string text_before = ReadFile(dir_ + "/text.db");

  struct Case {
    std::string args;
    int code;
    std::string phrase;
  };
  const std::string s = " --storage sqlite:///py.db";
  for (const Case& c : std::vector<Case>{
           {"trials --storage sqlite:///text.db --study-name py", 1, "text.db"},
           {"trials --storage sqlite:///missing.db --study-name py", 1, "missing.db"},
           {"trials" + s + " --study-name nope", 1, "nope"},
           {"best-trial" + s + " --study-name nope", 1, "nope"},
           {"best-trial" + s + " --study-name py-multi", 1, "objectives"},
           {"ask" + s + " --study-name py --search-space '{bad json'", 1, "--search-space"},
           {"ask" + s +
                " --study-name py --search-space '{\"lr\": {\"name\": \"IntDistribution\", "
                "\"attributes\": {\"low\": 1, \"high\": 4, \"log\": false, \"step\": 1}}}'",
            1, "lr"},
           {"ask" + s + " --study-name py --sampler '{\"type\": \"nope\"}'", 1, "sampler.type"},
           {"ask" + s + " --study-name nope", 1, "nope"},
           {"tell" + s + " --study-name py --trial-number 999 --values 1", 1, "999"},
           {"tell" + s + " --study-name py --trial-number 0 --values 1", 1, "COMPLETE"},
           {"tell" + s + " --study-name py --trial-number 14 --state complete", 1, "--values"},
           {"tell" + s + " --study-name py --trial-number 14 --state complete --values nan", 1,
            "nan"},
           {"tell" + s + " --study-name py --trial-number 14 --state pruned --values 1", 1,
            "--values"},
           {"tell" + s + " --study-name py --trial-number 14 --state maybe", 2, "state"},
           {"delete-study" + s + " --study-name nope", 1, "nope"},
           {"create-study" + s + " --study-name py", 1, "already exists"},
           {"trials" + s, 2, "study-name"},
           {"trials --study-name py", 1, "storage"},
       }) {
    SCOPED_TRACE(c.args);
    Output r = Tune(c.args);
    EXPECT_EQ(r.code, c.code) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_THAT(r.err, ::testing::HasSubstr(c.phrase));
    EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), c.code == 2 ? 2 : 1) << r.err;
    EXPECT_TRUE(ReadFile(dir_ + "/py.db") == snapshot) << "py.db changed";
  }
  EXPECT_EQ(ReadFile(dir_ + "/text.db"), text_before);
  struct stat st;
  EXPECT_NE(stat((dir_ + "/missing.db").c_str(), &st), 0) << "a read created a database";
}

TEST_P(InteropTest, CreateStudyAndExport) {
  Output created = Tune("create-study --storage " + Url("e") +
                        " --study-name e --directions "
                        "minimize maximize");
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_EQ(created.out, "e\n");
  EXPECT_EQ(Tune("create-study --storage " + Url("e") + " --study-name e --skip-if-exists").out,
            "e\n");
  Output ask = Tune("ask --storage " + Url("e") +
                    " --study-name e --sampler RandomSampler "
                    "--search-space '{\"opt\": {\"name\": \"CategoricalDistribution\", "
                    "\"attributes\": {\"choices\": [\"a,b\", \"c\"]}}}'");
  ASSERT_EQ(ask.code, 0) << ask.err;
  ASSERT_EQ(
      Tune("tell --storage " + Url("e") + " --study-name e --trial-number 0 --values 1.5 -2").code,
      0);
  Output csv = Tune("export --storage " + Url("e") + " --study-name e");
  ASSERT_EQ(csv.code, 0) << csv.err;
  std::string header = csv.out.substr(0, csv.out.find('\n'));
  EXPECT_EQ(header,
            "number,values_0,values_1,datetime_start,datetime_complete,duration,params_opt,state");
  std::string row = csv.out.substr(csv.out.find('\n') + 1);
  EXPECT_THAT(row, ::testing::StartsWith("0,1.5,-2.0,"));
  EXPECT_THAT(row, ::testing::EndsWith(",COMPLETE\n"));
  std::string opt = Json::parse(ask.out)["params"]["opt"];
  EXPECT_THAT(row, ::testing::HasSubstr(opt == "c" ? ",c," : ",\"a,b\",")) << row;

  Output deleted = Tune("delete-study --storage " + Url("e") + " --study-name e");
  ASSERT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_EQ(Tune("studies --storage " + Url("e") + " -f json").out, "[]\n");
}

std::string SetupName(const ::testing::TestParamInfo<Setup>& info) {
  const char* release = std::get<0>(info.param);
  return (release == nullptr ? std::string("Optuna31")
                             : "Optuna" + std::string(1, release[0]) + release[2]) +
         (std::get<1>(info.param) ? "Postgres" : "Sqlite");
}

#ifdef MGR_HAVE_POSTGRES
const bool kBackends[] = {false, true};
#else
const bool kBackends[] = {false};
#endif

INSTANTIATE_TEST_SUITE_P(Releases, InteropTest,
                         ::testing::Combine(::testing::Values(nullptr, "4.9.0", "5.1.0"),
                                            ::testing::ValuesIn(kBackends)),
                         SetupName);
INSTANTIATE_TEST_SUITE_P(Releases, SqliteInteropTest,
                         ::testing::Combine(::testing::Values(nullptr, "4.9.0", "5.1.0"),
                                            ::testing::Values(false)),
                         SetupName);

}  // namespace
