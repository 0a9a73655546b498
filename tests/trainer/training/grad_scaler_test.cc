// GradScaler against hand-computed values of torch.cuda.amp.GradScaler's rules.
#include "trainer/training/grad_scaler.h"

#include <gtest/gtest.h>

#include <limits>

namespace mgr {
namespace {

// One parameter p (initially `init`) and plain SGD with lr 1: a step does p -= grad.
struct Sgd {
  torch::Tensor p;
  torch::optim::SGD opt;
  explicit Sgd(std::vector<float> init)
      : p(torch::tensor(init).requires_grad_(true)), opt({p}, torch::optim::SGDOptions(1.0)) {}
  void SetGrad(std::vector<float> g) { p.mutable_grad() = torch::tensor(g); }
};

TEST(GradScalerTest, UnscaledGradsEqualGradOverScale) {
  GradScaler scaler;
  ASSERT_EQ(scaler.scale(), 65536.0);
  Sgd sgd({1.0f, 2.0f});
  // loss = 3 p0 - 0.5 p1: the scaled loss's gradient is (3, -0.5) * 2^16.
  torch::Tensor loss = (sgd.p * torch::tensor({3.0f, -0.5f})).sum();
  scaler.Scale(loss).backward();
  EXPECT_TRUE(torch::equal(sgd.p.grad(), torch::tensor({196608.0f, -32768.0f})));
  scaler.Unscale(sgd.opt);
  EXPECT_TRUE(torch::equal(sgd.p.grad(), torch::tensor({3.0f, -0.5f})));
  scaler.Unscale(sgd.opt);  // once per step
  EXPECT_TRUE(torch::equal(sgd.p.grad(), torch::tensor({3.0f, -0.5f})));
  EXPECT_TRUE(scaler.Step(sgd.opt));
  EXPECT_TRUE(torch::equal(sgd.p.detach(), torch::tensor({-2.0f, 2.5f})));
  scaler.Update();
  EXPECT_EQ(scaler.scale(), 65536.0);
  EXPECT_EQ(scaler.growth_tracker(), 1);
}

TEST(GradScalerTest, InfOrNanGradSkipsTheStepAndHalvesTheScale) {
  GradScaler scaler;
  Sgd sgd({1.0f, 2.0f});
  sgd.SetGrad({std::numeric_limits<float>::infinity(), 65536.0f});
  EXPECT_FALSE(scaler.Step(sgd.opt));
  EXPECT_TRUE(torch::equal(sgd.p.detach(), torch::tensor({1.0f, 2.0f})));  // not stepped
  scaler.Update();
  EXPECT_EQ(scaler.scale(), 32768.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);

  sgd.SetGrad({32768.0f, std::numeric_limits<float>::quiet_NaN()});
  EXPECT_FALSE(scaler.Step(sgd.opt));
  scaler.Update();
  EXPECT_EQ(scaler.scale(), 16384.0);

  // A clean step afterwards uses the halved scale: grad 16384 -> 1.
  sgd.SetGrad({16384.0f, -16384.0f});
  EXPECT_TRUE(scaler.Step(sgd.opt));
  EXPECT_TRUE(torch::equal(sgd.p.detach(), torch::tensor({0.0f, 3.0f})));
  scaler.Update();
  EXPECT_EQ(scaler.scale(), 16384.0);
  EXPECT_EQ(scaler.growth_tracker(), 1);
}

TEST(GradScalerTest, GrowsAfterGrowthIntervalCleanSteps) {
  GradScalerOptions options;
  options.init_scale = 8.0;
  options.growth_interval = 3;
  GradScaler scaler(options);
  Sgd sgd({0.0f});
  auto clean_step = [&] {
    sgd.SetGrad({8.0f});
    EXPECT_TRUE(scaler.Step(sgd.opt));
    scaler.Update();
  };
  clean_step();
  clean_step();
  EXPECT_EQ(scaler.scale(), 8.0);
  EXPECT_EQ(scaler.growth_tracker(), 2);
  // An overflow resets the count: three more clean steps are needed.
  sgd.SetGrad({std::numeric_limits<float>::infinity()});
  EXPECT_FALSE(scaler.Step(sgd.opt));
  scaler.Update();
  EXPECT_EQ(scaler.scale(), 4.0);
  clean_step();
  clean_step();
  EXPECT_EQ(scaler.scale(), 4.0);
  clean_step();
  EXPECT_EQ(scaler.scale(), 8.0);  // doubled after the third
  EXPECT_EQ(scaler.growth_tracker(), 0);
  // The default interval is PyTorch's 2000.
  EXPECT_EQ(GradScalerOptions().growth_interval, 2000);
  EXPECT_EQ(GradScalerOptions().growth_factor, 2.0);
  EXPECT_EQ(GradScalerOptions().backoff_factor, 0.5);
}

TEST(GradScalerTest, StateRoundTripsThroughJson) {
  GradScaler a;
  Sgd sgd({0.0f});
  sgd.SetGrad({std::numeric_limits<float>::infinity()});
  a.Step(sgd.opt);
  a.Update();
  sgd.SetGrad({1.0f});
  a.Step(sgd.opt);
  a.Update();
  GradScaler b;
  ASSERT_TRUE(b.FromJson(a.ToJson()).ok());
  EXPECT_EQ(b.scale(), 32768.0);
  EXPECT_EQ(b.growth_tracker(), 1);

  Status bad = b.FromJson({{"scale", -1.0}, {"growth_tracker", 0}});
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("grad_scaler.scale"), std::string::npos) << bad.ToString();
  bad = b.FromJson({{"scale", 2.0}});
  EXPECT_NE(bad.message().find("grad_scaler.growth_tracker"), std::string::npos);
  EXPECT_EQ(b.scale(), 32768.0);  // unchanged by a failed restore
}

}  // namespace
}  // namespace mgr
