#include "storage/base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "storage/base/unique_fd.h"

namespace mgr {
namespace {

Status WriteAll(int fd, const std::string& path, std::string_view bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IoError(path + ": write failed: " + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Writes and closes the temporary file (without removing it on failure).
Status WriteTemporary(const std::string& tmp, std::initializer_list<std::string_view> pieces,
                      Durability durability) {
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::IoError(tmp + ": cannot create: " + std::strerror(errno));
  for (std::string_view piece : pieces) MGR_RETURN_IF_ERROR(WriteAll(fd.get(), tmp, piece));
  if (durability == Durability::kSynced && ::fsync(fd.get()) != 0) {
    return Status::IoError(tmp + ": fsync failed: " + std::strerror(errno));
  }
  // close() can report a delayed write error (e.g. NFS, a full disk).
  if (::close(fd.Release()) != 0) {
    return Status::IoError(tmp + ": close failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> pieces,
                           Durability durability) {
  // Unique per process (pid) and per call (counter), in the target's directory so that
  // the rename stays on one file system.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  Status written = WriteTemporary(tmp, pieces, durability);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::IoError(path + ": rename failed: " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return s;
  }
  if (durability == Durability::kSynced) {
    // Makes the rename itself durable. Best effort: the new file is already in place.
    UniqueFd dir(::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) ::fsync(dir.get());
  }
  return Status::Ok();
}

}  // namespace mgr
