// Peak memory of a training epoch, for the worker's epoch event. Two implementations
// behind this header (trainer/training/CMakeLists.txt picks one): device_memory_cuda.cc
// when libtorch has CUDA (its allocator statistics need CUDA headers that a CPU-only
// libtorch does not ship), device_memory_cpu.cc otherwise.
#ifndef MGR_TRAINER_TRAINING_DEVICE_MEMORY_H_
#define MGR_TRAINER_TRAINING_DEVICE_MEMORY_H_

#include <sys/resource.h>

#include <cstdint>

#include <torch/torch.h>

namespace mgr {

// Starts a new peak: on CUDA, resets the caching allocator's peak statistics of the
// device; on the CPU nothing (the process's peak RSS cannot be reset).
void ResetPeakMemory(const torch::Device& device);

// On CUDA, the most bytes libtorch's caching allocator had allocated on the device since
// ResetPeakMemory (torch.cuda.max_memory_allocated). On the CPU, the process's peak
// resident set size so far (getrusage), which covers every epoch before this one too.
int64_t PeakMemoryBytes(const torch::Device& device);

// getrusage's ru_maxrss in bytes (Linux reports KiB).
inline int64_t ProcessPeakRssBytes() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_DEVICE_MEMORY_H_
