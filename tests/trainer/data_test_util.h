// Helpers for the data tests: temporary directories and running reference commands
// (the ffmpeg CLI, Debian's python3).
#ifndef MGR_TESTS_TRAINER_DATA_TEST_UTIL_H_
#define MGR_TESTS_TRAINER_DATA_TEST_UTIL_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mgr {
namespace testing_util {

// A fresh directory under TMPDIR, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/mgr-data-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (!path_.empty()) std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a shell command; returns its exit status and stdout (binary-safe).
inline int Shell(const std::string& command, std::string* out = nullptr) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) data.append(buf, n);
  int rc = pclose(p);
  if (out) *out = std::move(data);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Decodes `path` with the ffmpeg CLI to mono float32 at `rate`, downmixing by the mean of
// the channels (pan filter) so it matches DecodeAudioFile.
inline bool FfmpegDecode(const std::string& path, int channels, int rate, std::vector<float>* out) {
  std::string filter = channels == 1 ? "" : " -af 'pan=mono|c0=0.5*c0+0.5*c1'";
  std::string bytes;
  int rc = Shell("ffmpeg -nostdin -v error -threads 1 -i '" + path + "'" + filter + " -ar " +
                     std::to_string(rate) + " -f f32le -",
                 &bytes);
  if (rc != 0) return false;
  out->resize(bytes.size() / 4);
  std::memcpy(out->data(), bytes.data(), out->size() * 4);
  return true;
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_TRAINER_DATA_TEST_UTIL_H_
