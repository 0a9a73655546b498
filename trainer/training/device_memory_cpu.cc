// A libtorch without CUDA: every device is the CPU.
#include "trainer/training/device_memory.h"

namespace mgr {

void ResetPeakMemory(const torch::Device&) {}

int64_t PeakMemoryBytes(const torch::Device&) { return ProcessPeakRssBytes(); }

}  // namespace mgr
