#include "tuner/gpu_discovery.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mgr {
namespace {

using ::testing::ElementsAre;

TEST(GpuDiscoveryTest, ParsesNvidiaSmiList) {
  EXPECT_THAT(ParseNvidiaSmiList("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)\n"
                                 "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2)\n"
                                 "No devices were found\n"),
              ElementsAre("0", "1"));
  EXPECT_TRUE(ParseNvidiaSmiList("").empty());
}

TEST(GpuDiscoveryTest, FakeGpusAndCudaVisibleDevices) {
  SystemGpuDiscovery d;
  setenv("MGR_FAKE_GPUS", "4", 1);
  EXPECT_THAT(*d.Discover(), ElementsAre("0", "1", "2", "3"));
  setenv("MGR_FAKE_GPUS", "four", 1);
  EXPECT_FALSE(d.Discover().ok());
  unsetenv("MGR_FAKE_GPUS");
  setenv("CUDA_VISIBLE_DEVICES", "2,3", 1);
  EXPECT_THAT(*d.Discover(), ElementsAre("2", "3"));
  setenv("CUDA_VISIBLE_DEVICES", "", 1);
  EXPECT_TRUE(d.Discover()->empty());
  // UUIDs (what Slurm and Kubernetes device plugins may set) are passed on as they are, not
  // replaced by indices that would name other physical GPUs; "-1" ends the list as in CUDA.
  setenv("CUDA_VISIBLE_DEVICES", "GPU-8f1c2d3e, MIG-77aa,-1,4", 1);
  EXPECT_THAT(*d.Discover(), ElementsAre("GPU-8f1c2d3e", "MIG-77aa"));
  unsetenv("CUDA_VISIBLE_DEVICES");
}

TEST(GpuDiscoveryTest, SlotsPerGpuElseCpuWorkers) {
  WorkersSpec spec;
  spec.trials_per_gpu = 2;
  spec.cpu_workers = 3;
  FixedGpuDiscovery four({"0", "1", "2", "3"});
  auto slots = MakeSlots(spec, four);
  ASSERT_TRUE(slots.ok());
  ASSERT_EQ(slots->size(), 8u);
  EXPECT_EQ((*slots)[7].CudaVisibleDevices(), "3");
  EXPECT_EQ((*slots)[6].Label(), "gpu3");  // trials_per_gpu 2: two slots share each GPU
  FixedGpuDiscovery none({});
  slots = MakeSlots(spec, none);
  ASSERT_EQ(slots->size(), 3u);
  EXPECT_EQ((*slots)[0].CudaVisibleDevices(), "");
  EXPECT_EQ((*slots)[0].Label(), "cpu");
  // An explicit list wins over discovery.
  spec.gpus_auto = false;
  spec.gpu_ids = {5};
  spec.trials_per_gpu = 1;
  slots = MakeSlots(spec, four);
  ASSERT_EQ(slots->size(), 1u);
  EXPECT_EQ((*slots)[0].Label(), "gpu5");
  FixedGpuDiscovery uuid({"GPU-8f1c2d3e"});
  spec.gpus_auto = true;
  slots = MakeSlots(spec, uuid);
  ASSERT_EQ(slots->size(), 1u);
  EXPECT_EQ((*slots)[0].Label(), "GPU-8f1c2d3e");
  EXPECT_EQ((*slots)[0].CudaVisibleDevices(), "GPU-8f1c2d3e");
}

}  // namespace
}  // namespace mgr
