#include "storage/sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <thread>

namespace mgr {
namespace sqlite {

namespace {

// Internal marker: a transient busy error that Transact retries.
constexpr char kBusyMarker[] = "[retriable] ";

}  // namespace

bool IsBusy(const Status& s) {
  return s.code() == StatusCode::kBusy && s.message().rfind(kBusyMarker, 0) == 0;
}

// --- Statement -------------------------------------------------------------------------------

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int index, const char* value) {
  sqlite3_bind_text(stmt_, index, value, -1, SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, std::string("running '") + sqlite3_sql(stmt_) + "'");
}

Status Statement::Run() {
  Result<bool> r = Step();
  if (!r.ok()) return r.status();
  return Status::Ok();
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string_view Statement::View(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return std::string_view();
  return std::string_view(reinterpret_cast<const char*>(p),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::string> Statement::OptionalText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

// --- Database --------------------------------------------------------------------------------

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool read_only) {
  sqlite3* raw = nullptr;
  // Read-only is a read-write connection that never creates the file and refuses every
  // change (query_only): unlike SQLITE_OPEN_READONLY it can still remove the -wal and -shm
  // files of a WAL database when it closes, so a read leaves no trace beside the file.
  const int mode = SQLITE_OPEN_READWRITE | (read_only ? 0 : SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, mode | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Database> db(new Database(path, raw));  // closes `raw` even on failure
  if (rc != SQLITE_OK) return db->Error(rc, "opening");
  sqlite3_extended_result_codes(raw, 1);
  // SQLite's own handler waits up to 2 s per attempt; Transact retries around it.
  sqlite3_busy_timeout(raw, 2000);
  if (read_only) MGR_RETURN_IF_ERROR(db->Exec("PRAGMA query_only=1"));
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Database::Error(int rc, const std::string& what) const {
  std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string where = "SQLite database '" + path_ + "': " + what + ": " + detail;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(kBusyMarker + where);
    case SQLITE_NOTADB:
      return Status::Corruption("'" + path_ + "' is not an SQLite database (" + detail + ")");
    case SQLITE_CORRUPT:
      return Status::Corruption(where + " (the file is damaged; restore it from a backup)");
    case SQLITE_CANTOPEN:
      return Status::IoError("cannot open SQLite database '" + path_ +
                             "' (does its directory exist and is it writable?): " + detail);
    case SQLITE_FULL:
      return Status::IoError(where + " (the disk is full)");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_IOERR:
      return Status::IoError(where);
    case SQLITE_CONSTRAINT:
      return Status::InvalidArgument(where);
    default:
      return Status::Internal(where);
  }
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(rc, "running '" + sql + "'");
  return Status::Ok();
}

Result<Statement> Database::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Error(rc, "preparing '" + sql + "'");
    }
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(this, it->second);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }

Status Database::Retry(const std::function<Status()>& body) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::minstd_rand rng(static_cast<unsigned>(reinterpret_cast<uintptr_t>(this)) ^
                       static_cast<unsigned>(start.time_since_epoch().count()));
  int attempt = 0;
  while (true) {
    Status s = body();
    if (!IsBusy(s)) return s;
    auto waited = Clock::now() - start;
    if (waited >= busy_deadline_) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(waited).count();
      return Status::Busy("SQLite database '" + path_ + "' stayed locked by another process for " +
                          std::to_string(secs) +
                          " s; is a long-running program (a DB browser with an open write "
                          "transaction, a stuck mgr-tune) holding it? Close it and retry");
    }
    // Exponential backoff with jitter, 1 ms .. 100 ms, so that competing processes spread out.
    int cap = std::min(100, 1 << std::min(attempt, 7));
    std::uniform_int_distribution<int> jitter(cap / 2, cap);
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
    ++attempt;
  }
}

Status Database::Transact(Mode mode, const std::function<Status()>& body) {
  // BEGIN and COMMIT run thousands of times per study: keep them prepared.
  auto run = [&](const char* sql) -> Status {
    Result<Statement> st = Prepare(sql);
    if (!st.ok()) return st.status();
    return st->Run();
  };
  return Retry([&]() -> Status {
    Status s = run(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!s.ok()) return s;
    s = body();
    if (s.ok()) s = run("COMMIT");
    if (!s.ok() && !sqlite3_get_autocommit(db_)) {
      // Roll back whatever the body did; a failed ROLLBACK leaves nothing to undo.
      Status ignored = run("ROLLBACK");
      (void)ignored;
    }
    return s;
  });
}

}  // namespace sqlite
}  // namespace mgr
