#include "storage/base/mapped_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::TempDir;
using testing_util::WriteFile;

std::string Contents(const MappedFile& f) {
  return std::string(static_cast<const char*>(f.data()), f.size());
}

TEST(MappedFileTest, MapsTheWholeFile) {
  TempDir dir;
  const std::string path = dir.path() + "/data.bin";
  std::string bytes(100000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  WriteFile(path, bytes);
  Result<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->size(), bytes.size());
  EXPECT_EQ(Contents(*f), bytes);
}

TEST(MappedFileTest, TheMappingOutlivesTheFileName) {
  TempDir dir;
  const std::string path = dir.path() + "/old";
  WriteFile(path, "old contents");
  Result<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // Replaced by rename (as atomic writes do), then deleted: the mapping keeps the old bytes.
  WriteFile(dir.path() + "/new", "new contents");
  ASSERT_EQ(std::rename((dir.path() + "/new").c_str(), path.c_str()), 0);
  EXPECT_EQ(Contents(*f), "old contents");
  ASSERT_EQ(::unlink(path.c_str()), 0);
  EXPECT_EQ(Contents(*f), "old contents");
}

TEST(MappedFileTest, MovingKeepsOneMapping) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  WriteFile(path, "abc");
  Result<MappedFile> opened = MappedFile::Open(path);
  ASSERT_TRUE(opened.ok());
  MappedFile a = *std::move(opened);
  const void* data = a.data();
  MappedFile b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): tested on purpose
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), data);
  MappedFile c;
  c = std::move(b);
  EXPECT_EQ(Contents(c), "abc");
}

TEST(MappedFileTest, AnEmptyFileIsAnEmptyMapping) {
  TempDir dir;
  const std::string path = dir.path() + "/empty";
  WriteFile(path, "");
  Result<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(f->data(), nullptr);
}

TEST(MappedFileTest, AMissingFileIsNotFoundNamingIt) {
  TempDir dir;
  const std::string path = dir.path() + "/missing.f32";
  Result<MappedFile> f = MappedFile::Open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status().message();
}

TEST(MappedFileTest, ADirectoryIsAnIoErrorNamingIt) {
  TempDir dir;
  Result<MappedFile> f = MappedFile::Open(dir.path());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kIoError);
  EXPECT_NE(f.status().message().find(dir.path()), std::string::npos) << f.status().message();
}

TEST(MappedFileTest, AnUnreadableFileIsAnIoErrorNamingIt) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  TempDir dir;
  const std::string path = dir.path() + "/secret";
  WriteFile(path, "x");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  Result<MappedFile> f = MappedFile::Open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kIoError);
  EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status().message();
}

}  // namespace
}  // namespace mgr
