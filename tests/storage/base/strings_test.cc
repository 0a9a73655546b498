#include "storage/base/strings.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(StringsTest, StartsWith) {
  EXPECT_TRUE(StartsWith("study.json", "study"));
  EXPECT_TRUE(StartsWith("study", "study"));
  EXPECT_TRUE(StartsWith("study", ""));
  EXPECT_TRUE(StartsWith("", ""));
  EXPECT_FALSE(StartsWith("", "s"));
  EXPECT_FALSE(StartsWith("stu", "study"));    // prefix longer than the text
  EXPECT_FALSE(StartsWith("Study", "study"));  // case-sensitive
  EXPECT_FALSE(StartsWith("a.json", "json"));
}

TEST(StringsTest, EndsWith) {
  EXPECT_TRUE(EndsWith("study.json", ".json"));
  EXPECT_TRUE(EndsWith(".json", ".json"));
  EXPECT_TRUE(EndsWith("x", ""));
  EXPECT_TRUE(EndsWith("", ""));
  EXPECT_FALSE(EndsWith("", ".json"));
  EXPECT_FALSE(EndsWith("json", ".json"));  // suffix longer than the text
  EXPECT_FALSE(EndsWith("study.JSON", ".json"));
  EXPECT_FALSE(EndsWith("study.json.bak", ".json"));
  // Works on text with embedded NUL bytes (string_view, not C strings).
  EXPECT_TRUE(EndsWith(std::string_view("a\0b", 3), std::string_view("\0b", 2)));
}

TEST(StringsTest, FormatDurationAsTheLiveDisplayShowsIt) {  // was LiveDisplayTest.Durations
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59.4), "59s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(NAN), "?");
}

TEST(StringsTest, FormatDurationRoundsToTheNearestSecond) {
  EXPECT_EQ(FormatDuration(0.49), "0s");
  EXPECT_EQ(FormatDuration(0.5), "1s");  // half-way rounds up, as Progress always did
  EXPECT_EQ(FormatDuration(59.5), "1m00s");
  EXPECT_EQ(FormatDuration(60), "1m00s");
  EXPECT_EQ(FormatDuration(3599.4), "59m59s");
  EXPECT_EQ(FormatDuration(3599.5), "1h00m");
  EXPECT_EQ(FormatDuration(3600), "1h00m");
  EXPECT_EQ(FormatDuration(3659), "1h00m");  // hours show minutes, not seconds
  EXPECT_EQ(FormatDuration(86400 + 61), "24h01m");
  EXPECT_EQ(FormatDuration(360000), "100h00m");
}

TEST(StringsTest, FormatDurationOfNonsenseIsAQuestionMark) {
  EXPECT_EQ(FormatDuration(-0.1), "?");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "?");
  EXPECT_EQ(FormatDuration(-std::numeric_limits<double>::infinity()), "?");
}

}  // namespace
}  // namespace mgr
