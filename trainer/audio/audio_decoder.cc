#include "trainer/audio/audio_decoder.h"

#include "trainer/audio/ffmpeg_util.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace mgr {
namespace {

// Converts decoded frames to mono float at the output rate. The downmix is the mean of the
// input channels (a custom swr matrix): swr's default stereo->mono matrix, which the ffmpeg
// CLI's `-ac 1` uses, weights each channel by sqrt(1/2) instead.
class MonoResampler {
 public:
  explicit MonoResampler(int out_rate) : out_rate_(out_rate) {}

  // Converts `frame` (nullptr = flush) appending to *out.
  Status Convert(const AVFrame* frame, std::vector<float>* out) {
    if (frame != nullptr && !Matches(frame)) {
      if (swr_) MGR_RETURN_IF_ERROR(Drain(out));  // format changed mid-stream
      MGR_RETURN_IF_ERROR(Init(frame));
    }
    if (!swr_) return Status::Ok();
    if (frame == nullptr) return Drain(out);
    const int capacity = swr_get_out_samples(swr_.get(), frame->nb_samples);
    if (capacity < 0) return Status::Internal("swr_get_out_samples: " + AvErrorString(capacity));
    const size_t old = out->size();
    out->resize(old + static_cast<size_t>(capacity));
    uint8_t* dst = reinterpret_cast<uint8_t*>(out->data() + old);
    int n = swr_convert(swr_.get(), &dst, capacity,
                        const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples);
    if (n < 0) {
      out->resize(old);
      return Status::Internal("swr_convert: " + AvErrorString(n));
    }
    out->resize(old + static_cast<size_t>(n));
    return Status::Ok();
  }

 private:
  bool Matches(const AVFrame* f) const {
    return swr_ && f->format == in_format_ && f->sample_rate == in_rate_ &&
           f->ch_layout.nb_channels == in_channels_;
  }

  Status Init(const AVFrame* f) {
    in_format_ = f->format;
    in_rate_ = f->sample_rate;
    in_channels_ = f->ch_layout.nb_channels;
    if (in_channels_ <= 0 || in_rate_ <= 0) {
      return Status::Corruption("decoded frame without channels or sample rate");
    }
    AVChannelLayout in_layout;
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      av_channel_layout_default(&in_layout, in_channels_);
    } else if (av_channel_layout_copy(&in_layout, &f->ch_layout) < 0) {
      return Status::Internal("av_channel_layout_copy failed");
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, out_rate_, &in_layout,
                                  static_cast<AVSampleFormat>(in_format_), in_rate_, 0, nullptr);
    av_channel_layout_uninit(&in_layout);
    swr_.reset(raw);
    if (err < 0) return Status::Internal("swr_alloc_set_opts2: " + AvErrorString(err));
    std::vector<double> matrix(static_cast<size_t>(in_channels_), 1.0 / in_channels_);
    err = swr_set_matrix(swr_.get(), matrix.data(), in_channels_);
    if (err < 0) return Status::Internal("swr_set_matrix: " + AvErrorString(err));
    err = swr_init(swr_.get());
    if (err < 0) return Status::Internal("swr_init: " + AvErrorString(err));
    return Status::Ok();
  }

  Status Drain(std::vector<float>* out) {
    for (;;) {
      const int capacity = swr_get_out_samples(swr_.get(), 0);
      if (capacity <= 0) break;
      const size_t old = out->size();
      out->resize(old + static_cast<size_t>(capacity));
      uint8_t* dst = reinterpret_cast<uint8_t*>(out->data() + old);
      int n = swr_convert(swr_.get(), &dst, capacity, nullptr, 0);
      if (n < 0) {
        out->resize(old);
        return Status::Internal("swr_convert (flush): " + AvErrorString(n));
      }
      out->resize(old + static_cast<size_t>(n));
      if (n == 0) break;
    }
    swr_.reset();
    return Status::Ok();
  }

  int out_rate_;
  SwrContextPtr swr_;
  int in_format_ = -1, in_rate_ = 0, in_channels_ = 0;
};

Status WithLog(Status s, const LogCapture& log) {
  std::string lines = log.Summary();
  if (lines.empty()) return s;
  return Status(s.code(), s.message() + " (ffmpeg: " + lines + ")");
}

Status DecodeInto(const std::string& path, const DecodeOptions& options, const LogCapture& log,
                  std::vector<float>* out) {
  AVFormatContext* raw_format = nullptr;
  int err = avformat_open_input(&raw_format, path.c_str(), nullptr, nullptr);
  if (err < 0) return Status::Corruption("cannot open: " + AvErrorString(err));
  AvFormatInputPtr format(raw_format);
  err = avformat_find_stream_info(format.get(), nullptr);
  if (err < 0) return Status::Corruption("cannot read stream info: " + AvErrorString(err));
  const AVCodec* codec = nullptr;
  const int stream = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (stream < 0) return Status::Corruption("no audio stream: " + AvErrorString(stream));
  AVStream* st = format->streams[stream];
  AvCodecContextPtr decoder(avcodec_alloc_context3(codec));
  if (!decoder) return Status::Internal("avcodec_alloc_context3 failed");
  err = avcodec_parameters_to_context(decoder.get(), st->codecpar);
  if (err < 0) return Status::Internal("avcodec_parameters_to_context: " + AvErrorString(err));
  decoder->pkt_timebase = st->time_base;
  decoder->thread_count = 1;  // parallelism is across tracks
  err = avcodec_open2(decoder.get(), codec, nullptr);
  if (err < 0) return Status::Corruption("cannot open decoder: " + AvErrorString(err));

  // Pre-size from the container's duration estimate to avoid regrowth.
  if (st->duration > 0 && st->time_base.den > 0) {
    double seconds = st->duration * av_q2d(st->time_base);
    if (seconds > 0 && seconds < 36000)
      out->reserve(static_cast<size_t>(seconds * options.sample_rate * 1.01) + 4096);
  }

  AvPacketPtr packet(av_packet_alloc());
  AvFramePtr frame(av_frame_alloc());
  if (!packet || !frame) return Status::Internal("out of memory");
  MonoResampler resampler(options.sample_rate);
  int64_t frames = 0, bad_packets = 0;

  auto receive = [&]() -> Status {
    for (;;) {
      int r = avcodec_receive_frame(decoder.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::Ok();
      if (r < 0) {
        ++bad_packets;  // like the ffmpeg CLI: a corrupt frame is dropped, decoding goes on
        return Status::Ok();
      }
      ++frames;
      Status s = resampler.Convert(frame.get(), out);
      av_frame_unref(frame.get());
      if (!s.ok()) return s;
    }
  };

  for (;;) {
    err = av_read_frame(format.get(), packet.get());
    if (err < 0) break;  // end of file, or a truncated file: keep what was decoded
    if (packet->stream_index == stream) {
      int r = avcodec_send_packet(decoder.get(), packet.get());
      if (r < 0 && r != AVERROR(EAGAIN)) ++bad_packets;
      av_packet_unref(packet.get());
      MGR_RETURN_IF_ERROR(receive());
    } else {
      av_packet_unref(packet.get());
    }
  }
  avcodec_send_packet(decoder.get(), nullptr);
  MGR_RETURN_IF_ERROR(receive());
  MGR_RETURN_IF_ERROR(resampler.Convert(nullptr, out));
  if (frames == 0) {
    return Status::Corruption(
        "no audio decoded" +
        (bad_packets ? " (" + std::to_string(bad_packets) + " bad packets)" : std::string()));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<float>> DecodeAudioFile(const std::string& path, const DecodeOptions& options) {
  if (options.sample_rate <= 0) {
    return Status::InvalidArgument(path + ": sample rate must be > 0, got " +
                                   std::to_string(options.sample_rate));
  }
  LogCapture log;
  std::vector<float> samples;
  Status s = DecodeInto(path, options, log, &samples);
  if (!s.ok()) return WithLog(s, log).WithContext(path);
  return samples;
}

}  // namespace mgr
