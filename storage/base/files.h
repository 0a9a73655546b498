// File-system helpers every layer uses. Each returns what the operating system said;
// none throws.
#ifndef MGR_STORAGE_BASE_FILES_H_
#define MGR_STORAGE_BASE_FILES_H_

#include <string>

#include "storage/base/status.h"

namespace mgr {

// True when `path` names anything (a file, a directory, ...).
bool PathExists(const std::string& path);
// True when `path` is a regular file (after following links).
bool IsRegularFile(const std::string& path);
// True when `path` is a regular file this process may execute.
bool IsExecutableFile(const std::string& path);
// mkdir -p: creates `path` and its missing parents. OK when it exists as a directory.
Status MakeDirectories(const std::string& path);

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_FILES_H_
