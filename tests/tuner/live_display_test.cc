#include "tuner/live_display.h"

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

#include "storage/base/strings.h"

namespace mgr {
namespace {

TEST(LiveDisplayTest, PlainOutputHasOnlyLogLines) {
  std::ostringstream out;
  {
    LiveDisplay d(out, false);
    d.SetStatus({"cpu  base #1  epoch 1/4"});
    d.Log("trial 1 complete");
  }
  EXPECT_EQ(out.str(), "trial 1 complete\n");
}

TEST(LiveDisplayTest, TerminalRedrawsTheStatusBlockInPlace) {
  std::ostringstream out;
  LiveDisplay d(out, true);
  d.SetStatus({"a", "b"});
  EXPECT_EQ(out.str(), "\x1b[2Ka\n\x1b[2Kb\n");
  out.str("");
  d.Log("line");  // erase the 2-line block, print the line, draw the block again below it
  EXPECT_EQ(out.str(), "\x1b[2F\x1b[Jline\n\x1b[2Ka\n\x1b[2Kb\n");
  out.str("");
  d.SetStatus({"c"});
  EXPECT_EQ(out.str(), "\x1b[2F\x1b[J\x1b[2Kc\n");
  out.str("");
  d.Finish();
  EXPECT_EQ(out.str(), "\x1b[1F\x1b[J");
}

TEST(LiveDisplayTest, Durations) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59.4), "59s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(NAN), "?");
  EXPECT_EQ(FormatValue(NAN), "-");
  EXPECT_EQ(FormatValue(1.23456), "1.235");
}

}  // namespace
}  // namespace mgr
