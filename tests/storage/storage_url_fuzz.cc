// Fuzz target: storage URLs (storage/storage.h ParseStorageUrl), as given on the command line
// and in study files. The input is the URL's bytes. Checks, besides the sanitizers, that a
// URL that parses is one of the documented forms and that its parts are the URL's text:
//   ":memory:" -> in-memory; "sqlite:///PATH[?QUERY]" -> SQLite PATH and QUERY;
//   a plain path ending in .db, .sqlite or .sqlite3 -> SQLite, the path itself;
//   "postgresql://", "postgresql+psycopg2://", "postgres://" -> PostgreSQL, the whole URL,
//   described the same with or without user and password;
// that no path is empty or holds a NUL byte, and that FilePath is "" only in memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/base/strings.h"
#include "storage/storage.h"

namespace {

void Check(bool ok, const char* what, std::string_view url) {
  if (ok) return;
  std::fprintf(stderr, "storage_url_fuzz: %s: '%.*s'\n", what, static_cast<int>(url.size()),
               url.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  auto parsed = mgr::ParseStorageUrl(url);
  if (!parsed.ok()) {
    Check(parsed.status().code() == mgr::StatusCode::kInvalidArgument, "not InvalidArgument", url);
    return 0;
  }
  const mgr::StorageUrl& u = *parsed;
  if (u.backend == mgr::StorageUrl::Backend::kInMemory) {
    Check(url == ":memory:", "in memory but not ':memory:'", url);
    Check(u.FilePath().empty(), "an in-memory store with a file", url);
    return 0;
  }
  if (u.backend == mgr::StorageUrl::Backend::kPostgres) {
    Check(mgr::StartsWith(url, "postgres"), "PostgreSQL without its scheme", url);
    Check(u.path == url && u.FilePath().empty(), "a PostgreSQL URL kept otherwise", url);
    const std::string shown = u.Describe();
    Check(mgr::StartsWith(shown, "postgresql"), "a PostgreSQL store described otherwise", url);
    // Credentials: user[:password]@ before the end of the authority (the first '/' or '?'; an
    // '@' in the database name or the query is not one). The description must not depend on
    // them: it equals the description of the same URL without them.
    const size_t scheme_end = url.find("://") + 3;
    const size_t authority_end = std::min(url.find_first_of("/?", scheme_end), url.size());
    const size_t at = url.substr(0, authority_end).rfind('@');
    if (at != std::string_view::npos && at >= scheme_end) {
      const std::string without =
          std::string(url.substr(0, scheme_end)) + std::string(url.substr(at + 1));
      auto bare = mgr::ParseStorageUrl(without);
      Check(bare.ok() && bare->Describe() == shown, "the description depends on the credentials",
            url);
    }
    return 0;
  }
  Check(!u.path.empty(), "an empty path", url);
  Check(u.path.find('\0') == std::string::npos, "a path with a NUL byte", url);
  Check(u.FilePath().empty() == (u.path == ":memory:"), "FilePath disagrees with the path", url);
  constexpr std::string_view kScheme = "sqlite:///";
  if (mgr::StartsWith(url, kScheme)) {
    const std::string_view rest = url.substr(kScheme.size());
    Check(mgr::StartsWith(rest, u.path), "the path is not the URL's", url);
    Check(u.path.find('?') == std::string::npos, "the path holds the query", url);
    const std::string_view after = rest.substr(u.path.size());
    Check(after.empty() || after.substr(1) == u.query, "the query is not the URL's", url);
  } else {
    Check(u.path == url && u.query.empty(), "a plain path that is not the URL", url);
    Check(url.find("://") == std::string_view::npos, "another scheme accepted", url);
    Check(mgr::EndsWith(url, ".db") || mgr::EndsWith(url, ".sqlite") ||
              mgr::EndsWith(url, ".sqlite3"),
          "a plain path without a database extension", url);
  }
  return 0;
}
