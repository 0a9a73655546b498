#include "storage/base/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::TempDir;
using testing_util::WriteFile;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  TempDir dir_;
};

TEST_F(FilesTest, ADirectoryExistsButIsNoRegularFile) {
  EXPECT_TRUE(PathExists(dir_.path()));
  EXPECT_FALSE(IsRegularFile(dir_.path()));
  EXPECT_FALSE(IsExecutableFile(dir_.path()));  // directories are "executable" (searchable)
}

TEST_F(FilesTest, AMissingPathIsNothing) {
  EXPECT_FALSE(PathExists(Path("missing")));
  EXPECT_FALSE(IsRegularFile(Path("missing")));
  EXPECT_FALSE(IsExecutableFile(Path("missing")));
  EXPECT_FALSE(PathExists(""));
}

TEST_F(FilesTest, ARegularFileIsExecutableOnlyWithItsModeBit) {
  const std::string file = Path("tool");
  WriteFile(file, "#!/bin/sh\n");
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  EXPECT_TRUE(PathExists(file));
  EXPECT_TRUE(IsRegularFile(file));
  EXPECT_FALSE(IsExecutableFile(file));
  ASSERT_EQ(::chmod(file.c_str(), 0755), 0);
  EXPECT_TRUE(IsExecutableFile(file));
}

TEST_F(FilesTest, LinksAreFollowed) {
  const std::string file = Path("target");
  WriteFile(file, "x");
  ASSERT_EQ(::symlink(file.c_str(), Path("link").c_str()), 0);
  EXPECT_TRUE(IsRegularFile(Path("link")));
  ASSERT_EQ(::symlink(Path("nowhere").c_str(), Path("dangling").c_str()), 0);
  EXPECT_FALSE(PathExists(Path("dangling")));
}

TEST_F(FilesTest, MakeDirectoriesCreatesMissingParents) {
  const std::string nested = Path("a/b/c");
  ASSERT_TRUE(MakeDirectories(nested).ok());
  struct stat st;
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // Again: it exists as a directory, which is fine (also with a trailing slash).
  EXPECT_TRUE(MakeDirectories(nested).ok());
  EXPECT_TRUE(MakeDirectories(nested + "/").ok());
  EXPECT_TRUE(MakeDirectories(dir_.path()).ok());
}

TEST_F(FilesTest, MakeDirectoriesUnderAFileFailsNamingThePath) {
  const std::string file = Path("plain");
  WriteFile(file, "x");
  const std::string below = file + "/sub/dir";
  Status s = MakeDirectories(below);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(below), std::string::npos) << s.message();
  EXPECT_FALSE(PathExists(below));
}

TEST_F(FilesTest, MakeDirectoriesOverAFileFails) {
  const std::string file = Path("plain");
  WriteFile(file, "x");
  Status s = MakeDirectories(file);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(file), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mgr
