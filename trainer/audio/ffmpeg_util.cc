#include "trainer/audio/ffmpeg_util.h"

#include <cstdarg>
#include <mutex>

namespace mgr {
namespace {
thread_local LogCapture* current_capture = nullptr;
}  // namespace

std::string AvErrorString(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(errnum, buf, sizeof(buf));
  return buf;
}

void FfmpegLogCallback(void* avcl, int level, const char* fmt, va_list vl) {
  LogCapture* capture = current_capture;
  if (capture == nullptr || level > AV_LOG_WARNING) return;
  char line[1024];
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &capture->print_prefix_);
  capture->partial_ += line;
  size_t nl;
  while ((nl = capture->partial_.find('\n')) != std::string::npos) {
    std::string done = capture->partial_.substr(0, nl);
    capture->partial_.erase(0, nl + 1);
    // "[mp3 @ 0x55d0c8]" -> "[mp3]": addresses differ per run and say nothing to a user.
    for (size_t at; (at = done.find(" @ 0x")) != std::string::npos;) {
      const size_t close = done.find(']', at);
      if (close == std::string::npos) break;
      done.erase(at, close - at);
    }
    if (!done.empty() && capture->lines_.size() < 1000) capture->lines_.push_back(done);
  }
}

void InstallFfmpegLogCapture() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(FfmpegLogCallback); });
}

LogCapture::LogCapture() : outer_(current_capture) {
  InstallFfmpegLogCapture();
  current_capture = this;
}

LogCapture::~LogCapture() { current_capture = outer_; }

std::string LogCapture::Summary(size_t max_lines) const {
  std::vector<std::string> all = lines_;
  if (!partial_.empty()) all.push_back(partial_);
  std::vector<std::string> distinct;
  for (const std::string& l : all) {
    bool dup = false;
    for (const std::string& d : distinct) dup = dup || d == l;
    if (!dup) distinct.push_back(l);
  }
  size_t from = distinct.size() > max_lines ? distinct.size() - max_lines : 0;
  std::string out;
  for (size_t i = from; i < distinct.size(); ++i) {
    if (!out.empty()) out += "; ";
    out += distinct[i];
  }
  return out;
}

}  // namespace mgr
