// FileLock: an exclusive advisory lock (flock) on a file, held while the object lives.
//
// The lock belongs to the open file description, so it excludes every other FileLock on
// the same path: in other processes and in this one alike (each Lock/TryLock opens the
// file anew). It is advisory: only code that takes the lock is kept out. The kernel drops
// it when the process dies, so a crash never leaves a stale lock. A child forked while the
// lock is held inherits the descriptor and so holds the lock too until it exits or execs.
// The lock file is created if missing and never deleted (deleting it would let two
// processes lock different inodes). Movable, not copyable; one owner at a time.
#ifndef MGR_STORAGE_BASE_FILE_LOCK_H_
#define MGR_STORAGE_BASE_FILE_LOCK_H_

#include <string>

#include "storage/base/status.h"
#include "storage/base/unique_fd.h"

namespace mgr {

class FileLock {
 public:
  // Takes the lock on `path`, waiting as long as another holder keeps it.
  // IoError naming the path when the file cannot be opened or locked.
  static Result<FileLock> Lock(const std::string& path);
  // Takes the lock on `path` if it is free; Busy (naming the path) if someone holds it.
  static Result<FileLock> TryLock(const std::string& path);

  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;  // releases the lock held, if any
  ~FileLock() = default;                      // closing the descriptor releases the lock

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<FileLock> Acquire(const std::string& path, bool wait);

  UniqueFd fd_;
};

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_FILE_LOCK_H_
