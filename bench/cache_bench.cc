// Random clip reads per second from a prepared clip cache (one thread): pick a random
// track, a random training window (ClipStart), copy 2^18 samples out as a data loader does.
// References in the same run: the same copies from in-memory vectors (the ceiling) and
// decoding the clip's track from MP3 each time (what a loader without the cache does).
//
//   cache_bench [--tracks N] [--seconds S] [--reads N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "trainer/audio/audio_decoder.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/clips.h"
#include "trainer/data/fma_metadata.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  int tracks = 32, reads = 20000;
  double seconds = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--tracks") tracks = std::atoi(argv[i + 1]);
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    if (a == "--reads") reads = std::atoi(argv[i + 1]);
  }
  const int64_t clip = 262144;
  char tmpl[] = "/tmp/mgr-cache-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  std::string csv = ",set,set,track\n,split,subset,genre_top\ntrack_id,,,\n";
  std::system(("mkdir -p '" + dir + "/fma_small/000' '" + dir + "/fma_metadata'").c_str());
  for (int i = 0; i < tracks; ++i) {
    const int64_t id = 2 + i;
    csv += std::to_string(id) + ",training,small,Rock\n";
    const std::string cmd =
        "ffmpeg -nostdin -v error -y -f lavfi -i 'aevalsrc=exprs=0.3*sin(2*PI*(220+" +
        std::to_string(10 * i) + ")*t)|0.1*(random(0)-0.5):s=44100:d=" + std::to_string(seconds) +
        "' -c:a libmp3lame -b:a 256k '" + mgr::FmaAudioPath(dir + "/fma_small", id) + "'";
    if (std::system(cmd.c_str()) != 0) return 1;
  }
  FILE* f = std::fopen((dir + "/fma_metadata/tracks.csv").c_str(), "w");
  std::fputs(csv.c_str(), f);
  std::fclose(f);

  mgr::FmaOptions data;
  data.metadata_csv = dir + "/fma_metadata/tracks.csv";
  data.audio_dir = dir + "/fma_small";
  mgr::CacheOptions options;
  options.cache_dir = dir + "/cache";
  options.min_samples = clip;
  auto index = mgr::LoadFmaIndex(data);
  if (!index.ok()) return 1;
  double t0 = Now();
  auto summary = mgr::PrepareClipCache(data, *index, options);
  const double prepare = Now() - t0;
  if (!summary.ok()) {
    std::fprintf(stderr, "%s\n", summary.status().ToString().c_str());
    return 1;
  }
  auto cache = mgr::ClipCache::Open(data, options);
  if (!cache.ok()) return 1;
  std::vector<int64_t> ids;
  for (const auto& t : index->tracks) ids.push_back(t.id);

  std::vector<float> buffer(clip);
  double checksum = 0;
  std::mt19937_64 rng(1);
  t0 = Now();
  for (int r = 0; r < reads; ++r) {
    int64_t n;
    const float* s = (*cache)->Samples(ids[rng() % ids.size()], &n);
    const int64_t start = mgr::ClipStart(n, clip, mgr::Split::kTraining, rng);
    std::memcpy(buffer.data(), s + start, clip * sizeof(float));
    checksum += buffer[r % clip];
  }
  const double cached = Now() - t0;

  // Ceiling: the same from private in-memory copies.
  std::vector<std::vector<float>> memory;
  for (int64_t id : ids) {
    int64_t n;
    const float* s = (*cache)->Samples(id, &n);
    memory.emplace_back(s, s + n);
  }
  rng.seed(1);
  t0 = Now();
  for (int r = 0; r < reads; ++r) {
    const auto& v = memory[rng() % ids.size()];
    const int64_t start =
        mgr::ClipStart(static_cast<int64_t>(v.size()), clip, mgr::Split::kTraining, rng);
    std::memcpy(buffer.data(), v.data() + start, clip * sizeof(float));
    checksum += buffer[r % clip];
  }
  const double in_memory = Now() - t0;

  // Without the cache: decode the track for every clip.
  const int decode_reads = 10;
  mgr::DecodeOptions decode;
  t0 = Now();
  for (int r = 0; r < decode_reads; ++r) {
    auto x = mgr::DecodeAudioFile(index->tracks[r % ids.size()].audio_path, decode);
    if (x.ok()) checksum += (*x)[x->size() / 2];
  }
  const double decoding = Now() - t0;
  std::system(("rm -rf '" + dir + "'").c_str());

  std::printf(
      "cache_bench: %d tracks x %.0f s, 22.05 kHz, clips of %lld samples, one thread "
      "(checksum %.3f)\n",
      tracks, seconds, static_cast<long long>(clip), checksum);
  std::printf("  prepare (all cores): %.2f s for %.0f s of audio\n", prepare, tracks * seconds);
  std::printf("  cache clip reads   : %10.0f clips/s\n", reads / cached);
  std::printf("  in-memory copies   : %10.0f clips/s -> cache is %.2fx the in-memory ceiling\n",
              reads / in_memory, in_memory / cached);
  std::printf("  decode per clip    : %10.1f clips/s -> cache is %.0fx faster\n",
              decode_reads / decoding, (decoding / decode_reads) / (cached / reads));
  return 0;
}
