// Decode + resample throughput (seconds of audio per second, one core) of DecodeAudioFile,
// against the ffmpeg CLI (-threads 1) and python3-torchaudio (load + mean + resample) on the
// same files, in the same run. The files are FMA-like: 30 s, 44.1 kHz stereo MP3, 256 kb/s.
//
//   decode_bench [--files N] [--rate HZ]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "trainer/audio/audio_decoder.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int Sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::string s;
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) s.append(buf, n);
  if (out) *out = s;
  return pclose(p);
}

}  // namespace

int main(int argc, char** argv) {
  int files = 8, rate = 22050;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--files") files = std::atoi(argv[i + 1]);
    if (a == "--rate") rate = std::atoi(argv[i + 1]);
  }
  char tmpl[] = "/tmp/mgr-decode-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  std::vector<std::string> paths;
  std::string all;
  for (int i = 0; i < files; ++i) {
    const std::string p = dir + "/" + std::to_string(i) + ".mp3";
    const std::string cmd =
        "ffmpeg -nostdin -v error -y -f lavfi -i 'aevalsrc=exprs=0.3*sin(2*PI*(220+" +
        std::to_string(40 * i) +
        ")*t)+0.1*(random(0)-0.5)|0.3*sin(2*PI*330*t)+0.1*(random(1)-0.5)"
        ":s=44100:d=30' -c:a libmp3lame -b:a 256k '" +
        p + "'";
    if (Sh(cmd) != 0) {
      std::fprintf(stderr, "decode_bench: ffmpeg failed to make %s\n", p.c_str());
      return 1;
    }
    paths.push_back(p);
    all += " '" + p + "'";
  }
  const double audio_seconds = 30.0 * files;
  mgr::DecodeOptions options;
  options.sample_rate = rate;

  // Warm the page cache and the code paths once.
  (void)mgr::DecodeAudioFile(paths[0], options);
  double t0 = Now();
  size_t samples = 0;
  for (const std::string& p : paths) {
    auto r = mgr::DecodeAudioFile(p, options);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    samples += r->size();
  }
  const double ours = Now() - t0;

  t0 = Now();
  for (const std::string& p : paths) {
    Sh("ffmpeg -nostdin -v error -threads 1 -i '" + p + "' -ac 1 -ar " + std::to_string(rate) +
       " -f f32le -y /dev/null");
  }
  const double cli = Now() - t0;

  std::string out;
  double torch_seconds = -1;
  if (Sh(std::string(MGR_PYTHON) + " '" + MGR_SOURCE_DIR + "/bench/decode_bench.py' " +
             std::to_string(rate) + all + " 2>/dev/null",
         &out) == 0) {
    std::sscanf(out.c_str(), "seconds %lf", &torch_seconds);
  }
  Sh("rm -rf '" + dir + "'");

  std::printf("decode_bench: %d files x 30 s, 44.1 kHz stereo MP3 -> mono %d Hz, one core\n", files,
              rate);
  std::printf("  mgr DecodeAudioFile : %8.1f s of audio per s (%zu samples)\n",
              audio_seconds / ours, samples);
  std::printf("  ffmpeg CLI -threads 1: %8.1f s/s  -> mgr is %.2fx the CLI\n", audio_seconds / cli,
              cli / ours);
  if (torch_seconds > 0) {
    std::printf("  torchaudio load+resample: %5.1f s/s  -> mgr is %.2fx torchaudio\n",
                audio_seconds / torch_seconds, torch_seconds / ours);
  } else {
    std::printf("  torchaudio: not available (%s)\n", out.c_str());
  }
  return 0;
}
