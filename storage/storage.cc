#include "storage/storage.h"

#include "storage/in_memory_storage.h"

namespace mgr {

Result<std::unique_ptr<Storage>> OpenStorage(const std::string& url) {
  if (url == ":memory:") return std::unique_ptr<Storage>(new InMemoryStorage());
  return Status::InvalidArgument("unsupported storage URL '" + url +
                                 "' (expected sqlite:///path.db, a path ending in .db, "
                                 ".sqlite or .sqlite3, or :memory:)");
}

}  // namespace mgr
