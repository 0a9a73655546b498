#include "trainer/data/fma_metadata.h"

#include <gtest/gtest.h>

#include "tests/trainer/data_test_util.h"

namespace mgr {
namespace {

using testing_util::TempDir;
using testing_util::WriteFile;

// Columns deliberately not in FMA's order (and an extra (track, title) that shares a name
// with (album, title)), so that a positional parser would fail.
const char kHeader[] =
    ",track,album,set,artist,set,track\n"
    ",genre_top,title,subset,bio,split,title\n"
    "track_id,,,,,,\n";

class FmaMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    csv_ = dir_.path() + "/tracks.csv";
    audio_ = dir_.path() + "/fma_small";
  }
  void Audio(int64_t id) {
    std::string path = FmaAudioPath(audio_, id);
    testing_util::Shell("mkdir -p '" + path.substr(0, path.rfind('/')) + "'");
    WriteFile(path, "x");
  }
  FmaOptions Options(const std::string& subset = "small") {
    FmaOptions o;
    o.metadata_csv = csv_;
    o.audio_dir = audio_;
    o.subset = subset;
    return o;
  }
  TempDir dir_;
  std::string csv_, audio_;
};

TEST(FmaAudioPathTest, ZeroPadsToSixDigits) {
  EXPECT_EQ(FmaAudioPath("/d/fma_small", 2), "/d/fma_small/000/000002.mp3");
  EXPECT_EQ(FmaAudioPath("/d/fma_small/", 98565), "/d/fma_small/098/098565.mp3");
  EXPECT_EQ(FmaAudioPath("a", 155320), "a/155/155320.mp3");
}

TEST(SplitNameTest, FmaWordsRoundTrip) {
  for (Split s : {Split::kTraining, Split::kValidation, Split::kTest}) {
    Split parsed;
    ASSERT_TRUE(ParseSplit(SplitName(s), &parsed));
    EXPECT_EQ(parsed, s);
  }
  EXPECT_STREQ(SplitName(Split::kValidation), "validation");
  Split parsed;
  EXPECT_FALSE(ParseSplit("train", &parsed));
}

TEST_F(FmaMetadataTest, SelectsSubsetSplitGenreAndLabelsByColumnName) {
  WriteFile(csv_, std::string(kHeader) +
                      "2,Rock,\"Album, one\",small,\"Bio with, comma\nand newline\",training,t\n"
                      "3,Folk,a,small,b,validation,t\n"
                      "5,Electronic,a,medium,b,training,t\n"
                      "10,Hip-Hop,a,small,b,test,\"title \"\"quoted\"\"\"\n"
                      "11,,a,large,b,training,t\n");
  for (int64_t id : {2, 3, 5, 10}) Audio(id);
  Result<FmaIndex> index = LoadFmaIndex(Options("small"));
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->classes, (std::vector<std::string>{"Folk", "Hip-Hop", "Rock"}));
  ASSERT_EQ(index->tracks.size(), 3u);
  EXPECT_EQ(index->rows_skipped, 0);
  EXPECT_EQ(index->tracks[0].id, 2);
  EXPECT_EQ(index->tracks[0].genre, "Rock");
  EXPECT_EQ(index->tracks[0].label, 2);
  EXPECT_EQ(index->tracks[0].split, Split::kTraining);
  EXPECT_EQ(index->tracks[0].audio_path, audio_ + "/000/000002.mp3");
  EXPECT_EQ(index->tracks[1].id, 3);
  EXPECT_EQ(index->tracks[1].label, 0);
  EXPECT_EQ(index->tracks[1].split, Split::kValidation);
  EXPECT_EQ(index->tracks[2].id, 10);
  EXPECT_EQ(index->tracks[2].label, 1);
  EXPECT_EQ(index->tracks[2].split, Split::kTest);

  // medium = small + medium; Electronic becomes a class and labels shift.
  index = LoadFmaIndex(Options("medium"));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->classes, (std::vector<std::string>{"Electronic", "Folk", "Hip-Hop", "Rock"}));
  ASSERT_EQ(index->tracks.size(), 4u);
  EXPECT_EQ(index->tracks[0].label, 3);

  // large adds track 11, whose genre is empty: skipped, named, counted.
  index = LoadFmaIndex(Options("large"));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->tracks.size(), 4u);
  EXPECT_EQ(index->rows_skipped, 1);
  ASSERT_EQ(index->warnings.size(), 1u);
  EXPECT_NE(index->warnings[0].find("track 11"), std::string::npos) << index->warnings[0];
  EXPECT_NE(index->warnings[0].find("genre"), std::string::npos);
  // Line 9: three header lines, then row 2 spans lines 4-5, rows on 6, 7, 8, 9.
  EXPECT_NE(index->warnings[0].find("tracks.csv:9:"), std::string::npos) << index->warnings[0];
}

TEST_F(FmaMetadataTest, BadRowsAreSkippedNamedAndCounted) {
  WriteFile(csv_, std::string(kHeader) +
                      "2,Rock,a,small,b,training,t\n"
                      "3,Rock,a,small,b,train,t\n"  // unknown split
                      "4,,a,small,b,training,t\n"   // empty genre
                      "5,Pop,a,small,b,test,t\n"    // audio file missing
                      "x7,Pop,a,small,b,test,t\n"   // bad id
                      "8,Pop,a,tiny,b,test,t\n"     // unknown subset
                      "9,Pop,a,small\n"             // short row
                      "2,Pop,a,small,b,test,t\n");  // duplicate id
  for (int64_t id : {2, 3, 4, 8, 9}) Audio(id);
  Result<FmaIndex> index = LoadFmaIndex(Options());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ(index->tracks.size(), 1u);
  EXPECT_EQ(index->tracks[0].id, 2);
  EXPECT_EQ(index->tracks[0].genre, "Rock");  // never replaced by the duplicate
  EXPECT_EQ(index->rows_skipped, 7);
  ASSERT_EQ(index->warnings.size(), 7u);
  const char* expected[] = {
      "tracks.csv:5: track 3: unknown split 'train'",
      "tracks.csv:6: track 4: empty genre_top",
      "tracks.csv:7: track 5: audio file",
      "tracks.csv:8: bad track id 'x7'",
      "tracks.csv:9: track 8: unknown subset 'tiny'",
      "tracks.csv:10: track 9: row has 4 fields",
      "tracks.csv:11: track 2: duplicate",
  };
  for (int i = 0; i < 7; ++i) {
    EXPECT_NE(index->warnings[i].find(expected[i]), std::string::npos) << index->warnings[i];
  }
  EXPECT_NE(index->warnings[2].find("000005.mp3"), std::string::npos);
}

TEST_F(FmaMetadataTest, MissingColumnIsNamed) {
  WriteFile(csv_,
            ",track,set\n"
            ",genre_top,subset\n"
            "track_id,,\n"
            "2,Rock,small\n");
  Audio(2);
  Result<FmaIndex> index = LoadFmaIndex(Options());
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.status().message().find("(set, split)"), std::string::npos)
      << index.status().message();
  EXPECT_NE(index.status().message().find(csv_), std::string::npos);
}

TEST_F(FmaMetadataTest, MissingFileUnknownSubsetAndEmptyResult) {
  Result<FmaIndex> index = LoadFmaIndex(Options());
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), StatusCode::kNotFound);
  EXPECT_NE(index.status().message().find(csv_), std::string::npos);

  WriteFile(csv_, std::string(kHeader) + "2,Rock,a,small,b,training,t\n");
  index = LoadFmaIndex(Options("huge"));
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.status().message().find("huge"), std::string::npos);

  index = LoadFmaIndex(Options());  // the only row's audio is missing
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.status().message().find("no usable track"), std::string::npos);
}

TEST_F(FmaMetadataTest, HeaderMustEndWithTrackIdLine) {
  WriteFile(csv_, ",track,set,set\n,genre_top,subset,split\n2,Rock,small,training\n");
  Audio(2);
  Result<FmaIndex> index = LoadFmaIndex(Options());
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.status().message().find("track_id"), std::string::npos);
}

}  // namespace
}  // namespace mgr
