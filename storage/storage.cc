#include "storage/storage.h"

#include <algorithm>

#include "storage/base/files.h"
#include "storage/base/strings.h"
#include "storage/in_memory_storage.h"
#include "storage/sqlite_storage.h"
#ifdef MGR_HAVE_POSTGRES
#include "storage/postgres_db.h"
#include "storage/postgres_storage.h"
#endif

namespace mgr {

Result<std::vector<FrozenTrial>> Storage::GetTrialsAfter(int64_t study_id, int64_t id_greater_than,
                                                         const std::vector<int64_t>& included_ids) {
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> all, GetAllTrials(study_id));
  std::vector<FrozenTrial> out;
  for (FrozenTrial& t : all) {
    if (t.trial_id > id_greater_than ||
        std::find(included_ids.begin(), included_ids.end(), t.trial_id) != included_ids.end()) {
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string StorageUrl::FilePath() const {
  if (backend != Backend::kSqlite || path == ":memory:") return "";
  return path;
}

std::string StorageUrl::Describe() const {
  switch (backend) {
    case Backend::kInMemory:
      return ":memory:";
    case Backend::kSqlite:
      return path;
    case Backend::kPostgres:
      break;
  }
#ifdef MGR_HAVE_POSTGRES
  Result<pg::ConnectionInfo> info = pg::ParseUrl(path);
  if (info.ok()) return "postgresql " + info->Describe();
#endif
  return "postgresql";
}

namespace {

bool IsPostgresUrl(std::string_view url) {
  return StartsWith(url, "postgresql://") || StartsWith(url, "postgresql+psycopg2://") ||
         StartsWith(url, "postgres://");
}

}  // namespace

Result<StorageUrl> ParseStorageUrl(std::string_view url) {
  const std::string text(url);
  StorageUrl parsed;
  if (text == ":memory:") return parsed;
  if (IsPostgresUrl(url)) {
    parsed.backend = StorageUrl::Backend::kPostgres;
    parsed.path = text;
#ifdef MGR_HAVE_POSTGRES
    MGR_RETURN_IF_ERROR(pg::ParseUrl(url).status());  // its errors never show the password
#endif
    return parsed;
  }
  parsed.backend = StorageUrl::Backend::kSqlite;
  constexpr std::string_view kScheme = "sqlite:///";
  if (StartsWith(url, kScheme)) {
    // SQLAlchemy's form: sqlite:///relative.db and sqlite:////absolute.db.
    std::string_view rest = url.substr(kScheme.size());
    size_t q = rest.find('?');
    parsed.path = std::string(rest.substr(0, q));
    if (q != std::string_view::npos) parsed.query = std::string(rest.substr(q + 1));
    if (parsed.path.empty()) {
      return Status::InvalidArgument("storage URL '" + text +
                                     "': expected sqlite:///path/to/file.db (no query options)");
    }
  } else if (text.find("://") != std::string::npos) {
    return Status::InvalidArgument("storage URL '" + text +
                                   "': expected sqlite:///path.db, postgresql://user@host/db or "
                                   ":memory:");
  } else if (EndsWith(url, ".db") || EndsWith(url, ".sqlite") || EndsWith(url, ".sqlite3")) {
    parsed.path = text;
  } else {
    return Status::InvalidArgument("storage '" + text +
                                   "': expected sqlite:///path.db, a path ending in .db, .sqlite "
                                   "or .sqlite3, or :memory:");
  }
  // The path goes to the C API as a C string, which a NUL byte would cut short.
  if (parsed.path.find('\0') != std::string::npos) {
    return Status::InvalidArgument("storage URL '" + text + "': the path has a NUL byte");
  }
  return parsed;
}

std::string DescribeStorageUrl(std::string_view url) {
  Result<StorageUrl> parsed = ParseStorageUrl(url);
  if (parsed.ok()) return parsed->Describe();
  // Unparsable: keep it recognisable, but never print what could be a password.
  const std::string text(url);
  const size_t at = text.find('@');
  return at == std::string::npos ? text : "..." + text.substr(at);
}

Result<std::unique_ptr<Storage>> OpenStorage(std::string_view url, const OpenOptions& options) {
  MGR_ASSIGN_OR_RETURN(StorageUrl parsed, ParseStorageUrl(url));
  if (parsed.backend == StorageUrl::Backend::kInMemory) {
    return std::unique_ptr<Storage>(new InMemoryStorage());
  }
  if (parsed.backend == StorageUrl::Backend::kPostgres) {
#ifdef MGR_HAVE_POSTGRES
    PostgresStorage::Options pg_options;
    pg_options.create_schema = !options.read_only && options.create_if_missing;
    MGR_ASSIGN_OR_RETURN(std::unique_ptr<PostgresStorage> s,
                         PostgresStorage::Open(parsed.path, pg_options));
    return std::unique_ptr<Storage>(std::move(s));
#else
    return Status::InvalidArgument(
        "storage " + parsed.Describe() +
        ": this mgr-tune was built without PostgreSQL (cmake -DMGR_POSTGRES=ON, libpq-dev)");
#endif
  }
  if (!parsed.query.empty()) {
    return Status::InvalidArgument("storage URL '" + std::string(url) +
                                   "': expected sqlite:///path/to/file.db (no query options)");
  }
  SqliteStorage::Options sqlite_options;
  const std::string file = parsed.FilePath();
  if (!file.empty()) {
    if ((options.read_only || !options.create_if_missing) && !PathExists(file)) {
      return Status::NotFound("database file '" + file + "' does not exist (storage " +
                              std::string(url) + ")");
    }
    sqlite_options.read_only = options.read_only;
  }
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStorage> s,
                       SqliteStorage::Open(parsed.path, sqlite_options));
  return std::unique_ptr<Storage>(std::move(s));
}

}  // namespace mgr
