#include "storage/base/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::ReadFile;
using testing_util::TempDir;
using testing_util::WriteFile;

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
  }
  return names;
}

TEST(AtomicFileTest, WritesANewFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.path() + "/index.tsv";
  ASSERT_TRUE(WriteFileAtomically(path, "# mgr clip cache v1\n").ok());
  EXPECT_EQ(ReadFile(path), "# mgr clip cache v1\n");
  EXPECT_EQ(List(dir.path()), std::vector<std::string>{"index.tsv"});
}

TEST(AtomicFileTest, ConcatenatesThePieces) {
  TempDir dir;
  const std::string path = dir.path() + "/track.f32";
  const std::string body("\0\1\2\3", 4);  // binary-safe
  ASSERT_TRUE(WriteFileAtomically(path, {"HEAD", body, "", "TAIL"}).ok());
  EXPECT_EQ(ReadFile(path), "HEAD" + body + "TAIL");
  ASSERT_TRUE(WriteFileAtomically(path, {}).ok());
  EXPECT_EQ(ReadFile(path), "");
}

TEST(AtomicFileTest, ReplacesTheOldContents) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  WriteFile(path, std::string(1000, 'o'));
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(ReadFile(path), "new");  // not "new" followed by the old tail
  EXPECT_EQ(List(dir.path()).size(), 1u);
}

TEST(AtomicFileTest, SyncedWritesTheSameWay) {
  TempDir dir;
  const std::string path = dir.path() + "/checkpoint.pt";
  WriteFile(path, "old");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("sec\0ond", 7), Durability::kSynced).ok());
  EXPECT_EQ(ReadFile(path), std::string("sec\0ond", 7));
  ASSERT_TRUE(WriteFileAtomically(path, {"a", "b"}, Durability::kSynced).ok());
  EXPECT_EQ(ReadFile(path), "ab");
  EXPECT_EQ(List(dir.path()), std::vector<std::string>{"checkpoint.pt"});
  Status s = WriteFileAtomically(dir.path() + "/no/such/dir/f", "x", Durability::kSynced);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("no/such/dir/f"), std::string::npos) << s.message();
}

TEST(AtomicFileTest, ReadersSeeTheOldOrTheNewContentsNeverAMix) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  const std::string a(1 << 18, 'a'), b(1 << 17, 'b');
  ASSERT_TRUE(WriteFileAtomically(path, a).ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      const std::string text = ReadFile(path);
      if (text != a && text != b) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(WriteFileAtomically(path, i % 2 ? a : b).ok());
  }
  while (reads.load() < 20) std::this_thread::yield();  // the reader really ran
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(List(dir.path()).size(), 1u);
}

TEST(AtomicFileTest, AMissingDirectoryIsAnIoErrorNamingTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/missing/f";
  Status s = WriteFileAtomically(path, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
}

TEST(AtomicFileTest, AFailedRenameKeepsTheTargetAndRemovesTheTemporary) {
  TempDir dir;
  const std::string path = dir.path() + "/target";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);  // a directory cannot be replaced by a file
  WriteFile(path + "/inside", "kept");
  Status s = WriteFileAtomically(path, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(path + ": rename failed"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(path + "/inside"), "kept");
  EXPECT_EQ(List(dir.path()), std::vector<std::string>{"target"});
}

}  // namespace
}  // namespace mgr
