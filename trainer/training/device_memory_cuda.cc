// A libtorch with CUDA: the caching allocator's statistics for CUDA devices.
#include <c10/cuda/CUDACachingAllocator.h>

#include "trainer/training/device_memory.h"

namespace mgr {

void ResetPeakMemory(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

int64_t PeakMemoryBytes(const torch::Device& device) {
  if (!device.is_cuda()) return ProcessPeakRssBytes();
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return stats.allocated_bytes[0].peak;  // [0]: StatType::AGGREGATE, all pools
}

}  // namespace mgr
