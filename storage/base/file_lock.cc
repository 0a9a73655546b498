#include "storage/base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace mgr {

Result<FileLock> FileLock::Lock(const std::string& path) { return Acquire(path, true); }

Result<FileLock> FileLock::TryLock(const std::string& path) { return Acquire(path, false); }

Result<FileLock> FileLock::Acquire(const std::string& path, bool wait) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return Status::IoError(path + ": cannot open lock file: " + std::strerror(errno));
  }
  const int operation = wait ? LOCK_EX : LOCK_EX | LOCK_NB;
  while (::flock(fd.get(), operation) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return Status::Busy(path + ": locked by another process");
    return Status::IoError(path + ": flock: " + std::strerror(errno));
  }
  return FileLock(std::move(fd));
}

}  // namespace mgr
