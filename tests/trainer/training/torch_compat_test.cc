#include "trainer/training/torch_compat.h"

#include <gtest/gtest.h>

#include <torch/version.h>

namespace mgr {
namespace {

torch::ScalarType LinearDtype(const torch::Device& device) {
  const auto options = torch::TensorOptions().device(device);
  return torch::linear(torch::ones({2, 3}, options), torch::ones({4, 3}, options)).scalar_type();
}

TEST(TorchCompatTest, GuardAutocastsAndRestores) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_EQ(LinearDtype(cpu), torch::kFloat32);
  {
    AutocastGuard guard(cpu, torch::kBFloat16);
    EXPECT_EQ(LinearDtype(cpu), torch::kBFloat16);
    {
      AutocastGuard off(cpu, torch::kFloat32);  // fp32: does nothing, the outer one holds
      EXPECT_EQ(LinearDtype(cpu), torch::kBFloat16);
    }
    EXPECT_EQ(LinearDtype(cpu), torch::kBFloat16);
  }
  EXPECT_EQ(LinearDtype(cpu), torch::kFloat32);  // disabled again on exit
}

TEST(TorchCompatTest, SupportOnTheCpu) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_TRUE(AutocastSupported(cpu, torch::kBFloat16));
  EXPECT_FALSE(AutocastSupported(cpu, torch::kFloat32));  // not an autocast dtype
  // CPU autocast lowers to float16 only from LibTorch 2.x on.
  if (TORCH_VERSION_MAJOR < 2) {
    EXPECT_FALSE(AutocastSupported(cpu, torch::kFloat16));
  }
  // The probe leaves autocast off.
  EXPECT_EQ(LinearDtype(cpu), torch::kFloat32);
}

TEST(TorchCompatGpuTest, GuardAutocastsOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu("cuda:0");
  EXPECT_TRUE(AutocastSupported(gpu, torch::kFloat16));
  EXPECT_TRUE(AutocastSupported(gpu, torch::kBFloat16));
  for (torch::ScalarType dtype : {torch::kFloat16, torch::kBFloat16}) {
    AutocastGuard guard(gpu, dtype);
    EXPECT_EQ(LinearDtype(gpu), dtype);
    EXPECT_EQ(LinearDtype(torch::kCPU), torch::kFloat32);  // CUDA autocast leaves the CPU alone
  }
  EXPECT_EQ(LinearDtype(gpu), torch::kFloat32);
}

}  // namespace
}  // namespace mgr
