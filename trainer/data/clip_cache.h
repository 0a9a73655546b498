// The clip cache: decoded mono float audio of every usable track, one on-disk cache shared
// by all trials and workers, memory-mapped.
//
// Layout: <cache_dir>/<key>/ where key names the sample rate and a hash of the source
// (absolute metadata path + audio dir), holding one file per track (header with magic,
// version, sample count, checksum; then float32 samples), a `.bad` marker per track that
// cannot be decoded, `index.tsv` (written last, atomically) and `lock` (flock'ed by
// PrepareClipCache so concurrent runs never corrupt it). See docs/dataset.md.
#ifndef MGR_TRAINER_DATA_CLIP_CACHE_H_
#define MGR_TRAINER_DATA_CLIP_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/base/mapped_file.h"
#include "storage/base/status.h"
#include "trainer/data/fma_metadata.h"

namespace mgr {

struct CacheOptions {
  std::string cache_dir;
  int sample_rate = 22050;       // Hz
  int64_t min_samples = 262144;  // tracks shorter than one clip are skipped
  int threads = 0;               // 0 = all cores
};

// Read-only and thread-safe once open.
class ClipCache {
 public:
  // Opens the cache for (audio source, sample rate) under cache_dir; NotFound if not prepared.
  // Tracks shorter than options.min_samples are treated as absent.
  static Result<std::unique_ptr<ClipCache>> Open(const FmaOptions& data,
                                                 const CacheOptions& options);
  ~ClipCache();
  ClipCache(const ClipCache&) = delete;
  ClipCache& operator=(const ClipCache&) = delete;

  int sample_rate() const { return sample_rate_; }
  bool Contains(int64_t track_id) const;  // false for tracks skipped (broken, too short)
  // Samples of a track (mono, [-1, 1]); valid while the cache lives. Thread-safe.
  // Returns nullptr and *num_samples = 0 for a track the cache does not contain.
  const float* Samples(int64_t track_id, int64_t* num_samples) const;
  // Number of tracks contained.
  size_t size() const { return tracks_.size(); }
  // The directory holding this (source, sample rate) cache.
  const std::string& directory() const { return directory_; }

 private:
  struct Mapped {
    MappedFile file;  // the whole track file: header, then samples
    const float* samples = nullptr;
    int64_t num_samples = 0;
  };
  ClipCache() = default;

  int sample_rate_ = 0;
  std::string directory_;
  std::unordered_map<int64_t, Mapped> tracks_;
};

struct PrepareSummary {
  int64_t decoded = 0, reused = 0, skipped = 0;
  std::vector<std::string> warnings;  // one line per skipped track, naming it
};

// Decodes every track of `index` not yet cached (parallel, resumable, progress on stderr).
// A track that cannot be decoded or is shorter than options.min_samples is skipped with one
// warning and counted; a truncated or corrupt cache file is detected and rebuilt.
Result<PrepareSummary> PrepareClipCache(const FmaOptions& data, const FmaIndex& index,
                                        const CacheOptions& options);

// The directory of the (source, sample rate) cache under options.cache_dir.
std::string ClipCacheDirectory(const FmaOptions& data, const CacheOptions& options);

}  // namespace mgr

#endif  // MGR_TRAINER_DATA_CLIP_CACHE_H_
