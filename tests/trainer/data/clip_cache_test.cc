#include "trainer/data/clip_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

#include "tests/trainer/data_test_util.h"

namespace mgr {
namespace {

using testing_util::FfmpegDecode;
using testing_util::Shell;
using testing_util::TempDir;
using testing_util::WriteFile;

constexpr int kRate = 8000;          // small files, fast tests
constexpr int64_t kClip = 2 * 8000;  // 2 s clips

// A small FMA-shaped dataset made with the ffmpeg CLI: tracks 2, 3, 5 good (3, 4 and 2.5 s,
// 44.1 kHz stereo / 22.05 kHz mono MP3), 7 shorter than a clip, 11 a text file.
class ClipCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    data_.metadata_csv = dir_.path() + "/fma_metadata/tracks.csv";
    data_.audio_dir = dir_.path() + "/fma_small";
    options_.cache_dir = dir_.path() + "/cache";
    options_.sample_rate = kRate;
    options_.min_samples = kClip;
    options_.threads = 2;
    ASSERT_EQ(Shell("mkdir -p '" + dir_.path() + "/fma_metadata' '" + data_.audio_dir + "/000'"),
              0);
    std::string csv =
        ",set,set,track\n,split,subset,genre_top\ntrack_id,,,\n"
        "2,training,small,Rock\n3,validation,small,Pop\n5,test,small,Rock\n"
        "7,training,small,Pop\n11,training,small,Rock\n";
    WriteFile(data_.metadata_csv, csv);
    Make(2, 3.0, 44100, 2, 440);
    Make(3, 4.0, 22050, 1, 660);
    Make(5, 2.5, 44100, 2, 880);
    Make(7, 1.0, 44100, 2, 440);
    WriteFile(Path(11), "not an mp3\n");
    Result<FmaIndex> index = LoadFmaIndex(data_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = *index;
    ASSERT_EQ(index_.tracks.size(), 5u);
  }
  std::string Path(int64_t id) { return FmaAudioPath(data_.audio_dir, id); }
  void Make(int64_t id, double seconds, int rate, int channels, int freq) {
    std::string e = "0.3*sin(2*PI*" + std::to_string(freq) + "*t)+0.05*(random(0)-0.5)";
    if (channels == 2) e += "|0.2*sin(2*PI*" + std::to_string(2 * freq) + "*t)";
    ASSERT_EQ(Shell("ffmpeg -nostdin -v error -y -f lavfi -i 'aevalsrc=exprs=" + e +
                    ":s=" + std::to_string(rate) + ":d=" + std::to_string(seconds) +
                    "' -c:a libmp3lame '" + Path(id) + "'"),
              0);
    channels_[id] = channels;
  }
  // Checks that the cache holds exactly what the ffmpeg CLI decodes for tracks 2, 3, 5.
  void ExpectCacheMatchesCli() {
    Result<std::unique_ptr<ClipCache>> cache = ClipCache::Open(data_, options_);
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    EXPECT_EQ((*cache)->sample_rate(), kRate);
    EXPECT_EQ((*cache)->size(), 3u);
    for (int64_t id : {2, 3, 5}) {
      ASSERT_TRUE((*cache)->Contains(id)) << id;
      std::vector<float> expected;
      ASSERT_TRUE(FfmpegDecode(Path(id), channels_[id], kRate, &expected));
      int64_t n = 0;
      const float* samples = (*cache)->Samples(id, &n);
      ASSERT_NE(samples, nullptr);
      ASSERT_EQ(n, static_cast<int64_t>(expected.size())) << id;
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(samples[i], expected[i], 1e-4) << id << " " << i;
    }
    for (int64_t id : {7, 11, 999}) {
      EXPECT_FALSE((*cache)->Contains(id)) << id;
      int64_t n = -1;
      EXPECT_EQ((*cache)->Samples(id, &n), nullptr);
      EXPECT_EQ(n, 0);
    }
  }
  std::string TrackFile(int64_t id) {
    return ClipCacheDirectory(data_, options_) + "/tracks/" + std::to_string(id) + ".f32";
  }

  TempDir dir_;
  FmaOptions data_;
  CacheOptions options_;
  FmaIndex index_;
  std::map<int64_t, int> channels_;
};

TEST_F(ClipCacheTest, OpenBeforePrepareIsNotFound) {
  Result<std::unique_ptr<ClipCache>> cache = ClipCache::Open(data_, options_);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), StatusCode::kNotFound);
  EXPECT_NE(cache.status().message().find("prepare"), std::string::npos);
}

TEST_F(ClipCacheTest, PrepareDecodesSkipsAndCountsThenReuses) {
  Result<PrepareSummary> summary = PrepareClipCache(data_, index_, options_);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->decoded, 3);
  EXPECT_EQ(summary->reused, 0);
  EXPECT_EQ(summary->skipped, 2);
  ASSERT_EQ(summary->warnings.size(), 2u);
  EXPECT_NE(summary->warnings[0].find("track 7"), std::string::npos) << summary->warnings[0];
  EXPECT_NE(summary->warnings[0].find("shorter than one clip"), std::string::npos);
  EXPECT_NE(summary->warnings[1].find("track 11"), std::string::npos) << summary->warnings[1];
  EXPECT_NE(summary->warnings[1].find("000011.mp3"), std::string::npos);
  ExpectCacheMatchesCli();

  summary = PrepareClipCache(data_, index_, options_);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->decoded, 0);
  EXPECT_EQ(summary->reused, 3);
  EXPECT_EQ(summary->skipped, 2);
  EXPECT_EQ(summary->warnings.size(), 2u);
}

TEST_F(ClipCacheTest, ShorterClipsAdmitTheShortTrackWithoutRedecoding) {
  ASSERT_TRUE(PrepareClipCache(data_, index_, options_).ok());
  CacheOptions shorter = options_;
  shorter.min_samples = kRate / 2;
  Result<std::unique_ptr<ClipCache>> cache = ClipCache::Open(data_, shorter);
  ASSERT_TRUE(cache.ok());
  EXPECT_TRUE((*cache)->Contains(7));
  int64_t n = 0;
  (*cache)->Samples(7, &n);
  EXPECT_NEAR(n, kRate, kRate / 100);
}

TEST_F(ClipCacheTest, CorruptAndTruncatedFilesAreDetectedAndRebuilt) {
  ASSERT_TRUE(PrepareClipCache(data_, index_, options_).ok());
  const std::string f2 = TrackFile(2), f3 = TrackFile(3);
  // Truncate one, flip a sample byte in another.
  ASSERT_EQ(truncate(f2.c_str(), 1000), 0);
  {
    std::string bytes = testing_util::ReadFile(f3);
    bytes[bytes.size() / 2] ^= 0x40;
    WriteFile(f3, bytes);
  }
  // Open only checks headers and sizes: the truncated file is caught there.
  Result<std::unique_ptr<ClipCache>> cache = ClipCache::Open(data_, options_);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), StatusCode::kCorruption);
  EXPECT_NE(cache.status().message().find("2.f32"), std::string::npos) << cache.status().message();

  // Prepare verifies checksums and rebuilds both.
  Result<PrepareSummary> summary = PrepareClipCache(data_, index_, options_);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->decoded, 2);
  EXPECT_EQ(summary->reused, 1);
  int rebuilt = 0;
  for (const std::string& w : summary->warnings) {
    if (w.find("rebuilt") != std::string::npos) ++rebuilt;
  }
  EXPECT_EQ(rebuilt, 2);
  ExpectCacheMatchesCli();
}

TEST_F(ClipCacheTest, InterruptedPrepareContinues) {
  ASSERT_TRUE(PrepareClipCache(data_, index_, options_).ok());
  const std::string dir = ClipCacheDirectory(data_, options_);
  // As if killed before the index was written, with one track never finished.
  ASSERT_EQ(unlink((dir + "/index.tsv").c_str()), 0);
  ASSERT_EQ(rename(TrackFile(5).c_str(), (TrackFile(5) + ".tmp.1.0").c_str()), 0);
  EXPECT_EQ(ClipCache::Open(data_, options_).status().code(), StatusCode::kNotFound);
  Result<PrepareSummary> summary = PrepareClipCache(data_, index_, options_);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->decoded, 1);
  EXPECT_EQ(summary->reused, 2);
  ExpectCacheMatchesCli();
}

TEST_F(ClipCacheTest, ChangedSourceIsDecodedAgain) {
  ASSERT_TRUE(PrepareClipCache(data_, index_, options_).ok());
  Make(3, 5.0, 22050, 1, 330);  // a different file under the same id
  Result<PrepareSummary> summary = PrepareClipCache(data_, index_, options_);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->decoded, 1);
  ExpectCacheMatchesCli();
}

TEST_F(ClipCacheTest, ConcurrentPreparesDoNotCorruptTheCache) {
  Result<PrepareSummary> a = Status::Internal("not run"), b = Status::Internal("not run");
  std::thread t1([&] { a = PrepareClipCache(data_, index_, options_); });
  std::thread t2([&] { b = PrepareClipCache(data_, index_, options_); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // The lock serialises them: one decodes, the other reuses.
  EXPECT_EQ(a->decoded + b->decoded, 3);
  EXPECT_EQ(a->reused + b->reused, 3);
  ExpectCacheMatchesCli();
}

TEST_F(ClipCacheTest, EachSampleRateAndSourceHasItsOwnCache) {
  ASSERT_TRUE(PrepareClipCache(data_, index_, options_).ok());
  CacheOptions other = options_;
  other.sample_rate = 16000;
  EXPECT_NE(ClipCacheDirectory(data_, other), ClipCacheDirectory(data_, options_));
  EXPECT_EQ(ClipCache::Open(data_, other).status().code(), StatusCode::kNotFound);
  FmaOptions moved = data_;
  moved.audio_dir = dir_.path() + "/elsewhere";
  EXPECT_NE(ClipCacheDirectory(moved, options_), ClipCacheDirectory(data_, options_));
}

#ifdef MGR_TRAIN_BINARY  // mgr-train is built only with libtorch (MGR_TRAINER_TORCH)
TEST_F(ClipCacheTest, PrepareCommandLine) {
  const std::string mgr_train = MGR_TRAIN_BINARY;
  std::string out;
  const std::string cmd = "'" + mgr_train + "' prepare --metadata '" + data_.metadata_csv +
                          "' --audio-dir '" + data_.audio_dir + "' --cache-dir '" +
                          options_.cache_dir + "' --sample-rate 8000 --clip-samples 16000 " +
                          "--threads 2 2>&1";
  ASSERT_EQ(Shell(cmd, &out), 0) << out;
  EXPECT_NE(out.find("decoded 3, reused 0, skipped 2"), std::string::npos) << out;
  ExpectCacheMatchesCli();
  // The same through a trial spec's "data" block.
  const std::string spec = dir_.path() + "/spec.json";
  WriteFile(spec, "{\"version\": 1, \"data\": {\"metadata\": \"" + data_.metadata_csv +
                      "\", \"audio_dir\": \"" + data_.audio_dir +
                      "\", \"subset\": \"small\", \"sample_rate\": 8000, \"clip_samples\": "
                      "16000, \"cache_dir\": \"" +
                      options_.cache_dir + "\"}}");
  ASSERT_EQ(Shell("'" + mgr_train + "' prepare --data '" + spec + "' 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("decoded 0, reused 3, skipped 2"), std::string::npos) << out;
  // A missing metadata file is a clear error.
  EXPECT_EQ(Shell("'" + mgr_train +
                      "' prepare --metadata /nonexistent.csv --audio-dir x "
                      "--cache-dir '" +
                      options_.cache_dir + "' 2>&1",
                  &out),
            1);
  EXPECT_NE(out.find("/nonexistent.csv"), std::string::npos) << out;
}
#endif  // MGR_TRAIN_BINARY

}  // namespace
}  // namespace mgr
