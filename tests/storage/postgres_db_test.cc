// storage/postgres_db: URL parsing, errors that name the server and hide the password, and —
// against the scratch server of the ctest fixture (tools/postgres_test_server.sh) —
// all-or-nothing transactions and row-locked claims racing from several connections.
#include "storage/postgres_db.h"

#include "tests/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mgr {
namespace pg {
namespace {

TEST(PostgresUrl, ParsesSqlAlchemyFormsAndQuery) {
  auto info =
      ParseUrl("postgresql+psycopg2://al%40ice:p%3Ass@db.example:6543/optuna?sslmode=disable");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->user, "al@ice");
  EXPECT_EQ(info->password, "p:ss");
  EXPECT_EQ(info->host, "db.example");
  EXPECT_EQ(info->port, "6543");
  EXPECT_EQ(info->dbname, "optuna");
  ASSERT_EQ(info->params.size(), 1u);
  EXPECT_EQ(info->params[0].first, "sslmode");
  EXPECT_EQ(info->Describe(), "db.example:6543/optuna");

  auto sock = ParseUrl("postgresql:///mgr?host=/run/pg%20dir");
  ASSERT_TRUE(sock.ok()) << sock.status().message();
  EXPECT_EQ(sock->Describe(), "/run/pg dir:5432/mgr");
  auto overridden = ParseUrl("postgresql://h:1/a?port=6543&dbname=b");
  ASSERT_TRUE(overridden.ok()) << overridden.status().message();
  EXPECT_EQ(overridden->Describe(), "h:6543/b");
  auto v6 = ParseUrl("postgres://u@[::1]:5433/d");
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "5433");
}

TEST(PostgresUrl, RejectsBadUrlsWithoutShowingThePassword) {
  for (const char* url : {"mysql://u:secret@h/db", "postgresql://u:secret@h:99999/db",
                          "postgresql://u:secret@h:5432/", "postgresql://u:secret@h/db?novalue",
                          "postgresql://u:secret@h/d%zzb", "postgresql://u:secret@[::1/db"}) {
    auto info = ParseUrl(url);
    ASSERT_FALSE(info.ok()) << url;
    EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(info.status().message().find("secret"), std::string::npos) << info.status().message();
  }
}

TEST(PostgresConnection, RefusedNamesTheServerNotThePassword) {
  auto info = ParseUrl("postgresql://u:secret@127.0.0.1:1/nodb");
  ASSERT_TRUE(info.ok());
  auto conn = Connection::Open(*info);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(conn.status().message().find("127.0.0.1:1/nodb"), std::string::npos)
      << conn.status().message();
  EXPECT_EQ(conn.status().message().find("secret"), std::string::npos);
}

class PostgresServer : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing_util::PostgresTestUrl();
    ASSERT_FALSE(url_.empty())
        << "no PostgreSQL test server: run through ctest (fixture postgres_server, "
           "tools/postgres_test_server.sh; needs the Debian package 'postgresql')";
    auto info = ParseUrl(url_);
    ASSERT_TRUE(info.ok()) << info.status().message();
    info_ = *info;
    auto conn = Connection::Open(info_);
    ASSERT_TRUE(conn.ok()) << conn.status().message();
    conn_ = std::move(*conn);
    table_ = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(conn_->Exec("DROP TABLE IF EXISTS " + table_).ok());
    auto made = conn_->Exec("CREATE TABLE " + table_ +
                            " (id integer PRIMARY KEY, state text NOT NULL, owner integer)");
    ASSERT_TRUE(made.ok()) << made.status().message();
  }
  std::string url_, table_;
  ConnectionInfo info_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(PostgresServer, FailedTransactionWritesNothing) {
  Status s = conn_->Transact([&]() -> Status {
    MGR_RETURN_IF_ERROR(
        conn_->Exec("INSERT INTO " + table_ + " VALUES (1, 'RUNNING', NULL)").status());
    // A duplicate key: the second statement fails, so the first must be rolled back too.
    return conn_->Exec("INSERT INTO " + table_ + " VALUES (1, 'RUNNING', NULL)").status();
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.message();
  auto n = conn_->Exec("SELECT count(*) FROM " + table_);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->Int(0, 0), 0);
  // The connection is usable again (no transaction left open).
  auto ok =
      conn_->Exec("INSERT INTO " + table_ + " VALUES ($1, $2, $3)", {"7", "WAITING", std::nullopt});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->Affected(), 1);
  auto row = conn_->Exec("SELECT id, state, owner FROM " + table_);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->Int(0, 0), 7);
  EXPECT_EQ(row->Text(0, 1), "WAITING");
  EXPECT_TRUE(row->IsNull(0, 2));
}

// Eight connections claim 200 WAITING rows with SELECT ... FOR UPDATE SKIP LOCKED, each under a
// shared budget of 150 kept in a locked counter row: every row claimed at most once, exactly
// 150 claims in all.
TEST_F(PostgresServer, ConcurrentClaimsNeverDoubleClaimAndKeepTheBudget) {
  constexpr int kRows = 200, kBudget = 150, kThreads = 8;
  ASSERT_TRUE(conn_
                  ->Exec("INSERT INTO " + table_ +
                         " SELECT g, 'WAITING', NULL FROM generate_series(1, " +
                         std::to_string(kRows) + ") g")
                  .ok());
  ASSERT_TRUE(conn_->Exec("INSERT INTO " + table_ + " VALUES (0, 'BUDGET', 0)").ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 1; t <= kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = Connection::Open(info_);
      if (!conn.ok()) return void(++failures);
      Connection& c = **conn;
      for (;;) {
        bool done = false;
        Status s = c.Transact([&]() -> Status {
          done = false;
          MGR_ASSIGN_OR_RETURN(Rows budget,
                               c.Exec("SELECT owner FROM " + table_ + " WHERE id = 0 FOR UPDATE"));
          if (budget.Int(0, 0) >= kBudget) return void(done = true), Status::Ok();
          MGR_ASSIGN_OR_RETURN(Rows row, c.Exec("SELECT id FROM " + table_ +
                                                " WHERE state = 'WAITING' ORDER BY id LIMIT 1 "
                                                "FOR UPDATE SKIP LOCKED"));
          if (row.size() == 0) return void(done = true), Status::Ok();
          MGR_RETURN_IF_ERROR(c.Exec("UPDATE " + table_ +
                                         " SET state = 'RUNNING', owner = $1 "
                                         "WHERE id = $2 AND state = 'WAITING'",
                                     {std::to_string(t), row.Text(0, 0)})
                                  .status());
          return c.Exec("UPDATE " + table_ + " SET owner = owner + 1 WHERE id = 0").status();
        });
        if (!s.ok()) return void(++failures);
        if (done) return;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto n = conn_->Exec("SELECT count(*), count(DISTINCT id) FROM " + table_ +
                       " WHERE state = 'RUNNING'");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Int(0, 0), kBudget);
  EXPECT_EQ(n->Int(0, 1), kBudget);
  auto b = conn_->Exec("SELECT owner FROM " + table_ + " WHERE id = 0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->Int(0, 0), kBudget);
}

}  // namespace
}  // namespace pg
}  // namespace mgr
