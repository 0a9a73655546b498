#include "storage/base/out_of_memory.h"

namespace mgr {

bool IsOutOfMemoryMessage(std::string_view message) {
  for (std::string_view needle : {"out of memory", "Out of memory", "can't allocate memory"}) {
    if (message.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace mgr
