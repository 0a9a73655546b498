// Replacing a file's contents atomically: write a temporary file beside it, then rename it
// over the target. A reader, or a process that crashes mid-write, sees either the whole
// old file or the whole new one, never a mix or a truncated file.
// Safe to call from several threads and processes at once, also for the same path (the
// temporary names are unique; the last rename wins).
#ifndef MGR_STORAGE_BASE_ATOMIC_FILE_H_
#define MGR_STORAGE_BASE_ATOMIC_FILE_H_

#include <initializer_list>
#include <string>
#include <string_view>

#include "storage/base/status.h"

namespace mgr {

enum class Durability {
  // Atomic as above, but after a power loss the old contents may come back: for what can
  // be rebuilt (a cache), where an fsync per file costs too much.
  kAtomic,
  // Also fsyncs the file before the rename and its directory after it: once the call
  // returns, the new contents survive a power loss (checkpoints, results).
  kSynced,
};

// Writes the concatenation of `pieces` to `path` (e.g. a header and a body, without
// copying them together). The directory must exist. IoError naming the file on failure;
// the temporary file is removed then.
Status WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> pieces,
                           Durability durability = Durability::kAtomic);

inline Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                  Durability durability = Durability::kAtomic) {
  return WriteFileAtomically(path, {contents}, durability);
}

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_ATOMIC_FILE_H_
