#include "storage/base/out_of_memory.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(OutOfMemoryTest, RecognisesLibtorchAllocationFailures) {
  // c10::OutOfMemoryError's text on CUDA.
  EXPECT_TRUE(IsOutOfMemoryMessage(
      "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity; "
      "20.12 GiB already allocated; 1.50 GiB free; 21.00 GiB reserved in total by PyTorch)"));
  // Newer libtorch names the caching allocator's device.
  EXPECT_TRUE(IsOutOfMemoryMessage(
      "CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has a total capacity of 139.72 GiB "
      "of which 3.06 MiB is free."));
  // A raw CUDA runtime error surfaced through a c10::Error.
  EXPECT_TRUE(
      IsOutOfMemoryMessage("CUDA error: out of memory\nCUDA kernel errors might be "
                           "asynchronously reported"));
  // The CPU allocator.
  EXPECT_TRUE(IsOutOfMemoryMessage(
      "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
      "you tried to allocate 85899345920 bytes. Error code 12 (Cannot allocate memory)"));
  // Capitalised, as some backends write it.
  EXPECT_TRUE(IsOutOfMemoryMessage("MPS backend out of memory"));
  EXPECT_TRUE(IsOutOfMemoryMessage("Out of memory while allocating the workspace"));
}

TEST(OutOfMemoryTest, IgnoresOtherErrors) {
  EXPECT_FALSE(IsOutOfMemoryMessage(""));
  EXPECT_FALSE(
      IsOutOfMemoryMessage("mat1 and mat2 shapes cannot be multiplied (32x128 and 64x10)"));
  EXPECT_FALSE(IsOutOfMemoryMessage("CUDA error: device-side assert triggered"));
  EXPECT_FALSE(IsOutOfMemoryMessage("memory format is not contiguous"));
}

}  // namespace
}  // namespace mgr
