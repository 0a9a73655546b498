// Thin RAII layer over the SQLite C API for the trial store.
//
// Database owns one sqlite3* connection and a cache of prepared statements; Statement
// borrows a cached sqlite3_stmt* and resets it when it goes out of scope. Neither class
// is thread-safe: SqliteStorage serializes every use of a Database with its own mutex.
// A Database must not be used across fork(); open a new one in the child.
#ifndef MGR_STORAGE_SQLITE_DB_H_
#define MGR_STORAGE_SQLITE_DB_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mgr {
namespace sqlite {

class Database;

// A prepared statement borrowed from a Database's cache. Resets (and clears bindings) on
// destruction so the next user starts clean. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, const std::string& value);  // copied (SQLITE_TRANSIENT)
  Statement& Bind(int index, const char* value);
  Statement& BindNull(int index);

  // Rewinds the statement and clears its bindings so that it can run again.
  void Reset();
  // Steps once: true if a row is available, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;  // "" for NULL
  // Valid until the next Step, Reset or destruction; "" for NULL.
  std::string_view View(int col) const;
  std::optional<std::string> OptionalText(int col) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating if needed) the file. Opening alone never writes to an existing file.
  // A read-only connection never creates the file and fails every write.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, bool read_only = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }

  // How long a call keeps retrying while another connection holds the write lock before
  // it gives up with a kBusy Status.
  void set_busy_deadline(std::chrono::milliseconds d) { busy_deadline_ = d; }

  // Runs one or more statements without results (no retry; call inside Transact).
  Status Exec(const std::string& sql);
  // A cached prepared statement for `sql`.
  Result<Statement> Prepare(const std::string& sql);

  enum class Mode {
    kRead,   // BEGIN (deferred): a consistent snapshot for several SELECTs
    kWrite,  // BEGIN IMMEDIATE: takes the write lock up front, so no upgrade deadlocks
  };
  // Runs `body` inside a transaction and commits it, or rolls back if it fails. While the
  // database is busy (another process writing), rolls back and reruns `body` with growing
  // pauses until the busy deadline; then returns kBusy with an actionable message.
  // `body` must have no effects outside the database (it may run several times).
  Status Transact(Mode mode, const std::function<Status()>& body);
  // Same, without a transaction: for statements like PRAGMA journal_mode.
  Status Retry(const std::function<Status()>& body);

  // Maps an SQLite result code to a Status naming the file and what went wrong.
  Status Error(int rc, const std::string& what) const;
  int64_t LastInsertRowId() const;
  int Changes() const;

 private:
  Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  std::string path_;
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  std::chrono::milliseconds busy_deadline_{std::chrono::seconds(60)};
};

// True for the transient kBusy Status that Database::Error produces (SQLITE_BUSY/LOCKED).
bool IsBusy(const Status& s);

}  // namespace sqlite
}  // namespace mgr

#endif  // MGR_STORAGE_SQLITE_DB_H_
