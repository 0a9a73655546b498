// Test helpers for the storage tests (the shared ones are in tests/test_util.h).
#ifndef MGR_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
#define MGR_TESTS_STORAGE_STORAGE_TEST_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "tests/test_util.h"

namespace mgr {
namespace testing_util {

// Runs a shell command; returns its exit code and puts its stdout in `out`.
inline int RunCommand(const std::string& cmd, std::string* out) { return Shell(cmd, out); }

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
