// Tests of tools/make_fma_dataset.cc (mgr-make-dataset), built into trainer_data_tests so
// they can also run the real loader and clip cache on what it writes.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/trainer/data_test_util.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"

namespace mgr {
namespace {

using testing_util::Shell;
using testing_util::TempDir;

const std::string kTool = std::string(MGR_BINARY_DIR) + "/tools/mgr-make-dataset";
const std::string kCheck = std::string(MGR_SOURCE_DIR) + "/tests/tools/make_fma_dataset_check.py";

int Make(const std::string& out, int seed, int threads) {
  return Shell("'" + kTool + "' --size tiny --out '" + out + "' --seed " + std::to_string(seed) +
               " --threads " + std::to_string(threads) + " > /dev/null");
}

class MakeDatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_EQ(Make(dir_->path() + "/a", 1, 2), 0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Out() { return dir_->path() + "/a"; }
  static FmaOptions Data() {
    FmaOptions o;
    o.metadata_csv = Out() + "/fma_metadata/tracks.csv";
    o.audio_dir = Out() + "/fma_small";
    return o;
  }
  static TempDir* dir_;
};
TempDir* MakeDatasetTest::dir_ = nullptr;

TEST_F(MakeDatasetTest, DeterministicForASeedWhateverTheThreads) {
  TempDir other;
  ASSERT_EQ(Make(other.path() + "/b", 1, 1), 0);
  ASSERT_EQ(Make(other.path() + "/c", 2, 2), 0);
  EXPECT_EQ(Shell("diff -r '" + Out() + "' '" + other.path() + "/b' > /dev/null"), 0);
  EXPECT_NE(Shell("cmp -s '" + Out() + "/fma_small/000/000002.mp3' '" + other.path() +
                  "/c/fma_small/000/000002.mp3'"),
            0);
}

// Python's csv module reads tracks.csv as FMA's: three header lines, 14 fields in every row
// (the bios hold commas, quotes and newlines), and our loader agrees with it row by row.
TEST_F(MakeDatasetTest, TracksCsvAgreesWithPythonsCsvModule) {
  std::string out;
  ASSERT_EQ(
      Shell(std::string(MGR_PYTHON) + " '" + kCheck + "' '" + Data().metadata_csv + "'", &out), 0);
  std::istringstream in(out);
  std::string word;
  int groups, names;
  in >> word >> groups >> names >> word;
  EXPECT_EQ(groups, 14);
  EXPECT_EQ(names, 14);
  EXPECT_EQ(word, "track_id");
  std::map<int64_t, std::pair<std::string, std::string>> small;  // id -> (split, genre)
  std::map<std::string, std::map<std::string, int>> counts;      // genre -> split -> n
  int64_t id;
  std::string split, subset, genre;
  int fields, rows = 0;
  while (in >> id >> split >> subset >> genre >> fields) {
    ++rows;
    EXPECT_EQ(fields, 14) << "track " << id;
    if (subset == "small") {
      small[id] = {split, genre};
      ++counts[genre][split];
    }
  }
  EXPECT_EQ(rows, 8 * 16 + 8);
  ASSERT_EQ(counts.size(), 8u);
  for (auto& [g, by_split] : counts) {
    // 10/3/3 per genre, plus the broken tracks in training.
    EXPECT_GE(by_split["training"], 10) << g;
    EXPECT_EQ(by_split["validation"], 3) << g;
    EXPECT_EQ(by_split["test"], 3) << g;
  }
  Result<FmaIndex> index = LoadFmaIndex(Data());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->classes,
            (std::vector<std::string>{"Electronic", "Experimental", "Folk", "Hip-Hop",
                                      "Instrumental", "International", "Pop", "Rock"}));
  EXPECT_EQ(index->rows_skipped, 0);
  ASSERT_EQ(index->tracks.size(), small.size());
  for (const Track& t : index->tracks) {
    ASSERT_EQ(small.count(t.id), 1u) << t.id;
    EXPECT_EQ(SplitName(t.split), small[t.id].first);
    EXPECT_EQ(t.genre, small[t.id].second);
  }
  // medium adds two rows whose audio is not there (as in a partial FMA download).
  FmaOptions medium = Data();
  medium.subset = "medium";
  index = LoadFmaIndex(medium);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->rows_skipped, 2);
}

// The MP3s decode (ffmpeg CLI) to exactly 4 s at 22.05 kHz: the LAME header carries the
// encoder delay and padding. The broken ones are broken for the CLI too.
TEST_F(MakeDatasetTest, Mp3sDecodeGaplesslyAndBrokenTracksAreBroken) {
  Result<FmaIndex> index = LoadFmaIndex(Data());
  ASSERT_TRUE(index.ok());
  // Every small file (the broken ones are under 30 kB) and the first 16 normal ones: one
  // CLI run per file is slow on a loaded machine.
  int good = 0, unreadable = 0, short_ones = 0, large_checked = 0;
  for (const Track& t : index->tracks) {
    struct stat st;
    ASSERT_EQ(stat(t.audio_path.c_str(), &st), 0) << t.audio_path;
    if (st.st_size >= 30000 && large_checked++ >= 16) continue;
    std::vector<float> x;
    if (!testing_util::FfmpegDecode(t.audio_path, 1, 22050, &x) || x.empty()) {
      ++unreadable;
    } else if (x.size() == 88200u) {
      ++good;
    } else {
      EXPECT_LT(x.size(), 65536u) << t.audio_path;
      ++short_ones;
    }
  }
  EXPECT_EQ(good, 16);
  EXPECT_EQ(unreadable + short_ones, 4);  // empty, text, truncated, 1.5 s
  EXPECT_GE(unreadable, 2);
}

TEST_F(MakeDatasetTest, PrepareSkipsExactlyTheBrokenTracks) {
  TempDir cache;
  CacheOptions options;
  options.cache_dir = cache.path();
  options.min_samples = 65536;
  Result<FmaIndex> index = LoadFmaIndex(Data());
  ASSERT_TRUE(index.ok());
  Result<PrepareSummary> summary = PrepareClipCache(Data(), *index, options);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->decoded + summary->reused, 128);
  EXPECT_EQ(summary->skipped, 4);
  EXPECT_EQ(summary->warnings.size(), 4u);
}

// A nearest-centroid classifier on spectral statistics (numpy, CLI-decoded audio) already
// separates the genres: the task is learnable, and a network has headroom.
TEST_F(MakeDatasetTest, GenresAreSeparable) {
  std::string out;
  ASSERT_EQ(Shell(std::string(MGR_PYTHON) + " '" + kCheck + "' '" + Data().metadata_csv + "' '" +
                      Data().audio_dir + "' --separability | tail -1",
                  &out),
            0);
  std::istringstream in(out);
  std::string word;
  double accuracy = 0;
  in >> word >> accuracy;
  ASSERT_EQ(word, "accuracy") << out;
  EXPECT_GE(accuracy, 0.85) << out;
}

}  // namespace
}  // namespace mgr
