#include "storage/storage.h"

#include "storage/in_memory_storage.h"
#include "storage/sqlite_storage.h"

namespace mgr {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenStorage(const std::string& url) {
  if (url == ":memory:") return std::unique_ptr<Storage>(new InMemoryStorage());
  std::string path;
  const std::string kScheme = "sqlite:///";
  if (url.rfind(kScheme, 0) == 0) {
    // SQLAlchemy's form: sqlite:///relative.db and sqlite:////absolute.db.
    path = url.substr(kScheme.size());
    if (path.empty() || path.find('?') != std::string::npos) {
      return Status::InvalidArgument("storage URL '" + url +
                                     "': expected sqlite:///path/to/file.db (no query options)");
    }
  } else if (url.find("://") != std::string::npos) {
    return Status::InvalidArgument("storage URL '" + url +
                                   "': only SQLite is supported (sqlite:///path.db or :memory:)");
  } else if (EndsWith(url, ".db") || EndsWith(url, ".sqlite") || EndsWith(url, ".sqlite3")) {
    path = url;
  } else {
    return Status::InvalidArgument("storage '" + url +
                                   "': expected sqlite:///path.db, a path ending in .db, .sqlite "
                                   "or .sqlite3, or :memory:");
  }
  Result<std::unique_ptr<SqliteStorage>> s = SqliteStorage::Open(path);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Storage>(std::move(s).value());
}

}  // namespace mgr
