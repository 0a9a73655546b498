// Helpers shared by every test folder: temporary directories, whole-file reads and writes,
// and running a command (the ffmpeg CLI, Debian's python3, our binaries).
#ifndef MGR_TESTS_TEST_UTIL_H_
#define MGR_TESTS_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace mgr {
namespace testing_util {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
// path() is empty if it could not be made.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/mgr-test-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (!path_.empty() && std::system(("rm -rf '" + path_ + "'").c_str()) != 0) {
      // Best effort: a test must not fail in its clean-up.
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

inline bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Runs a shell command; returns its exit status (-1 if it did not exit normally) and puts
// its stdout (binary-safe) in `out` when given.
inline int Shell(const std::string& command, std::string* out = nullptr) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) data.append(buf, n);
  const int rc = ::pclose(p);
  if (out) *out = std::move(data);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#if defined(MGR_SOURCE_DIR) && defined(MGR_BINARY_DIR)
// BUILD/optuna<major>-venv with Optuna `version` from PyPI (and `extra`, e.g. "torch", as
// tools/optuna_venv.sh takes it), made once per build folder; its python, or "" when it
// could not be made (PyPI unreachable), with the script's output in `log` when given.
inline std::string OptunaVenvPython(const std::string& version, const std::string& extra = "",
                                    std::string* log = nullptr) {
  const std::string venv = std::string(MGR_BINARY_DIR) + "/optuna" + version.substr(0, 1) + "-venv";
  const int rc = Shell("bash '" + std::string(MGR_SOURCE_DIR) + "/tools/optuna_venv.sh' '" + venv +
                           "' " + version + " " + extra + " 2>&1",
                       log);
  return rc == 0 ? venv + "/bin/python" : "";
}
#endif

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_TEST_UTIL_H_
