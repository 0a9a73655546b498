// Test helpers for the storage tests (the shared ones are in tests/test_util.h).
#ifndef MGR_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
#define MGR_TESTS_STORAGE_STORAGE_TEST_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/test_util.h"
#ifdef MGR_HAVE_POSTGRES
#include "storage/postgres_db.h"
#endif

namespace mgr {
namespace testing_util {

// Runs a shell command; returns its exit code and puts its stdout in `out`.
inline int RunCommand(const std::string& cmd, std::string* out) { return Shell(cmd, out); }

#ifdef MGR_HAVE_POSTGRES
// The URL of the ctest fixture's scratch server (tools/postgres_test_server.sh), read from
// the file $MGR_TEST_POSTGRES_URL_FILE names; "" outside ctest.
inline std::string PostgresTestUrl() {
  const char* file = std::getenv("MGR_TEST_POSTGRES_URL_FILE");
  std::string url;
  if (file) std::ifstream(file) >> url;
  return url;
}

// The URL of database `name` on the fixture's server, created empty if it does not exist
// (with `fresh`, dropped first if it does); "" (and a message in *error) when there is no
// server.
inline std::string PostgresTestDatabase(const std::string& name, std::string* error,
                                        bool fresh = false) {
  const std::string url = PostgresTestUrl();
  if (url.empty()) {
    *error =
        "no PostgreSQL test server: run through ctest (fixture postgres_server, "
        "tools/postgres_test_server.sh; needs the Debian package 'postgresql')";
    return "";
  }
  auto info = pg::ParseUrl(url);
  auto conn = info.ok() ? pg::Connection::Open(*info) : info.status();
  if (!conn.ok()) {
    *error = conn.status().ToString();
    return "";
  }
  if (fresh) {
    auto dropped = (*conn)->Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    if (!dropped.ok()) {
      *error = dropped.status().ToString();
      return "";
    }
  }
  // CREATE DATABASE copies template1 and fails while another session copies it too (tests
  // run in parallel): retry for a while.
  for (int attempt = 0;; ++attempt) {
    auto exists = (*conn)->Exec("SELECT 1 FROM pg_database WHERE datname = $1", {name});
    if (exists.ok() && exists->size() > 0) break;
    auto made = (*conn)->Exec("CREATE DATABASE " + name);
    if (made.ok()) break;
    if (attempt == 50) {
      *error = made.status().ToString();
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return url.substr(0, url.rfind('/') + 1) + name;
}
#endif

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
