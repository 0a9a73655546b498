// Recognising an allocation failure from an error message, for errors that carry no type
// of their own (a c10::Error from libtorch, a CUDA error text).
#ifndef MGR_STORAGE_BASE_OUT_OF_MEMORY_H_
#define MGR_STORAGE_BASE_OUT_OF_MEMORY_H_

#include <string_view>

namespace mgr {

// True when `message` reports that memory ran out, e.g. libtorch's
//   "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; ...)"
//   "DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes. ..."
// or an "Out of memory" from a backend.
bool IsOutOfMemoryMessage(std::string_view message);

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_OUT_OF_MEMORY_H_
