// RAII owners for FFmpeg objects and capture of FFmpeg's log lines.
//
// FFmpeg logs through a process-wide callback. LogCapture routes the lines logged on the
// current thread (while it lives) into a buffer, so they can be attached to an error
// message; lines logged outside any capture are dropped: FFmpeg never writes to the
// terminal once InstallFfmpegLogCapture() ran.
#ifndef MGR_TRAINER_AUDIO_FFMPEG_UTIL_H_
#define MGR_TRAINER_AUDIO_FFMPEG_UTIL_H_

#include <cstdarg>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libswresample/swresample.h>
}

namespace mgr {

struct AvFormatInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct AvFormatOutputDeleter {  // for contexts from avformat_alloc_output_context2
  void operator()(AVFormatContext* c) const {
    if (c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
struct AvCodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct SwrContextDeleter {
  void operator()(SwrContext* c) const { swr_free(&c); }
};
struct AvFrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct AvPacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

using AvFormatInputPtr = std::unique_ptr<AVFormatContext, AvFormatInputDeleter>;
using AvFormatOutputPtr = std::unique_ptr<AVFormatContext, AvFormatOutputDeleter>;
using AvCodecContextPtr = std::unique_ptr<AVCodecContext, AvCodecContextDeleter>;
using SwrContextPtr = std::unique_ptr<SwrContext, SwrContextDeleter>;
using AvFramePtr = std::unique_ptr<AVFrame, AvFrameDeleter>;
using AvPacketPtr = std::unique_ptr<AVPacket, AvPacketDeleter>;

// av_err2str for C++.
std::string AvErrorString(int errnum);

// Installs the process-wide log callback (idempotent, thread-safe).
void InstallFfmpegLogCapture();

// Collects FFmpeg log lines (warnings and errors) logged on this thread while it lives.
// Captures nest: the innermost one receives the lines. Not shareable across threads.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  const std::vector<std::string>& lines() const { return lines_; }
  // The last `max_lines` distinct lines joined with "; ", or "" if none.
  std::string Summary(size_t max_lines = 3) const;

 private:
  friend void FfmpegLogCallback(void*, int, const char*, va_list);
  std::vector<std::string> lines_;
  std::string partial_;
  int print_prefix_ = 1;
  LogCapture* outer_;
};

}  // namespace mgr

#endif  // MGR_TRAINER_AUDIO_FFMPEG_UTIL_H_
