// Storage URLs and the opener (storage/storage.cc): every URL form Optuna accepts that we
// support, the ones we refuse, and what the open options promise about the file.
#include "storage/storage.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::Exists;
using testing_util::ReadFile;
using testing_util::TempDir;
using testing_util::WriteFile;

std::string FilePathOf(const std::string& url) {
  Result<StorageUrl> parsed = ParseStorageUrl(url);
  EXPECT_TRUE(parsed.ok()) << url << ": " << parsed.status().ToString();
  return parsed.ok() ? parsed->FilePath() : "<error>";
}

TEST(ParseStorageUrlTest, OptunaUrlForms) {
  EXPECT_EQ(FilePathOf("sqlite:///study.db"), "study.db");
  EXPECT_EQ(FilePathOf("sqlite:////abs/dir/study.db"), "/abs/dir/study.db");
  EXPECT_EQ(FilePathOf("sqlite:///study.db?timeout=5"), "study.db");
  EXPECT_EQ(FilePathOf("runs/x.sqlite3"), "runs/x.sqlite3");
  EXPECT_EQ(FilePathOf(":memory:"), "");
  EXPECT_EQ(FilePathOf("sqlite:///:memory:"), "");
}

TEST(ParseStorageUrlTest, BackendPathAndQuery) {
  Result<StorageUrl> memory = ParseStorageUrl(":memory:");
  ASSERT_TRUE(memory.ok());
  EXPECT_EQ(memory->backend, StorageUrl::Backend::kInMemory);

  Result<StorageUrl> sqlite_memory = ParseStorageUrl("sqlite:///:memory:");
  ASSERT_TRUE(sqlite_memory.ok());
  EXPECT_EQ(sqlite_memory->backend, StorageUrl::Backend::kSqlite);
  EXPECT_EQ(sqlite_memory->path, ":memory:");

  Result<StorageUrl> absolute = ParseStorageUrl("sqlite:////abs/x.db?timeout=5");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->backend, StorageUrl::Backend::kSqlite);
  EXPECT_EQ(absolute->path, "/abs/x.db");
  EXPECT_EQ(absolute->query, "timeout=5");

  for (const char* plain : {"a.db", "dir/a.sqlite", "/abs/a.sqlite3"}) {
    Result<StorageUrl> p = ParseStorageUrl(plain);
    ASSERT_TRUE(p.ok()) << plain;
    EXPECT_EQ(p->backend, StorageUrl::Backend::kSqlite);
    EXPECT_EQ(p->path, plain);
    EXPECT_EQ(p->query, "");
  }
}

TEST(ParseStorageUrlTest, RefusesOtherSchemesAndPaths) {
  struct Case {
    std::string url;
    std::string phrase;
  };
  for (const Case& c : std::vector<Case>{
           {"postgresql://u:secret@host:99999/db", "port"},
           {"mysql+pymysql://u:p@h/db", "expected sqlite:///path.db, postgresql://"},
           {"sqlite://", "expected sqlite:///path.db, postgresql://"},
           {"redis://localhost", "expected sqlite:///path.db, postgresql://"},
           {"study.json", "expected sqlite:///path.db"},
           {"", "expected sqlite:///path.db"},
           {"sqlite:///", "expected sqlite:///path/to/file.db"},
           {"sqlite:///?timeout=5", "expected sqlite:///path/to/file.db"},
           {std::string("sqlite:///a\0b.db", 16), "NUL byte"},
           {std::string("a\0b.db", 6), "NUL byte"},
       }) {
    Result<StorageUrl> r = ParseStorageUrl(c.url);
    ASSERT_FALSE(r.ok()) << c.url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(r.status().message().find(c.phrase), std::string::npos) << r.status().message();
  }
}

TEST(ParseStorageUrlTest, AnyBytesGiveAResult) {
  // Every 0-, 1- and 2-byte string, and prefixes of the valid forms with every last byte.
  std::vector<std::string> inputs = {""};
  for (int a = 0; a < 256; ++a) {
    inputs.push_back(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; b += 7) inputs.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  for (const std::string& form : {std::string("sqlite:////x.db?q"), std::string(":memory:")}) {
    for (size_t n = 0; n <= form.size(); ++n) {
      for (int last = 0; last < 256; ++last) {
        inputs.push_back(form.substr(0, n) + static_cast<char>(last));
      }
    }
  }
  for (const std::string& in : inputs) {
    Result<StorageUrl> r = ParseStorageUrl(in);
    if (r.ok()) {
      EXPECT_EQ(r->FilePath().find('\0'), std::string::npos);
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(OpenStorageTest, CreatesAMissingFileByDefault) {
  TempDir dir;
  const std::string path = dir.path() + "/new.db";
  Result<std::unique_ptr<Storage>> s = OpenStorage("sqlite:///" + path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->GetAllStudies()->empty());
  EXPECT_TRUE(Exists(path));
}

TEST(OpenStorageTest, WithoutCreateAMissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.path() + "/missing.db";
  const std::string url = "sqlite:///" + path;
  for (bool read_only : {false, true}) {
    OpenOptions options;
    options.create_if_missing = false;
    options.read_only = read_only;
    Result<std::unique_ptr<Storage>> s = OpenStorage(url, options);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(s.status().message(),
              "database file '" + path + "' does not exist (storage " + url + ")");
    EXPECT_FALSE(Exists(path));
  }
}

TEST(OpenStorageTest, ReadOnlyOnAMissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.path() + "/missing.db";
  OpenOptions options;
  options.read_only = true;  // create_if_missing stays true: read_only wins
  Result<std::unique_ptr<Storage>> s = OpenStorage(path, options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find(path), std::string::npos) << s.status().message();
  EXPECT_FALSE(Exists(path));
}

TEST(OpenStorageTest, ReadOnlyReadsAndNeverChangesTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/s.db";
  {
    Result<std::unique_ptr<Storage>> s = OpenStorage(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    int64_t study = *(*s)->CreateStudy("cnn", {StudyDirection::kMinimize});
    ASSERT_TRUE((*s)->CreateTrial(study).ok());
  }
  const std::string before = ReadFile(path);
  OpenOptions options;
  options.read_only = true;
  Result<std::unique_ptr<Storage>> s = OpenStorage("sqlite:///" + path, options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Result<int64_t> id = (*s)->GetStudyId("cnn");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ((*s)->GetAllTrials(*id)->size(), 1u);
  EXPECT_FALSE((*s)->CreateStudy("rnn", {StudyDirection::kMaximize}).ok());
  EXPECT_FALSE((*s)->CreateTrial(*id).ok());
  EXPECT_EQ(ReadFile(path), before);
}

TEST(OpenStorageTest, ReadOnlyOnAnEmptyFileIsNotFoundAndLeavesItEmpty) {
  TempDir dir;
  const std::string path = dir.path() + "/empty.sqlite";
  WriteFile(path, "");
  OpenOptions options;
  options.read_only = true;
  Result<std::unique_ptr<Storage>> s = OpenStorage(path, options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFile(path), "");
}

TEST(OpenStorageTest, RefusesQueryOptionsAndBadUrls) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.path() + "/q.db?timeout=5";
  Result<std::unique_ptr<Storage>> q = OpenStorage(url);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("no query options"), std::string::npos);
  EXPECT_FALSE(Exists(dir.path() + "/q.db"));
  // A server that is not there: Unavailable naming it, never the password.
  Status pg = OpenStorage("postgresql://u:secret@127.0.0.1:1/db").status();
  EXPECT_EQ(pg.code(), StatusCode::kUnavailable) << pg.ToString();
  EXPECT_NE(pg.message().find("127.0.0.1:1/db"), std::string::npos) << pg.ToString();
  EXPECT_EQ(pg.message().find("secret"), std::string::npos) << pg.ToString();
}

TEST(ParseStorageUrlTest, PostgresUrlsAndTheirDescriptionWithoutPassword) {
  for (const char* url : {"postgresql://u:secret@db.lan:6543/optuna",
                          "postgresql+psycopg2://u:secret@db.lan:6543/optuna",
                          "postgres://u:secret@db.lan:6543/optuna"}) {
    Result<StorageUrl> p = ParseStorageUrl(url);
    ASSERT_TRUE(p.ok()) << url << ": " << p.status().ToString();
    EXPECT_EQ(p->backend, StorageUrl::Backend::kPostgres);
    EXPECT_EQ(p->FilePath(), "");
    EXPECT_EQ(p->Describe(), "postgresql db.lan:6543/optuna");
    EXPECT_EQ(DescribeStorageUrl(url), "postgresql db.lan:6543/optuna");
  }
  EXPECT_EQ(DescribeStorageUrl("sqlite:///a/b.db"), "a/b.db");
  EXPECT_EQ(DescribeStorageUrl("mysql://u:secret@h/db"), "...@h/db");
}

TEST(OpenStorageTest, InMemoryStoresAreNewAndWritable) {
  OpenOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  for (const char* url : {":memory:", "sqlite:///:memory:"}) {
    Result<std::unique_ptr<Storage>> s = OpenStorage(url, options);
    ASSERT_TRUE(s.ok()) << url << ": " << s.status().ToString();
    EXPECT_TRUE((*s)->CreateStudy("x", {StudyDirection::kMinimize}).ok()) << url;
  }
}

}  // namespace
}  // namespace mgr
