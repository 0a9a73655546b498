// Thin RAII layer over libpq for the PostgreSQL trial store.
//
// ConnectionInfo is a parsed postgresql:// URL; Connection owns one PGconn* and Rows one
// PGresult*. Errors name host:port/db and what happened, never the password. A Connection is
// not thread-safe (one per thread or per process) and must not be used across fork().
#ifndef MGR_STORAGE_POSTGRES_DB_H_
#define MGR_STORAGE_POSTGRES_DB_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/base/status.h"

struct pg_conn;
struct pg_result;

namespace mgr {
namespace pg {

// postgresql://user:pass@host:port/db?key=value&... (also postgresql+psycopg2:// and
// postgres://, as SQLAlchemy and libpq write them). Percent-escapes are decoded; query keys
// are passed to libpq as connection keywords (host=/socket/dir, sslmode=..., options=...).
struct ConnectionInfo {
  std::string user, password, host, port, dbname;
  std::vector<std::pair<std::string, std::string>> params;  // the query, in order

  // "host:port/db" for messages: never the password.
  std::string Describe() const;
};
Result<ConnectionInfo> ParseUrl(std::string_view url);

// One query's result; Text/Int/Double read row `r`, column `c` (0-based).
class Rows {
 public:
  explicit Rows(pg_result* res) : res_(res) {}
  ~Rows();
  Rows(Rows&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  Rows& operator=(Rows&&) = delete;

  int size() const;
  bool IsNull(int r, int c) const;
  std::string Text(int r, int c) const;  // "" for NULL
  int64_t Int(int r, int c) const;
  double Double(int r, int c) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  friend class Connection;
  pg_result* res_;
};

// A query parameter: text (PostgreSQL casts it to the column's type) or NULL.
using Param = std::optional<std::string>;

class Connection {
 public:
  // Connects; kUnavailable naming host:port/db when the server refuses or is absent,
  // kFailedPrecondition on an authentication failure.
  static Result<std::unique_ptr<Connection>> Open(const ConnectionInfo& info);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const ConnectionInfo& info() const { return info_; }

  // Runs one statement with $1.. parameters. Outside a transaction a lost connection is
  // reopened once before the statement is sent (safe: nothing was sent); inside one the
  // error is returned and Transact rolls back.
  Result<Rows> Exec(const std::string& sql, const std::vector<Param>& params = {});
  // Runs `body` inside BEGIN ... COMMIT, or ROLLBACK if it fails: a multi-statement write is
  // all or nothing. A serialization failure or deadlock (SQLSTATE 40001/40P01) reruns
  // `body`, so it must have no effects outside the database.
  Status Transact(const std::function<Status()>& body);

 private:
  Connection(ConnectionInfo info, pg_conn* conn) : info_(std::move(info)), conn_(conn) {}
  static Result<pg_conn*> Connect(const ConnectionInfo& info);
  Status Error(const std::string& what) const;
  // The name of `sql` prepared on this session (prepared now if new), or nullptr to send it
  // unprepared: planning a statement once instead of every call halves a short call's time.
  const std::string* Prepared(const std::string& sql, int n_params);
  // The result of the statement just sent (nullptr if the connection failed): polls briefly
  // before blocking, see the definition.
  pg_result* AwaitResult();

  static constexpr size_t kMaxPrepared = 256;

  ConnectionInfo info_;
  pg_conn* conn_;
  bool in_transaction_ = false;
  std::string last_sqlstate_;  // of the last failed statement
  std::map<std::string, std::string> prepared_;  // SQL text -> prepared statement name
};

}  // namespace pg
}  // namespace mgr

#endif  // MGR_STORAGE_POSTGRES_DB_H_
