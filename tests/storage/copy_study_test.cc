// CopyStudy against Python Optuna's copy_study (Debian's python3-optuna): both copy the same
// study, written by Python Optuna with every trial state and attribute kind, and Python's
// dump of the two copies must be equal field by field. Then the all-or-nothing promises.
#include "storage/copy_study.h"

#include <gtest/gtest.h>

#include "storage/in_memory_storage.h"
#include "storage/sqlite_storage.h"
#include "tests/storage/storage_test_util.h"

namespace mgr {
namespace {

using testing_util::RunCommand;
using testing_util::TempDir;

std::string Python(const std::string& script, const std::string& args) {
  return std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR + "/tests/storage/" + script + " " + args +
         " 2>&1";
}

Json Dump(const std::string& url, const std::string& study) {
  std::string out;
  EXPECT_EQ(RunCommand(Python("optuna_dump.py", "dump '" + url + "' '" + study + "'"), &out), 0)
      << out;
  return Json::parse(out, nullptr, false);
}

TEST(CopyStudyTest, CopiesExactlyAsOptunaCopyStudyDoes) {
  TempDir dir;
  const std::string source = "sqlite:///" + dir.path() + "/source.db";
  std::string out;
  ASSERT_EQ(RunCommand(Python("optuna_dump.py", "write '" + source + "' py"), &out), 0) << out;

  const std::string reference = "sqlite:///" + dir.path() + "/reference.db";
  ASSERT_EQ(
      RunCommand(Python("optuna_copy.py", "'" + source + "' py '" + reference + "' copy"), &out), 0)
      << out;
  {
    auto from = std::move(SqliteStorage::Open(dir.path() + "/source.db")).value();
    auto to = std::move(SqliteStorage::Open(dir.path() + "/ours.db")).value();
    Result<int64_t> copied = CopyStudy(*from, "py", *to, "copy");
    ASSERT_TRUE(copied.ok()) << copied.status().message();
    EXPECT_EQ(*copied, 14);  // 12 optimized, one RUNNING, one WAITING
  }
  const Json want = Dump(reference, "copy");
  const Json got = Dump("sqlite:///" + dir.path() + "/ours.db", "copy");
  ASSERT_TRUE(want.is_object());
  ASSERT_EQ(want["trials"].size(), 14u);
  for (const char* key : {"study_name", "directions", "user_attrs", "system_attrs"}) {
    EXPECT_EQ(got[key], want[key]) << key;
  }
  ASSERT_EQ(got["trials"].size(), want["trials"].size());
  for (size_t i = 0; i < want["trials"].size(); ++i) {
    EXPECT_EQ(got["trials"][i], want["trials"][i]) << "trial " << i;
  }
  // And the copy is the source, but for the name.
  Json source_dump = Dump(source, "py");
  EXPECT_EQ(got["trials"], source_dump["trials"]);
}

// Delegates to an in-memory store; CreateTrial fails after `trials_allowed` calls.
class FailingStorage : public Storage {
 public:
  explicit FailingStorage(int trials_allowed) : trials_allowed_(trials_allowed) {}
  InMemoryStorage& inner() { return inner_; }

  Result<int64_t> CreateStudy(const std::string& name,
                              const std::vector<StudyDirection>& directions) override {
    return inner_.CreateStudy(name, directions);
  }
  Status DeleteStudy(int64_t id) override { return inner_.DeleteStudy(id); }
  Result<int64_t> GetStudyId(const std::string& name) override { return inner_.GetStudyId(name); }
  Result<std::string> GetStudyName(int64_t id) override { return inner_.GetStudyName(id); }
  Result<std::vector<StudyDirection>> GetStudyDirections(int64_t id) override {
    return inner_.GetStudyDirections(id);
  }
  Status SetStudyUserAttr(int64_t id, const std::string& k, const Json& v) override {
    return inner_.SetStudyUserAttr(id, k, v);
  }
  Status SetStudySystemAttr(int64_t id, const std::string& k, const Json& v) override {
    return inner_.SetStudySystemAttr(id, k, v);
  }
  Result<std::map<std::string, Json>> GetStudyUserAttrs(int64_t id) override {
    return inner_.GetStudyUserAttrs(id);
  }
  Result<std::map<std::string, Json>> GetStudySystemAttrs(int64_t id) override {
    return inner_.GetStudySystemAttrs(id);
  }
  Result<std::vector<StudySummary>> GetAllStudies() override { return inner_.GetAllStudies(); }
  Result<int64_t> CreateTrial(int64_t id, const FrozenTrial* t) override {
    if (trials_allowed_-- <= 0) return Status::IoError("disk full (injected)");
    return inner_.CreateTrial(id, t);
  }
  Result<std::optional<int64_t>> ClaimWaitingTrial(int64_t id) override {
    return inner_.ClaimWaitingTrial(id);
  }
  Status SetTrialParam(int64_t id, const std::string& n, double v, const Distribution& d) override {
    return inner_.SetTrialParam(id, n, v, d);
  }
  Status SetTrialIntermediateValue(int64_t id, int64_t step, double v) override {
    return inner_.SetTrialIntermediateValue(id, step, v);
  }
  Status SetTrialStateValues(int64_t id, TrialState s, const std::vector<double>& v) override {
    return inner_.SetTrialStateValues(id, s, v);
  }
  Status SetTrialUserAttr(int64_t id, const std::string& k, const Json& v) override {
    return inner_.SetTrialUserAttr(id, k, v);
  }
  Status SetTrialSystemAttr(int64_t id, const std::string& k, const Json& v) override {
    return inner_.SetTrialSystemAttr(id, k, v);
  }
  Result<FrozenTrial> GetTrial(int64_t id) override { return inner_.GetTrial(id); }
  Result<int64_t> GetTrialIdFromNumber(int64_t study, int64_t number) override {
    return inner_.GetTrialIdFromNumber(study, number);
  }
  Result<std::vector<FrozenTrial>> GetAllTrials(int64_t id,
                                                const std::vector<TrialState>& s) override {
    return inner_.GetAllTrials(id, s);
  }
  Result<int64_t> CountTrials(int64_t id, const std::vector<TrialState>& s) override {
    return inner_.CountTrials(id, s);
  }
  Status RecordHeartbeat(int64_t id) override { return inner_.RecordHeartbeat(id); }
  Result<std::vector<int64_t>> FailStaleTrials(int64_t id, std::chrono::seconds g) override {
    return inner_.FailStaleTrials(id, g);
  }

 private:
  InMemoryStorage inner_;
  int trials_allowed_;
};

// A source study with `n` COMPLETE trials and a user attribute.
int64_t MakeSource(Storage& s, const std::string& name, int n) {
  int64_t id = *s.CreateStudy(name, {StudyDirection::kMinimize});
  EXPECT_TRUE(s.SetStudyUserAttr(id, "budget", n).ok());
  for (int i = 0; i < n; ++i) {
    FrozenTrial t;
    t.state = TrialState::kComplete;
    t.values = {1.0 / (i + 1)};
    t.params = {{"lr", 1e-3 * (i + 1)}};
    t.distributions = {{"lr", FloatDistribution{1e-5, 1e-1, true, {}}}};
    t.intermediate_values = {{1, 2.0}, {2, 1.0 / (i + 1)}};
    EXPECT_TRUE(s.CreateTrial(id, &t).ok());
  }
  return id;
}

#ifdef MGR_HAVE_POSTGRES
// From a laptop's SQLite file to the lab's PostgreSQL and back: Python Optuna reads the same
// study (every trial and field) in all three stores. Psycopg2 is Debian's.
TEST(CopyStudyTest, SqliteToPostgresAndBackKeepsEveryField) {
  TempDir dir;
  const std::string source = "sqlite:///" + dir.path() + "/source.db";
  std::string out;
  ASSERT_EQ(RunCommand(Python("optuna_dump.py", "write '" + source + "' py"), &out), 0) << out;
  std::string error;
  const std::string pg = testing_util::PostgresTestDatabase(
      "copy_" + std::to_string(std::hash<std::string>()(dir.path())), &error);
  ASSERT_FALSE(pg.empty()) << error;
  const std::string back = "sqlite:///" + dir.path() + "/back.db";
  {
    auto from = std::move(OpenStorage(source)).value();
    auto server = OpenStorage(pg);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto to = std::move(OpenStorage(back)).value();
    Result<int64_t> up = CopyStudy(*from, "py", **server, "lab");
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    EXPECT_EQ(*up, 14);
    Result<int64_t> down = CopyStudy(**server, "lab", *to, "home");
    ASSERT_TRUE(down.ok()) << down.status().ToString();
    EXPECT_EQ(*down, 14);
  }
  const Json want = Dump(source, "py");
  ASSERT_TRUE(want.is_object());
  for (const auto& [url, name] : {std::pair<std::string, std::string>{pg, "lab"}, {back, "home"}}) {
    const Json got = Dump(url, name);
    ASSERT_TRUE(got.is_object()) << url;
    EXPECT_EQ(got["study_name"], name);
    for (const char* key : {"directions", "user_attrs", "system_attrs"}) {
      EXPECT_EQ(got[key], want[key]) << url << " " << key;
    }
    ASSERT_EQ(got["trials"].size(), want["trials"].size()) << url;
    for (size_t i = 0; i < want["trials"].size(); ++i) {
      Json a = got["trials"][i], b = want["trials"][i];
      a.erase("trial_id");  // the target's own ids
      b.erase("trial_id");
      EXPECT_EQ(a, b) << url << " trial " << i;
    }
  }
}
#endif

TEST(CopyStudyTest, AFailureHalfwayLeavesNoPartialCopy) {
  InMemoryStorage from;
  MakeSource(from, "demo/base", 5);
  FailingStorage to(3);
  Result<int64_t> copied = CopyStudy(from, "demo/base", to, "demo/base");
  ASSERT_FALSE(copied.ok());
  EXPECT_NE(copied.status().message().find("stopped after 3 trials: disk full (injected)"),
            std::string::npos)
      << copied.status().message();
  EXPECT_NE(copied.status().message().find("the partial copy was deleted"), std::string::npos);
  EXPECT_EQ(to.GetStudyId("demo/base").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(to.GetAllStudies()->empty());
}

TEST(CopyStudyTest, AnExistingTargetIsAnErrorAndStaysAsItWas) {
  InMemoryStorage from, to;
  MakeSource(from, "demo/base", 3);
  const int64_t existing = MakeSource(to, "demo/base", 1);
  Result<int64_t> copied = CopyStudy(from, "demo/base", to, "demo/base");
  EXPECT_EQ(copied.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*to.CountTrials(existing, {}), 1);
  EXPECT_EQ(CopyStudy(from, "nope", to, "x").status().code(), StatusCode::kNotFound);
}

TEST(CopyStudyTest, WithinOneStoreUnderAnotherName) {
  InMemoryStorage s;
  const int64_t source = MakeSource(s, "a", 4);
  ASSERT_EQ(*CopyStudy(s, "a", s, "b"), 4);
  const int64_t copy = *s.GetStudyId("b");
  const std::vector<FrozenTrial> want = *s.GetAllTrials(source, {});
  const std::vector<FrozenTrial> got = *s.GetAllTrials(copy, {});
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].number, want[i].number);
    EXPECT_NE(got[i].trial_id, want[i].trial_id);
    EXPECT_EQ(got[i].values, want[i].values);
    EXPECT_EQ(got[i].params, want[i].params);
    EXPECT_EQ(got[i].intermediate_values, want[i].intermediate_values);
  }
  EXPECT_EQ(s.GetStudyUserAttrs(copy)->at("budget"), 4);
}

TEST(CopyStudyTest, APlaybookNameSelectsItsStagesOnly) {
  InMemoryStorage s;
  for (const char* name : {"demo/dense", "demo/base", "demo2/base", "demox", "demo/"}) {
    MakeSource(s, name, 1);
  }
  Result<std::vector<std::string>> names = StudiesToCopy(s, "demo");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"demo/base", "demo/dense"}));
  EXPECT_EQ(*StudiesToCopy(s, "demox"), std::vector<std::string>{"demox"});
  Result<std::vector<std::string>> none = StudiesToCopy(s, "dem");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("'dem/<stage>'"), std::string::npos);
}

}  // namespace
}  // namespace mgr
