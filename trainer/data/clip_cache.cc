#include "trainer/data/clip_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "storage/base/atomic_file.h"
#include "storage/base/file_lock.h"
#include "storage/base/files.h"
#include "storage/base/progress.h"
#include "trainer/audio/audio_decoder.h"

namespace mgr {
namespace {

constexpr char kMagic[8] = {'M', 'G', 'R', 'C', 'L', 'I', 'P', '\0'};
constexpr uint32_t kVersion = 1;

// On-disk header of a track file, followed by num_samples float32 (native byte order).
struct TrackHeader {
  char magic[8];
  uint32_t version;
  uint32_t sample_rate;
  int64_t track_id;
  int64_t num_samples;
  uint64_t checksum;    // Checksum() of the sample bytes
  int64_t source_size;  // the audio file this was decoded from, to notice a change
  int64_t source_mtime_ns;
  int64_t reserved;
};
static_assert(sizeof(TrackHeader) == 64, "header keeps the samples 64-byte aligned");

// A fast 64-bit checksum over 8-byte words (multiply-xor, then a final mix).
uint64_t Checksum(const void* data, size_t bytes) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9E3779B97F4A7C15ull ^ bytes;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001B3ull;
    h ^= h >> 29;
  }
  for (; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

uint64_t HashString(const std::string& s) { return Checksum(s.data(), s.size()); }

std::string AbsolutePath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) return buf;
  if (!path.empty() && path[0] == '/') return path;
  if (getcwd(buf, sizeof(buf)) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

struct SourceStamp {
  int64_t size = -1, mtime_ns = -1;
};

SourceStamp StampOf(const std::string& path) {
  SourceStamp s;
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    s.size = st.st_size;
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return s;
}

std::string TrackFile(const std::string& dir, int64_t id) {
  return dir + "/tracks/" + std::to_string(id) + ".f32";
}
std::string BadFile(const std::string& dir, int64_t id) {
  return dir + "/tracks/" + std::to_string(id) + ".bad";
}

// Checks the header of a mapped track file (and, if `verify_checksum`, its samples).
Status CheckTrackFile(const std::string& path, const MappedFile& file, int64_t id, int sample_rate,
                      bool verify_checksum, TrackHeader* header) {
  if (file.size() == 0) return Status::Corruption(path + ": empty file");
  if (file.size() < sizeof(TrackHeader)) return Status::Corruption(path + ": truncated header");
  std::memcpy(header, file.data(), sizeof(TrackHeader));
  if (std::memcmp(header->magic, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption(path + ": not a clip cache file (bad magic)");
  }
  if (header->version != kVersion) {
    return Status::Corruption(path + ": version " + std::to_string(header->version) +
                              ", expected " + std::to_string(kVersion));
  }
  if (header->track_id != id || static_cast<int>(header->sample_rate) != sample_rate) {
    return Status::Corruption(path + ": header names track " + std::to_string(header->track_id) +
                              " at " + std::to_string(header->sample_rate) + " Hz");
  }
  const uint64_t expected = sizeof(TrackHeader) + 4 * static_cast<uint64_t>(header->num_samples);
  if (header->num_samples < 0 || file.size() != expected) {
    return Status::Corruption(path + ": " + std::to_string(file.size()) + " bytes, header says " +
                              std::to_string(expected) + " (truncated?)");
  }
  if (verify_checksum) {
    const char* samples = static_cast<const char*>(file.data()) + sizeof(TrackHeader);
    if (Checksum(samples, 4 * static_cast<size_t>(header->num_samples)) != header->checksum) {
      return Status::Corruption(path + ": checksum mismatch");
    }
  }
  return Status::Ok();
}

// index.tsv: "# mgr clip cache v1", key/value lines, then "<track id>\t<num samples>".
struct IndexFile {
  std::string metadata, audio_dir;
  int sample_rate = 0;
  std::map<int64_t, int64_t> tracks;  // id -> num_samples
};

Result<IndexFile> ReadIndex(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": missing");
  IndexFile index;
  std::string line;
  int64_t line_no = 0;
  if (!std::getline(in, line) || line != "# mgr clip cache v1") {
    return Status::Corruption(path + ":1: not a clip cache index");
  }
  ++line_no;
  while (std::getline(in, line)) {
    ++line_no;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos)
      return Status::Corruption(path + ":" + std::to_string(line_no) + ": no tab");
    const std::string key = line.substr(0, tab), value = line.substr(tab + 1);
    if (key == "metadata") {
      index.metadata = value;
    } else if (key == "audio_dir") {
      index.audio_dir = value;
    } else if (key == "sample_rate") {
      index.sample_rate = std::atoi(value.c_str());
    } else {
      char* end = nullptr;
      const long long id = std::strtoll(key.c_str(), &end, 10);
      const long long n = std::strtoll(value.c_str(), nullptr, 10);
      if (end == key.c_str() || *end != '\0' || n < 0) {
        return Status::Corruption(path + ":" + std::to_string(line_no) + ": bad entry '" + line +
                                  "'");
      }
      index.tracks[id] = n;
    }
  }
  return index;
}

Status WriteIndex(const std::string& path, const IndexFile& index) {
  std::string text = "# mgr clip cache v1\nmetadata\t" + index.metadata + "\naudio_dir\t" +
                     index.audio_dir + "\nsample_rate\t" + std::to_string(index.sample_rate) + "\n";
  for (const auto& [id, n] : index.tracks) {
    text += std::to_string(id) + "\t" + std::to_string(n) + "\n";
  }
  return WriteFileAtomically(path, text);
}

enum class Outcome { kDecoded, kReused, kSkipped, kFailed };

struct TrackResult {
  Outcome outcome = Outcome::kFailed;
  int64_t num_samples = -1;  // >= 0 when a track file exists
  std::string warning;
  Status error;  // kFailed: the cache itself could not be written
};

TrackResult PrepareTrack(const std::string& dir, const Track& track, const CacheOptions& options) {
  TrackResult r;
  const std::string name = "track " + std::to_string(track.id) + " (" + track.audio_path + ")";
  const std::string file = TrackFile(dir, track.id);
  const std::string bad = BadFile(dir, track.id);
  const SourceStamp stamp = StampOf(track.audio_path);
  auto too_short = [&](int64_t n) {
    r.outcome = Outcome::kSkipped;
    r.warning = name + ": skipped: " + std::to_string(n) + " samples, shorter than one clip (" +
                std::to_string(options.min_samples) + ")";
  };

  // Reuse a valid file decoded from the same source.
  std::string rebuild_reason;
  {
    Result<MappedFile> mapped = MappedFile::Open(file);
    Status s = mapped.status();
    if (mapped.ok()) {
      TrackHeader h;
      s = CheckTrackFile(file, *mapped, track.id, options.sample_rate, true, &h);
      if (s.ok() && (h.source_size != stamp.size || h.source_mtime_ns != stamp.mtime_ns)) {
        s = Status::FailedPrecondition(file + ": source changed since it was decoded");
      }
      if (s.ok()) {
        r.num_samples = h.num_samples;
        r.outcome = Outcome::kReused;
        if (h.num_samples < options.min_samples) too_short(h.num_samples);
        return r;
      }
      rebuild_reason = s.message();
    } else if (s.code() != StatusCode::kNotFound) {
      rebuild_reason = s.message();
    }
  }
  // A track known not to decode, from the same source.
  {
    std::ifstream in(bad);
    int64_t size = -2, mtime = -2;
    std::string reason;
    if (in >> size >> mtime && std::getline(in >> std::ws, reason) && size == stamp.size &&
        mtime == stamp.mtime_ns) {
      r.outcome = Outcome::kSkipped;
      r.warning = name + ": skipped: " + reason;
      return r;
    }
  }

  DecodeOptions decode;
  decode.sample_rate = options.sample_rate;
  Result<std::vector<float>> samples = DecodeAudioFile(track.audio_path, decode);
  if (!samples.ok()) {
    std::string reason = samples.status().message();
    // The decoder's message starts with the path, which `name` already gives.
    if (reason.compare(0, track.audio_path.size() + 2, track.audio_path + ": ") == 0) {
      reason.erase(0, track.audio_path.size() + 2);
    }
    for (char& c : reason) {
      if (c == '\n') c = ' ';
    }
    const std::string text =
        std::to_string(stamp.size) + " " + std::to_string(stamp.mtime_ns) + " " + reason + "\n";
    r.error = WriteFileAtomically(bad, text);
    if (!r.error.ok()) return r;
    unlink(file.c_str());
    r.outcome = Outcome::kSkipped;
    r.warning = name + ": skipped: " + reason;
    return r;
  }
  TrackHeader h;
  std::memset(&h, 0, sizeof(h));
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.sample_rate = static_cast<uint32_t>(options.sample_rate);
  h.track_id = track.id;
  h.num_samples = static_cast<int64_t>(samples->size());
  h.checksum = Checksum(samples->data(), samples->size() * 4);
  h.source_size = stamp.size;
  h.source_mtime_ns = stamp.mtime_ns;
  const std::string_view head(reinterpret_cast<const char*>(&h), sizeof(h));
  const std::string_view body(reinterpret_cast<const char*>(samples->data()), samples->size() * 4);
  r.error = WriteFileAtomically(file, {head, body});
  if (!r.error.ok()) return r;
  unlink(bad.c_str());
  r.num_samples = h.num_samples;
  r.outcome = Outcome::kDecoded;
  if (!rebuild_reason.empty()) r.warning = name + ": rebuilt: " + rebuild_reason;
  if (h.num_samples < options.min_samples) too_short(h.num_samples);
  return r;
}

}  // namespace

std::string ClipCacheDirectory(const FmaOptions& data, const CacheOptions& options) {
  const uint64_t h =
      HashString(AbsolutePath(data.metadata_csv) + "\n" + AbsolutePath(data.audio_dir));
  char name[64];
  std::snprintf(name, sizeof(name), "sr%d-%016llx", options.sample_rate,
                static_cast<unsigned long long>(h));
  std::string dir = options.cache_dir;
  if (!dir.empty() && dir.back() == '/') dir.pop_back();
  return dir + "/" + name;
}

ClipCache::~ClipCache() = default;

Result<std::unique_ptr<ClipCache>> ClipCache::Open(const FmaOptions& data,
                                                   const CacheOptions& options) {
  const std::string dir = ClipCacheDirectory(data, options);
  Result<IndexFile> index = ReadIndex(dir + "/index.tsv");
  if (!index.ok()) {
    if (index.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("clip cache for " + data.metadata_csv + " at " +
                              std::to_string(options.sample_rate) + " Hz is not prepared in " +
                              options.cache_dir + " (run mgr-train prepare)");
    }
    return index.status();
  }
  if (index->sample_rate != options.sample_rate) {
    return Status::Corruption(dir + "/index.tsv: sample rate " +
                              std::to_string(index->sample_rate) + ", expected " +
                              std::to_string(options.sample_rate));
  }
  std::unique_ptr<ClipCache> cache(new ClipCache());
  cache->sample_rate_ = options.sample_rate;
  cache->directory_ = dir;
  cache->tracks_.reserve(index->tracks.size());
  for (const auto& [id, n] : index->tracks) {
    if (n < options.min_samples) continue;
    const std::string path = TrackFile(dir, id);
    Result<MappedFile> file = MappedFile::Open(path);
    Status s = file.status();
    TrackHeader h;
    if (s.ok()) s = CheckTrackFile(path, *file, id, options.sample_rate, false, &h);
    if (s.ok() && h.num_samples != n) {
      s = Status::Corruption(path + ": " + std::to_string(h.num_samples) + " samples, index says " +
                             std::to_string(n));
    }
    if (!s.ok()) return s.WithContext("clip cache damaged, rerun mgr-train prepare");
    Mapped m;
    m.file = *std::move(file);
    m.samples = reinterpret_cast<const float*>(static_cast<const char*>(m.file.data()) +
                                               sizeof(TrackHeader));
    m.num_samples = n;
    cache->tracks_.emplace(id, std::move(m));
  }
  return cache;
}

bool ClipCache::Contains(int64_t track_id) const { return tracks_.count(track_id) != 0; }

const float* ClipCache::Samples(int64_t track_id, int64_t* num_samples) const {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end()) {
    *num_samples = 0;
    return nullptr;
  }
  *num_samples = it->second.num_samples;
  return it->second.samples;
}

Result<PrepareSummary> PrepareClipCache(const FmaOptions& data, const FmaIndex& index,
                                        const CacheOptions& options) {
  if (options.sample_rate <= 0) {
    return Status::InvalidArgument("sample rate must be > 0, got " +
                                   std::to_string(options.sample_rate));
  }
  if (options.cache_dir.empty()) return Status::InvalidArgument("no cache directory given");
  const std::string dir = ClipCacheDirectory(data, options);
  MGR_RETURN_IF_ERROR(MakeDirectories(dir + "/tracks"));
  // Concurrent prepares of one cache take turns: the later one then reuses the tracks.
  const std::string lock_path = dir + "/lock";
  Result<FileLock> lock = FileLock::TryLock(lock_path);
  if (!lock.ok() && lock.status().code() == StatusCode::kBusy) {
    std::fprintf(stderr, "prepare: waiting for another prepare of this cache (%s)\n",
                 lock_path.c_str());
    lock = FileLock::Lock(lock_path);
  }
  if (!lock.ok()) return lock.status();

  const size_t n = index.tracks.size();
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, static_cast<int>(std::max<size_t>(n, 1))));
  std::vector<TrackResult> results(n);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  {
    Progress progress("prepare", static_cast<int64_t>(n), "tracks");
    auto work = [&] {
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= n || failed.load()) return;
        results[i] = PrepareTrack(dir, index.tracks[i], options);
        if (results[i].outcome == Outcome::kFailed) failed = true;
        progress.Add(1);
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
  }

  PrepareSummary summary;
  IndexFile out;
  {
    // Keep tracks of other subsets prepared earlier into the same cache.
    Result<IndexFile> old = ReadIndex(dir + "/index.tsv");
    if (old.ok() && old->sample_rate == options.sample_rate) out.tracks = old->tracks;
  }
  out.metadata = AbsolutePath(data.metadata_csv);
  out.audio_dir = AbsolutePath(data.audio_dir);
  out.sample_rate = options.sample_rate;
  for (size_t i = 0; i < n; ++i) {
    TrackResult& r = results[i];
    const int64_t id = index.tracks[i].id;
    if (r.outcome == Outcome::kFailed) {
      if (!r.error.ok()) return r.error;
      continue;  // not reached: stopped after another track failed
    }
    if (r.num_samples >= 0) {
      out.tracks[id] = r.num_samples;
    } else {
      out.tracks.erase(id);
    }
    if (!r.warning.empty()) summary.warnings.push_back(r.warning);
    switch (r.outcome) {
      case Outcome::kDecoded:
        ++summary.decoded;
        break;
      case Outcome::kReused:
        ++summary.reused;
        break;
      default:
        break;
    }
    if (r.outcome == Outcome::kSkipped || r.num_samples < options.min_samples) ++summary.skipped;
  }
  MGR_RETURN_IF_ERROR(WriteIndex(dir + "/index.tsv", out));
  return summary;
}

}  // namespace mgr
