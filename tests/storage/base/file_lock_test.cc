#include "storage/base/file_lock.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::Exists;
using testing_util::TempDir;

// Runs `child` in a forked process and returns its exit code (-1 if it did not exit).
// The child must only use async-signal-safe calls and our code, no gtest assertions.
template <typename F>
int InChild(F child) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(child());
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(FileLockTest, CreatesTheLockFile) {
  TempDir dir;
  const std::string path = dir.path() + "/lock";
  Result<FileLock> lock = FileLock::TryLock(path);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_TRUE(Exists(path));
}

TEST(FileLockTest, ASecondLockInThisProcessIsBusyUntilTheFirstIsGone) {
  TempDir dir;
  const std::string path = dir.path() + "/lock";
  {
    Result<FileLock> first = FileLock::TryLock(path);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    Result<FileLock> second = FileLock::TryLock(path);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kBusy);
    EXPECT_NE(second.status().message().find(path), std::string::npos) << second.status().message();
    // Moving the lock keeps it held.
    FileLock moved = *std::move(first);
    EXPECT_FALSE(FileLock::TryLock(path).ok());
  }
  EXPECT_TRUE(FileLock::TryLock(path).ok());
}

TEST(FileLockTest, ExcludesAnotherProcess) {
  TempDir dir;
  const std::string path = dir.path() + "/lock";
  auto child_try = [&path] {
    Result<FileLock> l = FileLock::TryLock(path);
    if (l.ok()) return 0;
    return l.status().code() == StatusCode::kBusy ? 1 : 2;
  };
  {
    Result<FileLock> held = FileLock::TryLock(path);
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    EXPECT_EQ(InChild(child_try), 1);  // busy
  }
  EXPECT_EQ(InChild(child_try), 0);  // released with the parent's lock
}

TEST(FileLockTest, LockWaitsForTheHolder) {
  TempDir dir;
  const std::string path = dir.path() + "/lock";
  // The child is forked before the parent locks: a child forked later would inherit the
  // parent's descriptor, and with it the lock.
  int go[2], got[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(got), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(2);
    Result<FileLock> l = FileLock::Lock(path);  // blocks until the parent lets go
    c = l.ok() ? 'y' : 'n';
    ::_exit(::write(got[1], &c, 1) == 1 ? 0 : 3);
  }
  ::close(go[0]);
  ::close(got[1]);
  Result<FileLock> locked = FileLock::TryLock(path);
  ASSERT_TRUE(locked.ok()) << locked.status().ToString();
  std::optional<FileLock> held(*std::move(locked));
  ASSERT_EQ(::write(go[1], "!", 1), 1);
  struct pollfd p = {got[0], POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 300), 0) << "the child got the lock while the parent held it";
  held.reset();  // lets go
  char c = 0;
  EXPECT_EQ(::read(got[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  ::close(go[1]);
  ::close(got[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(FileLockTest, AnUnopenableLockFileIsAnIoErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.path() + "/no/such/dir/lock";
  Result<FileLock> lock = FileLock::Lock(path);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), StatusCode::kIoError);
  EXPECT_NE(lock.status().message().find(path), std::string::npos) << lock.status().message();
}

}  // namespace
}  // namespace mgr
