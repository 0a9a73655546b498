#include "tuner/live_display.h"

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

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

// Durations: FormatDuration moved to storage/base (tests/storage/base/strings_test.cc).
TEST(LiveDisplayTest, Values) {
  EXPECT_EQ(FormatValue(NAN), "-");
  EXPECT_EQ(FormatValue(1.23456), "1.235");
}

}  // namespace
}  // namespace mgr
