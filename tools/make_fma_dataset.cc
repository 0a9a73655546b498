// mgr-make-dataset: writes an FMA-shaped dataset (tracks.csv with FMA's three-line header,
// MP3 files encoded with libavcodec's libmp3lame, a few broken tracks like FMA's) whose
// eight genres are synthesised to differ learnably. Seeded and deterministic.
//
//   mgr-make-dataset --size tiny|demo --out DIR [--seed N] [--threads N]
//
// Sizes and what each genre sounds like: docs/dataset.md.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
}

#include "trainer/audio/ffmpeg_util.h"

namespace {

using mgr::AvCodecContextPtr;
using mgr::AvErrorString;
using mgr::AvFormatOutputPtr;
using mgr::AvFramePtr;
using mgr::AvPacketPtr;

constexpr double kPi = 3.14159265358979323846;
constexpr int kSampleRate = 22050;
const char* const kGenres[] = {"Electronic",   "Experimental",  "Folk", "Hip-Hop",
                               "Instrumental", "International", "Pop",  "Rock"};
// FMA's genre ids of the eight top genres (for the `genres` column).
const int kGenreIds[] = {15, 38, 17, 21, 1235, 2, 10, 12};

struct SizeSpec {
  int train, val, test;  // tracks per genre
  double seconds;        // duration of a normal track
};

// ---- deterministic randomness (no std:: distributions: their output is not portable) ----
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {  // SplitMix64
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }
  double Uniform(double a, double b) { return a + (b - a) * Uniform(); }
  int Int(int a, int b) { return a + static_cast<int>(Next() % static_cast<uint64_t>(b - a + 1)); }
  double Gauss() {
    double u = std::max(Uniform(), 1e-300), v = Uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * kPi * v);
  }

 private:
  uint64_t s_;
};

// ---- synthesis ----
class Synth {
 public:
  Synth(size_t n, Rng* rng) : x_(n, 0.0), rng_(rng) {}
  std::vector<double>& samples() { return x_; }
  size_t size() const { return x_.size(); }

  // A note of `harmonics` partials (amplitude k^-tilt), exponential decay `decay` seconds
  // (0 = sustained with 10 ms fades), optional vibrato.
  void Note(double start, double dur, double freq, double amp, int harmonics, double tilt,
            double decay, double vibrato_hz = 0, double vibrato_depth = 0, bool odd_only = false) {
    const size_t a = Index(start), b = std::min(size(), Index(start + dur));
    double phase = rng_->Uniform(0, 2 * kPi);
    // Partial amplitudes once per note; sin(k x) by the Chebyshev recurrence per sample.
    std::vector<double> gain(static_cast<size_t>(harmonics) + 1, 0.0);
    for (int k = 1; k <= harmonics; ++k) {
      if (freq * k > 0.45 * kSampleRate) break;
      if (!(odd_only && k % 2 == 0)) gain[k] = 1.0 / std::pow(k, tilt);
    }
    const double inv_decay = decay > 0 ? 1.0 / decay : 0.0;
    for (size_t i = a; i < b; ++i) {
      const double t = (i - a) / static_cast<double>(kSampleRate);
      double env = decay > 0 ? std::exp(-t * inv_decay) : 1.0;
      env *= std::min(1.0, std::min(t, dur - t) / 0.01);
      const double f = vibrato_depth > 0
                           ? freq * (1 + vibrato_depth * std::sin(2 * kPi * vibrato_hz * t))
                           : freq;
      phase += 2 * kPi * f / kSampleRate;
      if (phase > 2 * kPi) phase -= 2 * kPi;
      const double s1 = std::sin(phase), c2 = 2 * std::cos(phase);
      double prev = 0, cur = s1, v = 0;
      for (int k = 1; k <= harmonics; ++k) {
        v += gain[k] * cur;
        const double next = c2 * cur - prev;
        prev = cur;
        cur = next;
      }
      x_[i] += amp * env * v;
    }
  }
  // Kick drum: a sine sweeping from f0 down to f1, decaying.
  void Kick(double start, double amp, double f0, double f1, double decay) {
    const size_t a = Index(start), b = std::min(size(), Index(start + 6 * decay));
    double phase = 0;
    for (size_t i = a; i < b; ++i) {
      const double t = (i - a) / static_cast<double>(kSampleRate);
      const double f = f1 + (f0 - f1) * std::exp(-t / 0.03);
      phase += 2 * kPi * f / kSampleRate;
      x_[i] += amp * std::exp(-t / decay) * std::sin(phase);
    }
  }
  // Noise burst; `bright` in [0, 1]: 0 = low-passed, 1 = high-passed (differenced).
  void Noise(double start, double dur, double amp, double bright, double decay) {
    const size_t a = Index(start), b = std::min(size(), Index(start + dur));
    double lp = 0, prev = 0;
    for (size_t i = a; i < b; ++i) {
      const double t = (i - a) / static_cast<double>(kSampleRate);
      const double w = rng_->Gauss();
      lp += 0.1 * (w - lp);
      const double hp = 0.5 * (w - prev);
      prev = w;
      const double env = decay > 0 ? std::exp(-t / decay) : 1.0;
      x_[i] += amp * env * (bright * hp + (1 - bright) * lp * 2.5);
    }
  }
  // Frequency sweep (exponential) of a pure tone.
  void Glide(double start, double dur, double f0, double f1, double amp) {
    const size_t a = Index(start), b = std::min(size(), Index(start + dur));
    double phase = 0;
    for (size_t i = a; i < b; ++i) {
      const double u = (i - a) / static_cast<double>(b - a);
      const double f = f0 * std::pow(f1 / f0, u);
      phase += 2 * kPi * f / kSampleRate;
      x_[i] += amp * std::sin(phase) * std::sin(kPi * u);
    }
  }
  void Distort(double gain) {
    for (double& v : x_) v = std::tanh(gain * v);
  }
  // Peak-normalises to `peak`.
  void Normalize(double peak) {
    double m = 1e-9;
    for (double v : x_) m = std::max(m, std::fabs(v));
    for (double& v : x_) v *= peak / m;
  }

 private:
  size_t Index(double seconds) const {
    return static_cast<size_t>(std::max(0.0, seconds) * kSampleRate);
  }
  std::vector<double> x_;
  Rng* rng_;
};

double Midi(double note) { return 440.0 * std::pow(2.0, (note - 69) / 12.0); }

// Each genre differs in tempo, rhythm, timbre (harmonics), harmony, noise and brightness;
// parameters vary randomly inside a genre.
std::vector<float> SynthesiseGenre(int genre, double seconds, Rng& rng) {
  Synth s(static_cast<size_t>(seconds * kSampleRate), &rng);
  const double T = seconds;
  const double root = rng.Uniform(-3, 3);  // transposition in semitones
  switch (genre) {
    case 0: {  // Electronic: four-on-the-floor, off-beat hats, square-wave arpeggio
      const double beat = 60.0 / rng.Uniform(120, 135);
      const int scale[] = {0, 3, 5, 7, 10, 12};
      for (double t = 0; t < T; t += beat) {
        s.Kick(t, 0.9, 160, 50, 0.12);
        s.Noise(t + beat / 2, 0.04, 0.25, 1.0, 0.01);
      }
      for (double t = 0; t < T; t += beat / 2) {
        s.Note(t, beat / 2 * 0.9, Midi(57 + root + scale[rng.Int(0, 5)]), 0.25, 15, 1.0, 0, 0, 0,
               true);
      }
      break;
    }
    case 1: {  // Experimental: no pulse, glides, inharmonic partials, lots of noise
      s.Noise(0, T, rng.Uniform(0.08, 0.15), rng.Uniform(0.3, 0.8), 0);
      for (double t = 0; t < T; t += rng.Uniform(0.2, 0.9)) {
        const double d = rng.Uniform(0.3, 1.5);
        s.Glide(t, d, rng.Uniform(100, 3000), rng.Uniform(100, 3000), rng.Uniform(0.1, 0.35));
        if (rng.Uniform() < 0.5) {
          const double f = rng.Uniform(150, 900);
          for (double r : {1.0, 2.76, 5.40, 8.93}) s.Note(t, d, f * r, 0.12 / r, 1, 0, d / 3);
        }
        if (rng.Uniform() < 0.3) s.Noise(t, rng.Uniform(0.05, 0.4), 0.4, rng.Uniform(), 0.1);
      }
      break;
    }
    case 2: {  // Folk: slow plucked arpeggios of major chords, no drums, little noise
      const double beat = 60.0 / rng.Uniform(80, 100);
      const int chords[][3] = {{0, 4, 7}, {5, 9, 12}, {7, 11, 14}, {0, 4, 7}};
      int c = 0;
      for (double t = 0; t < T; t += beat / 2, ++c) {
        const int* ch = chords[(c / 8) % 4];
        s.Note(t, beat * 1.5, Midi(52 + root + ch[c % 3] + 12 * (c % 2)), 0.3, 8, 1.3,
               rng.Uniform(0.25, 0.45));
      }
      s.Noise(0, T, 0.005, 0.5, 0);
      break;
    }
    case 3: {  // Hip-Hop: slow heavy kick and snare, sub bass, quiet 16th hats
      const double beat = 60.0 / rng.Uniform(84, 96);
      for (double t = 0; t < T; t += 2 * beat) {
        s.Kick(t, 1.0, 110, 45, 0.25);
        if (rng.Uniform() < 0.5) s.Kick(t + 0.75 * beat, 0.7, 110, 45, 0.2);
        s.Noise(t + beat, 0.15, 0.5, 0.4, 0.05);
        s.Note(t + beat, 0.1, 190, 0.3, 2, 1, 0.04);
        s.Note(t, 2 * beat, Midi(33 + root + (rng.Uniform() < 0.5 ? 0 : 3)), 0.5, 2, 2, 0.8);
      }
      for (double t = 0; t < T; t += beat / 4) s.Noise(t, 0.02, 0.08, 1.0, 0.008);
      break;
    }
    case 4: {  // Instrumental: piano-like chords and melody, rich decaying harmonics, slow
      const double beat = 60.0 / rng.Uniform(60, 76);
      const int chords[][4] = {{0, 4, 7, 11}, {9, 12, 16, 19}, {5, 9, 12, 16}, {7, 11, 14, 17}};
      int c = 0;
      for (double t = 0; t < T; t += 2 * beat, ++c) {
        for (int n : chords[c % 4]) s.Note(t, 2 * beat, Midi(48 + root + n), 0.15, 10, 1.5, 0.9);
        for (int k = 0; k < 4; ++k) {
          s.Note(t + k * beat / 2, beat / 2, Midi(72 + root + chords[c % 4][rng.Int(0, 3)]), 0.12,
                 6, 1.5, 0.4);
        }
      }
      break;
    }
    case 5: {  // International: drone with fifth, bright vibrato melody, 7-beat hand drum
      const double beat = 60.0 / rng.Uniform(95, 125);
      const double f = Midi(47 + root);
      s.Note(0, T, f, 0.18, 12, 0.7, 0);
      s.Note(0, T, f * 1.5, 0.1, 12, 0.7, 0);
      const int scale[] = {0, 1, 4, 5, 7, 8, 11, 12};
      for (double t = 0; t < T; t += beat) {
        s.Note(t, beat * 0.95, Midi(66 + root + scale[rng.Int(0, 7)]), 0.2, 20, 1.0, 0, 5.5, 0.02);
      }
      const int pattern[] = {1, 0, 1, 1, 0, 1, 0};
      int k = 0;
      for (double t = 0; t < T; t += beat / 2, ++k) {
        if (pattern[k % 7]) s.Note(t, 0.3, k % 7 == 0 ? 120 : 330, 0.35, 3, 1.0, 0.06);
      }
      break;
    }
    case 6: {  // Pop: mid-tempo, sustained triad pads, claps on 2 and 4, pure high melody
      const double beat = 60.0 / rng.Uniform(100, 120);
      const int chords[][3] = {{0, 4, 7}, {7, 11, 14}, {9, 12, 16}, {5, 9, 12}};
      int c = 0;
      for (double t = 0; t < T; t += 4 * beat, ++c) {
        for (int n : chords[c % 4]) s.Note(t, 4 * beat, Midi(60 + root + n), 0.12, 3, 1.0, 0);
        for (int b = 0; b < 4; ++b) {
          if (b % 2 == 0) s.Kick(t + b * beat, 0.6, 140, 55, 0.1);
          if (b % 2 == 1) s.Noise(t + b * beat, 0.08, 0.35, 0.7, 0.03);
          s.Note(t + b * beat, beat * 0.9, Midi(76 + root + chords[c % 4][rng.Int(0, 2)]), 0.15, 1,
                 1, 0);
        }
      }
      break;
    }
    case 7: {  // Rock: distorted sawtooth power chords, kick/snare, cymbal wash
      const double beat = 60.0 / rng.Uniform(110, 150);
      const int roots[] = {0, 5, 7, 3};
      int c = 0;
      for (double t = 0; t < T; t += beat / 2, ++c) {
        const double r = Midi(40 + root + roots[(c / 8) % 4]);
        for (double m : {1.0, 1.5, 2.0}) s.Note(t, beat / 2, r * m, 0.2, 25, 1.0, 0);
      }
      s.Distort(rng.Uniform(3, 6));
      for (double t = 0; t < T; t += 2 * beat) {
        s.Kick(t, 0.5, 120, 50, 0.1);
        s.Noise(t + beat, 0.12, 0.4, 0.6, 0.05);
      }
      s.Noise(0, T, rng.Uniform(0.04, 0.08), 1.0, 0);
      break;
    }
  }
  s.Noise(0, T, rng.Uniform(0.002, 0.01), 0.5, 0);  // a little hiss everywhere
  s.Normalize(rng.Uniform(0.5, 0.9));
  std::vector<float> out(s.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(s.samples()[i]);
  return out;
}

// ---- MP3 encoding with libavcodec (libmp3lame) ----
// Encodes mono float samples at kSampleRate to an MP3 file (with a LAME/Xing header so
// decoders remove the encoder delay and padding). Returns "" or an error message.
std::string EncodeMp3(const std::vector<float>& samples, const std::string& path) {
  const AVCodec* codec = avcodec_find_encoder_by_name("libmp3lame");
  if (codec == nullptr) return "libavcodec has no libmp3lame encoder";
  AVFormatContext* raw = nullptr;
  int err = avformat_alloc_output_context2(&raw, nullptr, "mp3", path.c_str());
  if (err < 0) return "mp3 muxer: " + AvErrorString(err);
  AvFormatOutputPtr oc(raw);
  oc->flags |= AVFMT_FLAG_BITEXACT;  // no version strings: identical files across runs
  AvCodecContextPtr enc(avcodec_alloc_context3(codec));
  enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
  enc->sample_rate = kSampleRate;
  enc->bit_rate = 96000;
  enc->flags |= AV_CODEC_FLAG_BITEXACT;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  av_channel_layout_copy(&enc->ch_layout, &mono);
  enc->time_base = AVRational{1, kSampleRate};
  if ((err = avcodec_open2(enc.get(), codec, nullptr)) < 0) return "libmp3lame: " + AvErrorString(err);
  AVStream* st = avformat_new_stream(oc.get(), nullptr);
  if (st == nullptr) return "avformat_new_stream failed";
  if ((err = avcodec_parameters_from_context(st->codecpar, enc.get())) < 0) return AvErrorString(err);
  st->time_base = enc->time_base;
  if ((err = avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE)) < 0) {
    return path + ": " + AvErrorString(err);
  }
  if ((err = avformat_write_header(oc.get(), nullptr)) < 0) return "write header: " + AvErrorString(err);

  AvFramePtr frame(av_frame_alloc());
  AvPacketPtr pkt(av_packet_alloc());
  auto drain = [&]() -> std::string {
    for (;;) {
      int r = avcodec_receive_packet(enc.get(), pkt.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return "";
      if (r < 0) return "encode: " + AvErrorString(r);
      av_packet_rescale_ts(pkt.get(), enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      if ((r = av_interleaved_write_frame(oc.get(), pkt.get())) < 0) return "write: " + AvErrorString(r);
    }
  };
  const int frame_size = enc->frame_size;
  for (size_t pos = 0; pos < samples.size(); pos += frame_size) {
    const int n = static_cast<int>(std::min<size_t>(frame_size, samples.size() - pos));
    frame->nb_samples = n;
    frame->format = enc->sample_fmt;
    frame->sample_rate = kSampleRate;
    av_channel_layout_copy(&frame->ch_layout, &enc->ch_layout);
    if ((err = av_frame_get_buffer(frame.get(), 0)) < 0) return AvErrorString(err);
    std::memcpy(frame->data[0], samples.data() + pos, n * sizeof(float));
    frame->pts = static_cast<int64_t>(pos);
    err = avcodec_send_frame(enc.get(), frame.get());
    av_frame_unref(frame.get());
    if (err < 0) return "encode: " + AvErrorString(err);
    std::string e = drain();
    if (!e.empty()) return e;
  }
  avcodec_send_frame(enc.get(), nullptr);
  std::string e = drain();
  if (!e.empty()) return e;
  if ((err = av_write_trailer(oc.get())) < 0) return "write trailer: " + AvErrorString(err);
  return "";
}

// ---- the dataset ----
enum class Kind { kNormal, kEmpty, kTruncated, kShort, kText, kNoAudio };

struct Row {
  int64_t id;
  int genre;  // index into kGenres; -1 = empty genre_top
  const char* split;
  const char* subset;
  Kind kind;
  double seconds;
};

std::string AudioPath(const std::string& dir, int64_t id) {
  char name[16];
  std::snprintf(name, sizeof(name), "%06lld", static_cast<long long>(id));
  return dir + "/" + std::string(name, 3) + "/" + name + ".mp3";
}

bool MakeDir(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST) return false;
    }
  }
  return true;
}

std::string Quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const char* const kBioWords[] = {"lo-fi", "noise", "bedroom", "tape", "modular", "field",
                                 "dub",   "choir", "brass",   "folk", "garage",  "ambient"};

std::string Bio(Rng& rng, int64_t id) {
  std::string bio = "Formed in " + std::to_string(rng.Int(1975, 2015)) + ", artist " +
                    std::to_string(id) + " records \"" + kBioWords[rng.Int(0, 11)] +
                    "\" music, mostly at home.";
  if (rng.Uniform() < 0.6) {
    bio += "\nSecond paragraph, with commas, \"quotes\" and a line break.\r\nLast line.";
  }
  return bio;
}

int Run(const std::string& size, const std::string& out, uint64_t seed, int threads) {
  SizeSpec spec;
  if (size == "tiny") {
    spec = {10, 3, 3, 4.0};
  } else if (size == "demo") {
    spec = {32, 8, 8, 12.5};
  } else {
    std::fprintf(stderr, "mgr-make-dataset: unknown --size '%s' (tiny or demo)\n", size.c_str());
    return 2;
  }
  const std::string meta_dir = out + "/fma_metadata", audio_dir = out + "/fma_small";
  if (!MakeDir(meta_dir) || !MakeDir(audio_dir)) {
    std::fprintf(stderr, "mgr-make-dataset: cannot create %s: %s\n", out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  Rng rng(seed);
  // The tracks in id order: genres and splits shuffled like FMA's interleaved ids.
  std::vector<Row> rows;
  for (int g = 0; g < 8; ++g) {
    for (int i = 0; i < spec.train + spec.val + spec.test; ++i) {
      const char* split = i < spec.train              ? "training"
                          : i < spec.train + spec.val ? "validation"
                                                      : "test";
      rows.push_back({0, g, split, "small", Kind::kNormal, spec.seconds});
    }
  }
  // Broken tracks like FMA's (all in training, as 099134 etc.), and rows of larger subsets
  // without audio, as in the real tracks.csv.
  rows.push_back({0, 0, "training", "small", Kind::kEmpty, 0});
  rows.push_back({0, 3, "training", "small", Kind::kTruncated, spec.seconds});
  rows.push_back({0, 6, "training", "small", Kind::kShort, 1.5});
  rows.push_back({0, 7, "training", "small", Kind::kText, 0});
  rows.push_back({0, 2, "training", "medium", Kind::kNoAudio, 0});
  rows.push_back({0, 5, "test", "medium", Kind::kNoAudio, 0});
  rows.push_back({0, -1, "training", "large", Kind::kNoAudio, 0});
  rows.push_back({0, -1, "validation", "large", Kind::kNoAudio, 0});
  for (size_t i = rows.size() - 1; i > 0; --i) {
    std::swap(rows[i], rows[static_cast<size_t>(rng.Next() % (i + 1))]);
  }
  int64_t id = 2;  // FMA's first track id
  for (Row& r : rows) {
    r.id = id;
    id += rng.Int(1, 4);
  }

  // Audio, in parallel; each track seeded from (seed, id) so the result does not depend on
  // the number of threads.
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < rows.size() && !failed;) {
      const Row& r = rows[i];
      if (r.kind == Kind::kNoAudio) continue;
      const std::string path = AudioPath(audio_dir, r.id);
      if (!MakeDir(path.substr(0, path.rfind('/')))) {
        std::fprintf(stderr, "mgr-make-dataset: cannot create directory for %s\n", path.c_str());
        failed = true;
        return;
      }
      std::string err;
      if (r.kind == Kind::kEmpty) {
        std::ofstream(path, std::ios::binary | std::ios::trunc);
      } else if (r.kind == Kind::kText) {
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            << "<html><body>404 Not Found: this is not an MP3 file</body></html>\n";
      } else {
        Rng track_rng(seed * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(r.id));
        err = EncodeMp3(SynthesiseGenre(r.genre, r.seconds, track_rng), path);
        if (err.empty() && r.kind == Kind::kTruncated) {
          // Keep the ID3/Xing header and a few frames: FFmpeg decodes well under a clip.
          if (truncate(path.c_str(), 2000) != 0) err = std::strerror(errno);
        }
      }
      if (!err.empty()) {
        std::fprintf(stderr, "mgr-make-dataset: %s: %s\n", path.c_str(), err.c_str());
        failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) return 1;

  // tracks.csv: FMA's three header lines and the columns the loader uses, among others.
  const std::string csv_path = meta_dir + "/tracks.csv";
  std::ofstream csv(csv_path, std::ios::binary | std::ios::trunc);
  csv << ",album,album,album,artist,artist,artist,set,set,track,track,track,track,track\n"
      << ",comments,date_created,title,bio,name,website,split,subset,bit_rate,duration,"
         "genre_top,genres,title\n"
      << "track_id,,,,,,,,,,,,,\n";
  for (const Row& r : rows) {
    const std::string genre = r.genre >= 0 ? kGenres[r.genre] : "";
    const std::string genres = r.genre >= 0 ? "[" + std::to_string(kGenreIds[r.genre]) + ", " +
                                                  std::to_string(rng.Int(100, 999)) + "]"
                                            : "[]";
    char date[32];
    std::snprintf(date, sizeof(date), "20%02d-%02d-%02d 12:%02d:00", rng.Int(8, 17), rng.Int(1, 12),
                  rng.Int(1, 28), rng.Int(0, 59));
    csv << r.id << ',' << rng.Int(0, 3) << ',' << date << ','
        << Quote("Album " + std::to_string(r.id / 7) + ", Vol. " + std::to_string(rng.Int(1, 3)))
        << ',' << Quote(Bio(rng, r.id)) << ',' << Quote("Artist " + std::to_string(r.id % 97))
        << ",http://example.org/" << r.id << ',' << r.split << ',' << r.subset << ",96000,"
        << static_cast<int>(r.seconds) << ',' << Quote(genre) << ',' << Quote(genres) << ','
        << Quote("Track " + std::to_string(r.id) + (r.id % 3 == 0 ? ", part \"two\"" : "")) << '\n';
  }
  csv.close();
  if (!csv) {
    std::fprintf(stderr, "mgr-make-dataset: cannot write %s\n", csv_path.c_str());
    return 1;
  }
  int normal = 0, broken = 0;
  for (const Row& r : rows) {
    normal += r.kind == Kind::kNormal;
    broken += r.kind != Kind::kNormal && r.kind != Kind::kNoAudio;
  }
  std::printf(
      "mgr-make-dataset: %s: %d tracks (%d per genre: %d/%d/%d) of %.1f s, %d broken, "
      "%zu rows in %s\n",
      size.c_str(), normal, spec.train + spec.val + spec.test, spec.train, spec.val, spec.test,
      spec.seconds, broken, rows.size(), csv_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mgr-make-dataset: write a synthetic FMA-shaped dataset (tracks.csv + MP3s)"};
  std::string size = "tiny", out;
  uint64_t seed = 1;
  int threads = 0;
  app.add_option("--size", size, "tiny (tests) or demo (the README's demo study)")
      ->capture_default_str();
  app.add_option("--out", out, "output directory (gets fma_metadata/ and fma_small/)")->required();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--threads", threads, "encoding threads (0 = all cores)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  av_log_set_level(AV_LOG_ERROR);
  return Run(size, out, seed, threads);
}
