// Decoding any audio file FFmpeg reads (mp3, ogg/vorbis, flac, wav, ...) to mono float.
#ifndef MGR_TRAINER_AUDIO_AUDIO_DECODER_H_
#define MGR_TRAINER_AUDIO_AUDIO_DECODER_H_

#include <string>
#include <vector>

#include "storage/base/status.h"

namespace mgr {

struct DecodeOptions {
  int sample_rate = 22050;  // Hz of the output
};

// Decodes the first audio stream of `path` to mono float (mean of the channels) resampled
// to options.sample_rate with libswresample's default filter (the same as the ffmpeg CLI's
// `-ar`). Encoder delay and padding (MP3 LAME headers) are removed as libavformat says.
// Errors name the file and carry FFmpeg's own log lines for it ("Header missing", ...);
// nothing is printed. Thread-safe: independent calls may run in parallel (one thread each).
Result<std::vector<float>> DecodeAudioFile(const std::string& path, const DecodeOptions& options);

}  // namespace mgr

#endif  // MGR_TRAINER_AUDIO_AUDIO_DECODER_H_
