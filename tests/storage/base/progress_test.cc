#include "storage/base/progress.h"

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace mgr {
namespace {

// A FILE* that is not a terminal, and what was written to it.
class Capture {
 public:
  Capture() : file_(std::tmpfile()) {}
  ~Capture() {
    if (file_ != nullptr) std::fclose(file_);
  }
  FILE* file() const { return file_; }
  std::string Text() const {
    std::fflush(file_);
    std::rewind(file_);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) text.append(buf, n);
    std::fseek(file_, 0, SEEK_END);
    return text;
  }

 private:
  FILE* file_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  EXPECT_EQ(start, text.size()) << "unterminated last line in: " << text;
  return lines;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST(ProgressTest, NonTerminalPrintsALineEveryTenthAndAFinalOne) {
  Capture out;
  ASSERT_NE(out.file(), nullptr);
  {
    Progress p("prepare", 100, "tracks", out.file());
    for (int i = 0; i < 9; ++i) p.Add();
    EXPECT_EQ(out.Text(), "");  // under 10%: nothing yet
    p.Add();
    std::vector<std::string> lines = Lines(out.Text());
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_TRUE(StartsWith(lines[0], "prepare: 10/100 tracks, ")) << lines[0];
    EXPECT_NE(lines[0].find("/s, ETA "), std::string::npos) << lines[0];
    EXPECT_EQ(lines[0].find('\r'), std::string::npos);  // no terminal escapes
    EXPECT_EQ(lines[0].find('\033'), std::string::npos);
    p.Add(5);  // 15: still in the same tenth
    EXPECT_EQ(Lines(out.Text()).size(), 1u);
    p.Add(85);  // 100: the final line says it, not a progress line
    EXPECT_EQ(Lines(out.Text()).size(), 1u);
  }  // the destructor finishes
  std::vector<std::string> lines = Lines(out.Text());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(StartsWith(lines[1], "prepare: 100/100 tracks in 0s (")) << lines[1];
  EXPECT_EQ(lines[1].back(), ')');
}

TEST(ProgressTest, FinishPrintsOnce) {
  Capture out;
  Progress p("decode", 40, "files", out.file());
  p.Add(2);  // under a tenth: no progress line
  p.Finish();
  p.Finish();
  p.Add(20);  // after Finish: counted, not printed
  std::vector<std::string> lines = Lines(out.Text());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(StartsWith(lines[0], "decode: 2/40 files in ")) << lines[0];
}

TEST(ProgressTest, DismissEndsWithoutAFinalLine) {
  Capture out;
  {
    Progress p("epoch 1/3", 10, "batches", out.file());
    p.Add(3);
    EXPECT_EQ(Lines(out.Text()).size(), 1u);
    p.Dismiss();
    p.Add(3);
  }
  // A log file gets neither escape codes nor a final line.
  std::vector<std::string> lines = Lines(out.Text());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(StartsWith(lines[0], "epoch 1/3: 3/10 batches, ")) << lines[0];
}

TEST(ProgressTest, SuffixEndsEveryLine) {
  Capture out;
  {
    Progress p("epoch 2/3", 10, "batches", out.file());
    p.SetSuffix(" | last: loss 0.812");
    p.Add(1);
  }
  std::vector<std::string> lines = Lines(out.Text());
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& l : lines) {
    EXPECT_TRUE(StartsWith(l, "epoch 2/3: 1/10 batches")) << l;
    EXPECT_NE(l.find(" | last: loss 0.812"), std::string::npos) << l;
    EXPECT_EQ(l.substr(l.size() - 19), " | last: loss 0.812");
  }
}

TEST(ProgressTest, CountsAddsFromManyThreads) {
  Capture out;
  {
    Progress p("work", 4000, "items", out.file());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&p] {
        for (int i = 0; i < 1000; ++i) p.Add();
      });
    }
    for (std::thread& t : threads) t.join();
  }
  std::vector<std::string> lines = Lines(out.Text());
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(StartsWith(lines.back(), "work: 4000/4000 items in ")) << lines.back();
}

TEST(ProgressTest, NullOutputPrintsNothing) {
  Progress p("quiet", 10, "items", nullptr);
  p.Add(10);
  p.Finish();  // must not crash
}

}  // namespace
}  // namespace mgr
