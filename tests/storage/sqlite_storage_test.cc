// SqliteStorage beyond the shared contract: schema parity with python3-optuna, files written
// by Optuna 3.0/3.1, bad files, several processes on one file, and SIGKILL mid-write.
#include "storage/sqlite_storage.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include "tests/storage/storage_test_util.h"

namespace mgr {
namespace {

using testing_util::ReadFile;
using testing_util::RunCommand;
using testing_util::TempDir;
using testing_util::WriteFile;

using MasterRow = std::tuple<std::string, std::string, std::string, std::string>;

// sqlite_master as (type, name, tbl_name, sql), read with the plain SQLite API.
std::vector<MasterRow> SqliteMaster(const std::string& path) {
  std::vector<MasterRow> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_master", -1, &st,
                               nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto text = [&](int c) {
      const unsigned char* p = sqlite3_column_text(st, c);
      return p ? std::string(reinterpret_cast<const char*>(p)) : std::string("<null>");
    };
    rows.emplace_back(text(0), text(1), text(2), text(3));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

// The first column of the first row of `sql`, as text.
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::string out = "<error>";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* p = sqlite3_column_text(st, 0);
      out = p ? reinterpret_cast<const char*>(p) : "<null>";
    } else {
      out = "<no row>";
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void MakeOptunaDb(const std::string& mode, const std::string& path, const std::string& extra = "") {
  std::string out;
  std::string cmd = std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                    "/tests/storage/optuna_make_db.py " + mode + " '" + path + "' " + extra;
  ASSERT_EQ(RunCommand(cmd, &out), 0) << cmd << "\n" << out;
}

std::unique_ptr<SqliteStorage> MustOpen(const std::string& path) {
  auto r = SqliteStorage::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// --- Schema ----------------------------------------------------------------------------------

TEST(SqliteSchemaTest, IdenticalToSqlAlchemysV32Schema) {
  TempDir dir;
  const std::string ours = dir.path() + "/ours.db";
  const std::string ref = dir.path() + "/ref32.db";
  MustOpen(ours);
  MakeOptunaDb("schema32", ref);
  ASSERT_EQ(SqliteMaster(ref).size(), 25u);  // 13 tables, 12 indexes
  // Same tables, columns, types, NOT NULLs, unique constraints and index names, in the
  // same order and byte for byte.
  EXPECT_EQ(SqliteMaster(ours), SqliteMaster(ref));
}

TEST(SqliteSchemaTest, DiffersFromOptuna31OnlyByTheV32Index) {
  TempDir dir;
  const std::string ours = dir.path() + "/ours.db";
  const std::string ref = dir.path() + "/ref31.db";
  MustOpen(ours);
  MakeOptunaDb("schema31", ref);
  std::vector<MasterRow> mine = SqliteMaster(ours);
  std::vector<MasterRow> theirs = SqliteMaster(ref);
  std::vector<MasterRow> extra;
  std::set<MasterRow> theirs_set(theirs.begin(), theirs.end());
  for (const MasterRow& r : mine) {
    if (theirs_set.count(r) == 0) extra.push_back(r);
  }
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_EQ(extra[0], MasterRow("index", "ix_trials_study_id", "trials",
                                "CREATE INDEX ix_trials_study_id ON trials (study_id)"));
  EXPECT_EQ(mine.size(), theirs.size() + 1);
}

TEST(SqliteSchemaTest, VersionStampsAndWal) {
  TempDir dir;
  const std::string path = dir.path() + "/v.db";
  auto s = MustOpen(path);
  EXPECT_EQ(s->alembic_version(), "v3.2.0.a");
  s.reset();
  EXPECT_EQ(QueryText(path, "SELECT version_num FROM alembic_version"), "v3.2.0.a");
  EXPECT_EQ(QueryText(path, "SELECT COUNT(*) FROM alembic_version"), "1");
  EXPECT_EQ(QueryText(path,
                      "SELECT version_info_id || '|' || schema_version || '|' || "
                      "library_version FROM version_info"),
            "1|12|3.2.0");
  EXPECT_EQ(QueryText(path, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteSchemaTest, StoredRepresentation) {
  TempDir dir;
  const std::string path = dir.path() + "/repr.db";
  {
    auto s = MustOpen(path);
    int64_t study = *s->CreateStudy("repr", {StudyDirection::kMaximize});
    int64_t t = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(t, "opt", 1, CategoricalDistribution{{"adam", "sgd"}}).ok());
    ASSERT_TRUE(s->SetTrialIntermediateValue(t, 3, std::nan("")).ok());
    ASSERT_TRUE(s->SetTrialIntermediateValue(t, 4, -INFINITY).ok());
    ASSERT_TRUE(s->SetTrialUserAttr(t, "name", "x").ok());
    ASSERT_TRUE(
        s->SetTrialStateValues(t, TrialState::kComplete, {std::numeric_limits<double>::infinity()})
            .ok());
  }
  // Hand-written expectations from REFERENCE.md section 4 / Optuna's models.py.
  EXPECT_EQ(QueryText(path, "SELECT direction FROM study_directions"), "MAXIMIZE");
  EXPECT_EQ(QueryText(path, "SELECT state FROM trials"), "COMPLETE");
  EXPECT_EQ(QueryText(path,
                      "SELECT quote(param_value) || ' ' || distribution_json FROM "
                      "trial_params"),
            "1.0 {\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": "
            "[\"adam\", \"sgd\"]}}");
  EXPECT_EQ(QueryText(path, "SELECT quote(value) || ' ' || value_type FROM trial_values"),
            "NULL INF_POS");
  EXPECT_EQ(QueryText(path,
                      "SELECT quote(intermediate_value) || ' ' || intermediate_value_type "
                      "FROM trial_intermediate_values WHERE step = 3"),
            "NULL NAN");
  EXPECT_EQ(QueryText(path,
                      "SELECT quote(intermediate_value) || ' ' || intermediate_value_type "
                      "FROM trial_intermediate_values WHERE step = 4"),
            "NULL INF_NEG");
  EXPECT_EQ(QueryText(path, "SELECT value_json FROM trial_user_attributes"), "\"x\"");
  std::string start = QueryText(path, "SELECT datetime_start FROM trials");
  ASSERT_EQ(start.size(), 26u) << start;  // YYYY-MM-DD HH:MM:SS.ffffff
  EXPECT_EQ(start[10], ' ');
  EXPECT_EQ(start[19], '.');
}

// Non-finite floats in attributes are stored as Python's json.dumps writes them (Optuna's
// successive halving records a rung of +-inf so), and read back as numbers.
TEST(SqliteSchemaTest, NonFiniteAttrValuesAsPythonsJson) {
  TempDir dir;
  const std::string path = dir.path() + "/attrs.db";
  const double inf = std::numeric_limits<double>::infinity();
  int64_t t = 0;
  {
    auto s = MustOpen(path);
    int64_t study = *s->CreateStudy("attrs", {StudyDirection::kMinimize});
    t = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialSystemAttr(t, "pos", Json(inf)).ok());
    ASSERT_TRUE(s->SetTrialSystemAttr(t, "neg", Json(-inf)).ok());
    ASSERT_TRUE(s->SetTrialSystemAttr(t, "nan", Json(std::nan(""))).ok());
    ASSERT_TRUE(s->SetTrialUserAttr(t, "nested", Json{{"a", {1.5, -inf}}, {"b", "Infinity"}}).ok());
    ASSERT_TRUE(s->SetTrialUserAttr(t, "finite", Json{{"a", {1.5, 2}}}).ok());
  }
  auto text = [&](const std::string& table, const std::string& key) {
    return QueryText(path, "SELECT value_json FROM " + table + " WHERE key = '" + key + "'");
  };
  EXPECT_EQ(text("trial_system_attributes", "pos"), "Infinity");
  EXPECT_EQ(text("trial_system_attributes", "neg"), "-Infinity");
  EXPECT_EQ(text("trial_system_attributes", "nan"), "NaN");
  EXPECT_EQ(text("trial_user_attributes", "nested"), R"({"a":[1.5,-Infinity],"b":"Infinity"})");
  EXPECT_EQ(text("trial_user_attributes", "finite"), R"({"a":[1.5,2]})");  // Json::dump()'s

  auto s = MustOpen(path);
  Result<FrozenTrial> read = s->GetTrial(t);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->system_attrs.at("pos"), Json(inf));
  EXPECT_EQ(read->system_attrs.at("neg"), Json(-inf));
  EXPECT_TRUE(read->system_attrs.at("nan").is_null());  // JSON has no NaN: read as null
  EXPECT_EQ(read->user_attrs.at("nested"), (Json{{"a", {1.5, -inf}}, {"b", "Infinity"}}));
  s.reset();

  // Text as Python's json.dumps writes it (spaces), and a string holding U+0000, with which
  // Infinity stays unread (the text is kept as a string).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE trial_user_attributes SET value_json = "
                         "'[Infinity, -Infinity, NaN, \"-Infinity\"]' WHERE key = 'nested';"
                         "UPDATE trial_user_attributes SET value_json = "
                         "'[\"\\u0000+Infinity\", Infinity]' WHERE key = 'finite'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  s = MustOpen(path);
  read = s->GetTrial(t);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->user_attrs.at("nested"), (Json{inf, -inf, nullptr, "-Infinity"}));
  EXPECT_EQ(read->user_attrs.at("finite"), Json(R"(["\u0000+Infinity", Infinity])"));
}

// --- Files from Optuna 3.0 / 3.1 -------------------------------------------------------------

TEST(SqliteLegacyTest, OpensV300dFileAndKeepsItsStamp) {
  TempDir dir;
  const std::string path = dir.path() + "/old.db";
  MakeOptunaDb("study31", path, "legacy");
  const auto master_before = SqliteMaster(path);
  {
    auto s = MustOpen(path);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->alembic_version(), "v3.0.0.d");
    int64_t study = *s->GetStudyId("legacy");
    auto trials = *s->GetAllTrials(study);
    ASSERT_EQ(trials.size(), 3u);
    for (const auto& t : trials) {
      EXPECT_EQ(t.state, TrialState::kComplete);
      double x = t.params.at("x");
      EXPECT_DOUBLE_EQ(t.value(), x * x);
    }
    int64_t t = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(t, "x", 0.5, FloatDistribution{-1, 1, false, {}}).ok());
    ASSERT_TRUE(s->SetTrialStateValues(t, TrialState::kComplete, {0.25}).ok());
  }
  EXPECT_EQ(QueryText(path, "SELECT version_num FROM alembic_version"), "v3.0.0.d");
  EXPECT_EQ(SqliteMaster(path), master_before);  // no index added, nothing else changed
  // Optuna 3.1 still opens it with its compatibility check on and sees our trial.
  std::string out;
  std::string cmd = std::string(MGR_PYTHON) +
                    " -c \"import optuna; s = optuna.load_study(study_name='legacy', "
                    "storage='sqlite:///" +
                    path +
                    "'); t = s.trials[3]; print(t.number, t.state.name, t.params['x'], t.value)\"";
  ASSERT_EQ(RunCommand(cmd, &out), 0) << out;
  EXPECT_EQ(out, "3 COMPLETE 0.5 0.25\n");
}

// --- Bad input -------------------------------------------------------------------------------

void ExpectOpenFailsAndFileUntouched(const std::string& path, StatusCode code,
                                     const std::string& needle) {
  const std::string before = ReadFile(path);
  auto r = SqliteStorage::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_NE(access((path + "-wal").c_str(), F_OK), 0);
  EXPECT_NE(access((path + "-journal").c_str(), F_OK), 0);
}

TEST(SqliteBadInputTest, NotSqlite) {
  TempDir dir;
  const std::string path = dir.path() + "/study.db";
  std::string junk = "{\"this\": \"is a study.json, not a database\"}\n";
  for (int i = 0; i < 200; ++i) junk += "padding line " + std::to_string(i) + "\n";
  WriteFile(path, junk);
  ExpectOpenFailsAndFileUntouched(path, StatusCode::kCorruption, "not an SQLite database");
}

void MakeSqliteFile(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  sqlite3_close(db);
}

TEST(SqliteBadInputTest, ForeignSchema) {
  TempDir dir;
  const std::string path = dir.path() + "/foreign.db";
  MakeSqliteFile(path,
                 "CREATE TABLE trials (id INTEGER PRIMARY KEY, name TEXT, score REAL);"
                 "INSERT INTO trials (name, score) VALUES ('a', 1.0), ('b', 2.0);");
  ExpectOpenFailsAndFileUntouched(path, StatusCode::kCorruption, "not an Optuna storage");
}

TEST(SqliteBadInputTest, TrialsTableWithOtherColumns) {
  TempDir dir;
  const std::string ref = dir.path() + "/ref.db";
  MakeOptunaDb("schema31", ref);
  const std::string path = dir.path() + "/altered.db";
  std::string schema;
  for (const auto& row : SqliteMaster(ref)) {
    if (std::get<3>(row) == "<null>") continue;
    std::string sql = std::get<3>(row);
    if (std::get<1>(row) == "trials") sql = "CREATE TABLE trials (trial_id INTEGER, label TEXT)";
    schema += sql + ";\n";
  }
  schema += "INSERT INTO alembic_version VALUES ('v3.0.0.d');";
  MakeSqliteFile(path, schema);
  ExpectOpenFailsAndFileUntouched(path, StatusCode::kCorruption, "column 'number'");
}

TEST(SqliteBadInputTest, NoAlembicVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/noalembic.db";
  MakeOptunaDb("schema31", path);
  MakeSqliteFile(path, "DROP TABLE alembic_version;");
  ExpectOpenFailsAndFileUntouched(path, StatusCode::kCorruption, "alembic_version");
}

TEST(SqliteBadInputTest, UnknownRevision) {
  TempDir dir;
  const std::string path = dir.path() + "/future.db";
  MakeOptunaDb("schema31", path);
  MakeSqliteFile(path, "UPDATE alembic_version SET version_num = 'v9.9.9.z';");
  ExpectOpenFailsAndFileUntouched(path, StatusCode::kFailedPrecondition, "v9.9.9.z");
}

TEST(SqliteBadInputTest, MissingDirectoryAndNewFile) {
  TempDir dir;
  const std::string missing = dir.path() + "/no/such/dir/s.db";
  auto r = SqliteStorage::Open(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find(dir.path() + "/no/such/dir"), std::string::npos)
      << r.status().message();
  EXPECT_NE(access(missing.c_str(), F_OK), 0);

  const std::string fresh = dir.path() + "/fresh.db";
  ASSERT_NE(access(fresh.c_str(), F_OK), 0);
  auto s = MustOpen(fresh);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->GetAllStudies()->empty());
  EXPECT_EQ(access(fresh.c_str(), F_OK), 0);
  // An empty (0-byte) file counts as new too.
  const std::string empty = dir.path() + "/empty.sqlite";
  WriteFile(empty, "");
  auto e = OpenStorage(empty);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
}

TEST(SqliteBadInputTest, RejectedWritesLeaveFileByteIdentical) {
  TempDir dir;
  const std::string path = dir.path() + "/s.db";
  int64_t study, done;
  {
    auto s = MustOpen(path);
    study = *s->CreateStudy("cnn", {StudyDirection::kMinimize});
    done = *s->CreateTrial(study);
    ASSERT_TRUE(s->SetTrialParam(done, "lr", 0.01, FloatDistribution{1e-4, 1, true, {}}).ok());
    ASSERT_TRUE(s->SetTrialStateValues(done, TrialState::kComplete, {0.5}).ok());
  }
  const std::string before = ReadFile(path);
  {
    auto s = MustOpen(path);
    Status w = s->SetTrialIntermediateValue(done, 1, 2.0);
    EXPECT_EQ(w.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(w.message().find(path), std::string::npos) << w.message();
    EXPECT_NE(w.message().find("study 'cnn'"), std::string::npos) << w.message();
    EXPECT_NE(w.message().find("trial " + std::to_string(done)), std::string::npos);
    EXPECT_EQ(s->SetTrialStateValues(done, TrialState::kFail).code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(s->SetTrialParam(done, "lr", 0.02, FloatDistribution{1e-4, 1, true, {}}).code(),
              StatusCode::kFailedPrecondition);
    auto unknown = s->GetStudyId("rnn");
    EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
    EXPECT_NE(unknown.status().message().find("'rnn'"), std::string::npos);
    EXPECT_NE(unknown.status().message().find(path), std::string::npos);
    EXPECT_EQ(s->CreateTrial(study + 7).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(s->SetStudyUserAttr(study + 7, "k", 1).code(), StatusCode::kNotFound);
    EXPECT_EQ(s->CreateStudy("cnn", {StudyDirection::kMaximize}).status().code(),
              StatusCode::kAlreadyExists);
    EXPECT_EQ(s->SetTrialParam(*s->GetTrialIdFromNumber(study, 0), "x", 1,
                               IntDistribution{0, 3, false, 1})
                  .code(),
              StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(ReadFile(path), before);
}

TEST(SqliteUrlTest, RelativeAndAbsoluteUrls) {
  TempDir dir;
  char old[4096];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  {
    auto rel = OpenStorage("sqlite:///rel.db");
    ASSERT_TRUE(rel.ok()) << rel.status().ToString();
    ASSERT_TRUE((*rel)->CreateStudy("r", {StudyDirection::kMinimize}).ok());
  }
  ASSERT_EQ(chdir(old), 0);
  EXPECT_EQ(QueryText(dir.path() + "/rel.db", "SELECT study_name FROM studies"), "r");
  auto abs = OpenStorage("sqlite:///" + dir.path() + "/rel.db");  // sqlite:////tmp/...
  ASSERT_TRUE(abs.ok()) << abs.status().ToString();
  EXPECT_TRUE((*abs)->GetStudyId("r").ok());
  auto plain = OpenStorage(dir.path() + "/rel.db");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE((*plain)->GetStudyId("r").ok());
  EXPECT_EQ(OpenStorage("mysql://host/db").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStorage(dir.path() + "/study.json").status().code(), StatusCode::kInvalidArgument);
}

// --- Several processes -----------------------------------------------------------------------

// Runs `body` in `n` forked children (each gets its index) and returns their exit codes.
std::vector<int> ForkAndWait(int n, const std::function<int(int)>& body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(body(i));
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
  }
  return codes;
}

TEST(SqliteMultiProcessTest, ConcurrentWritersGetExactSetAndNumbers) {
  TempDir dir;
  const std::string path = dir.path() + "/mp.db";
  int64_t study = *MustOpen(path)->CreateStudy("mp", {StudyDirection::kMinimize});
  const int kProcs = 4, kPerProc = 40;
  std::vector<int> codes = ForkAndWait(kProcs, [&](int worker) {
    auto r = SqliteStorage::Open(path);
    if (!r.ok()) return 2;
    auto& s = *r;
    for (int i = 0; i < kPerProc; ++i) {
      auto t = s->CreateTrial(study);
      if (!t.ok()) {
        fprintf(stderr, "%s\n", t.status().ToString().c_str());
        return 3;
      }
      Status st = s->SetTrialUserAttr(*t, "who", Json::array({worker, i}));
      if (st.ok()) st = s->SetTrialParam(*t, "x", worker, IntDistribution{0, 10, false, 1});
      if (st.ok()) st = s->SetTrialIntermediateValue(*t, 0, i);
      if (st.ok()) st = s->SetTrialStateValues(*t, TrialState::kComplete, {worker * 100.0 + i});
      if (!st.ok()) {
        fprintf(stderr, "%s\n", st.ToString().c_str());
        return 4;
      }
    }
    return 0;
  });
  EXPECT_EQ(codes, std::vector<int>(kProcs, 0));
  auto s = MustOpen(path);
  auto trials = *s->GetAllTrials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(kProcs * kPerProc));
  std::set<std::pair<int, int>> who;
  for (size_t n = 0; n < trials.size(); ++n) {
    const FrozenTrial& t = trials[n];
    EXPECT_EQ(t.number, static_cast<int64_t>(n));
    EXPECT_EQ(t.state, TrialState::kComplete);
    int w = t.user_attrs.at("who")[0], i = t.user_attrs.at("who")[1];
    who.emplace(w, i);
    EXPECT_EQ(t.params.at("x"), w);
    EXPECT_EQ(t.intermediate_values.at(0), i);
    EXPECT_EQ(t.value(), w * 100.0 + i);
  }
  EXPECT_EQ(who.size(), static_cast<size_t>(kProcs * kPerProc));  // no lost, no duplicated write
  EXPECT_EQ(QueryText(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteMultiProcessTest, ClaimAndFailStaleExactlyOnceAcrossProcesses) {
  TempDir dir;
  const std::string path = dir.path() + "/claim.db";
  const std::string out_dir = dir.path();
  int64_t study;
  std::set<int64_t> waiting, beating;
  {
    auto s = MustOpen(path);
    study = *s->CreateStudy("c", {StudyDirection::kMinimize});
    FrozenTrial w;
    w.state = TrialState::kWaiting;
    for (int i = 0; i < 30; ++i) waiting.insert(*s->CreateTrial(study, &w));
    for (int i = 0; i < 30; ++i) {
      int64_t t = *s->CreateTrial(study);
      ASSERT_TRUE(s->RecordHeartbeat(t).ok());
      beating.insert(t);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::vector<int> codes = ForkAndWait(3, [&](int worker) {
    auto r = SqliteStorage::Open(path);
    if (!r.ok()) return 2;
    std::string claimed, failed;
    while (true) {
      auto c = (*r)->ClaimWaitingTrial(study);
      if (!c.ok()) return 3;
      if (!c->has_value()) break;
      claimed += std::to_string(**c) + "\n";
    }
    auto f = (*r)->FailStaleTrials(study, std::chrono::seconds(0));
    if (!f.ok()) return 4;
    for (int64_t id : *f) failed += std::to_string(id) + "\n";
    WriteFile(out_dir + "/claimed" + std::to_string(worker), claimed);
    WriteFile(out_dir + "/failed" + std::to_string(worker), failed);
    return 0;
  });
  ASSERT_EQ(codes, std::vector<int>(3, 0));
  auto collect = [&](const std::string& prefix) {
    std::vector<int64_t> ids;
    for (int w = 0; w < 3; ++w) {
      std::istringstream in(ReadFile(out_dir + "/" + prefix + std::to_string(w)));
      int64_t id;
      while (in >> id) ids.push_back(id);
    }
    return ids;
  };
  std::vector<int64_t> claimed = collect("claimed"), failed = collect("failed");
  EXPECT_EQ(claimed.size(), waiting.size());
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()), waiting);
  // The claimed trials never had a heartbeat, so only the beating ones are stale.
  EXPECT_EQ(failed.size(), beating.size());
  EXPECT_EQ(std::set<int64_t>(failed.begin(), failed.end()), beating);
}

// Children write whole trials in one call (template trials) and step by step, in loops; the
// parent SIGKILLs them at random moments. Afterwards the file is intact, numbers have no
// gaps or duplicates, and every template trial is complete in itself.
TEST(SqliteMultiProcessTest, SigkillMidWriteNeverCorrupts) {
  TempDir dir;
  const std::string path = dir.path() + "/kill.db";
  int64_t study = *MustOpen(path)->CreateStudy("kill", {StudyDirection::kMinimize});
  std::mt19937 rng(12345);
  const int kRounds = 6, kProcs = 3;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
      pid_t pid = fork();
      if (pid == 0) {
        auto r = SqliteStorage::Open(path);
        if (!r.ok()) _exit(2);
        auto& s = *r;
        for (int i = 0;; ++i) {
          if (i % 2 == 0) {
            FrozenTrial t;
            t.state = TrialState::kComplete;
            t.values = {static_cast<double>(i)};
            for (int k = 0; k < 5; ++k) {
              t.params["p" + std::to_string(k)] = k;
              t.distributions["p" + std::to_string(k)] = IntDistribution{0, 10, false, 1};
            }
            for (int step = 0; step < 30; ++step) t.intermediate_values[step] = step * 0.5;
            t.user_attrs["kind"] = "whole";
            if (!s->CreateTrial(study, &t).ok()) _exit(3);
          } else {
            auto id = s->CreateTrial(study);
            if (!id.ok()) _exit(4);
            (void)s->SetTrialUserAttr(*id, "kind", "steps");
            for (int step = 0; step < 30; ++step)
              (void)s->SetTrialIntermediateValue(*id, step, step);
            (void)s->SetTrialStateValues(*id, TrialState::kComplete, {1.0});
          }
        }
      }
      pids.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 150));
    for (pid_t pid : pids) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
      kill(pid, SIGKILL);
    }
    for (pid_t pid : pids) {
      int status = 0;
      waitpid(pid, &status, 0);
      EXPECT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    }
  }
  EXPECT_EQ(QueryText(path, "PRAGMA integrity_check"), "ok");
  auto s = MustOpen(path);
  ASSERT_NE(s, nullptr);
  auto trials = *s->GetAllTrials(study);
  ASSERT_GT(trials.size(), 10u);
  int whole = 0;
  for (size_t n = 0; n < trials.size(); ++n) {
    const FrozenTrial& t = trials[n];
    EXPECT_EQ(t.number, static_cast<int64_t>(n));
    auto kind = t.user_attrs.find("kind");
    if (kind != t.user_attrs.end() && kind->second == "whole") {
      ++whole;
      EXPECT_EQ(t.state, TrialState::kComplete);
      EXPECT_EQ(t.params.size(), 5u);
      EXPECT_EQ(t.distributions.size(), 5u);
      EXPECT_EQ(t.intermediate_values.size(), 30u);
      EXPECT_EQ(t.values.size(), 1u);
    } else {
      // Step-by-step trials: each call is atomic, so the prefix is whole: a COMPLETE one has
      // all 30 steps, a RUNNING one steps 0..k-1 with no gap.
      int64_t k = static_cast<int64_t>(t.intermediate_values.size());
      if (k > 0) {
        EXPECT_EQ(t.intermediate_values.rbegin()->first, k - 1);
      }
      if (t.state == TrialState::kComplete) {
        EXPECT_EQ(k, 30);
      } else {
        EXPECT_EQ(t.state, TrialState::kRunning);
        EXPECT_TRUE(t.values.empty());
      }
    }
  }
  EXPECT_GT(whole, 0);
  // No orphan rows from half-written trials.
  EXPECT_EQ(QueryText(path,
                      "SELECT COUNT(*) FROM trial_params WHERE trial_id NOT IN (SELECT "
                      "trial_id FROM trials)"),
            "0");
}

}  // namespace
}  // namespace mgr
