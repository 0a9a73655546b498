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

#include "tests/test_util.h"

namespace mgr {
namespace testing_util {

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

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_TRAINER_DATA_TEST_UTIL_H_
