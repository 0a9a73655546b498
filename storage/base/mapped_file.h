// MappedFile: a whole file mapped read-only into memory (mmap), unmapped when destroyed.
//
// Movable, not copyable. The bytes stay valid while the object lives, even after the file
// is renamed over or deleted (the mapping keeps the old inode); they change only if
// someone rewrites the file in place, which the writers in this project never do (they
// replace files atomically, see atomic_file.h). Reading data() from several threads is
// safe; Open and moving are not.
#ifndef MGR_STORAGE_BASE_MAPPED_FILE_H_
#define MGR_STORAGE_BASE_MAPPED_FILE_H_

#include <cstddef>
#include <string>

#include "storage/base/status.h"

namespace mgr {

class MappedFile {
 public:
  // Maps `path`. NotFound when it does not exist, IoError otherwise (naming the path).
  // An empty file gives an empty mapping (size() 0, data() nullptr).
  static Result<MappedFile> Open(const std::string& path);

  MappedFile() = default;  // empty
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(void* data, size_t size) : data_(data), size_(size) {}
  void Unmap();

  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_MAPPED_FILE_H_
