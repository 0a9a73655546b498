// UniqueFd: owns a POSIX file descriptor and closes it when destroyed (like
// std::unique_ptr for an int). Movable, not copyable; not thread-safe (one owner).
#ifndef MGR_STORAGE_BASE_UNIQUE_FD_H_
#define MGR_STORAGE_BASE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace mgr {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}  // takes ownership; -1 means none
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }
  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }
  // Closes the descriptor held (if any) and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_UNIQUE_FD_H_
