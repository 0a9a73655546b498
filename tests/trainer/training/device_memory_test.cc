#include "trainer/training/device_memory.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

constexpr int64_t kMiB = 1 << 20;

TEST(DeviceMemoryTest, CpuPeakIsTheProcessPeakRss) {
  const torch::Device cpu(torch::kCPU);
  ResetPeakMemory(cpu);  // no effect on the CPU
  const int64_t before = PeakMemoryBytes(cpu);
  EXPECT_GT(before, 0);
  {
    // 256 MiB written (fill_ touches every page), so resident at once.
    torch::Tensor big = torch::empty({256 * kMiB / 4}, torch::kFloat32).fill_(1.0f);
    EXPECT_EQ(big[12345].item<float>(), 1.0f);
  }
  const int64_t after = PeakMemoryBytes(cpu);
  EXPECT_GE(after, 256 * kMiB);
  EXPECT_GE(after, before);  // a peak never shrinks
  EXPECT_EQ(PeakMemoryBytes(cpu), ProcessPeakRssBytes());
}

TEST(DeviceMemoryGpuTest, CudaPeakFollowsAllocationsAndResets) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu("cuda:0");
  ResetPeakMemory(gpu);
  {
    torch::Tensor big = torch::ones({256 * kMiB / 4}, torch::TensorOptions().device(gpu));
    EXPECT_GE(PeakMemoryBytes(gpu), 256 * kMiB);
  }
  EXPECT_GE(PeakMemoryBytes(gpu), 256 * kMiB);  // the peak outlives the tensor
  ResetPeakMemory(gpu);                         // ... until reset
  EXPECT_LT(PeakMemoryBytes(gpu), 256 * kMiB);
}

}  // namespace
}  // namespace mgr
