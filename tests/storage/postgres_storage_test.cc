// PostgresStorage beyond the conformance suite (which runs every Storage test on it): what
// only a server has. Each test works in a database of its own on the postgres_server
// fixture's scratch server.
#include "storage/postgres_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <thread>
#include <vector>

#include "storage/postgres_db.h"
#include "tests/storage/storage_test_util.h"

namespace mgr {
namespace {

class PostgresStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    // PostgreSQL folds unquoted names to lower case.
    std::string name =
        std::string("pgs_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    url_ = testing_util::PostgresTestDatabase(name, &error, /*fresh=*/true);
    ASSERT_FALSE(url_.empty()) << error;
    auto info = pg::ParseUrl(url_);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    auto admin = pg::Connection::Open(*info);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = std::move(*admin);
  }

  std::unique_ptr<PostgresStorage> Open(bool create_schema = true) {
    PostgresStorage::Options o;
    o.create_schema = create_schema;
    auto s = PostgresStorage::Open(url_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  int64_t Count(const std::string& sql) {
    auto r = admin_->Exec(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->Int(0, 0) : -1;
  }

  std::string url_;
  std::unique_ptr<pg::Connection> admin_;
};

TEST_F(PostgresStorageTest, ADatabaseWithOtherTablesIsRefusedAndLeftAlone) {
  ASSERT_TRUE(admin_->Exec("CREATE TABLE payroll (id integer)").ok());
  auto s = PostgresStorage::Open(url_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("not Optuna's"), std::string::npos) << s.status().ToString();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"), 1);
}

TEST_F(PostgresStorageTest, ReadOnlyOpenOfAnEmptyDatabaseIsNotFoundAndCreatesNothing) {
  OpenOptions read_only;
  read_only.read_only = true;
  auto s = OpenStorage(url_, read_only);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound) << s.status().ToString();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
}

// Eight processes' worth of connections open one empty database at once: the advisory lock
// lets one create the schema; all succeed and the schema exists once.
TEST_F(PostgresStorageTest, ConcurrentFirstOpensCreateTheSchemaOnce) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto s = PostgresStorage::Open(url_, {});
      if (!s.ok() || (*s)->alembic_version() != PostgresStorage::kAlembicVersion) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM alembic_version"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM version_info"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'ix_trials_study_id'"), 1);
}

// The server drops the connection (a restart, a failover): the call in flight fails with an
// error naming the server, nothing half-written stays, and the next call reconnects.
TEST_F(PostgresStorageTest, ALostConnectionFailsOneCallClearlyAndTheNextReconnects) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  int64_t study = *s->CreateStudy("s", {StudyDirection::kMinimize});
  int64_t trial = *s->CreateTrial(study);
  ASSERT_TRUE(s->SetTrialIntermediateValue(trial, 0, 1.0).ok());
  ASSERT_TRUE(admin_
                  ->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "application_name = 'mgr-tune' AND pid <> pg_backend_pid() AND datname "
                         "= current_database()")
                  .ok());
  Status lost = s->SetTrialStateValues(trial, TrialState::kComplete, {0.5});
  if (!lost.ok()) {  // the drop was noticed by this call: a clear error, nothing written
    EXPECT_EQ(lost.code(), StatusCode::kUnavailable) << lost.ToString();
    EXPECT_NE(lost.message().find(s->Describe()), std::string::npos) << lost.ToString();
    Result<FrozenTrial> t = s->GetTrial(trial);  // reconnects
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->state, TrialState::kRunning);
    EXPECT_TRUE(t->values.empty());
    ASSERT_TRUE(s->SetTrialStateValues(trial, TrialState::kComplete, {0.5}).ok());
  }
  Result<FrozenTrial> t = s->GetTrial(trial);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->state, TrialState::kComplete);
  EXPECT_EQ(t->values, std::vector<double>{0.5});
  EXPECT_EQ(t->intermediate_values, (std::map<int64_t, double>{{0, 1.0}}));
}

}  // namespace
}  // namespace mgr
