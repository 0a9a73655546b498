#include "storage/storage.h"

#include <algorithm>

#include "storage/in_memory_storage.h"
#include "storage/sqlite_storage.h"

namespace mgr {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

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
