#include "trainer/models/nnet1.h"

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/models/training_error.h"

namespace mgr {
namespace {

// Hand count from REFERENCE.md's table (weights + biases; BatchNorm weight + bias):
//   c1 1*64*128 + 64 = 8,256        bn 128
//   c2 64*128*32 + 128 = 262,272    bn 256
//   c3 128*256*16 + 256 = 524,544   bn 512
//   c4 256*512*8 + 512 = 1,049,088  bn 1,024      conv block 1,846,080
//   dense 1024*512+512 = 524,800; 512*128+128 = 65,664; 128*128+128 = 16,512;
//         128*64+64 = 8,256; 64*8+8 = 520        classifier 615,752
//   total 2,461,832
constexpr int64_t kPaperNnet1Parameters = 2461832;

TEST(Nnet1Test, PaperParameterCountAndShapes) {
  torch::manual_seed(0);
  Nnet1 net(Nnet1Options::Paper());
  EXPECT_EQ(CountParameters(*net), kPaperNnet1Parameters);
  // Lengths: 262144 -> conv 8193 -> pool 2048 -> 1025 -> 512 -> 257 -> 128 -> 65.
  Result<std::vector<int64_t>> lengths =
      Conv1dEncoderLengths(Conv1dEncoderOptions(262144, Nnet1Options::Paper().conv()));
  ASSERT_TRUE(lengths.ok());
  EXPECT_EQ(*lengths, (std::vector<int64_t>{2048, 512, 128, 65}));
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor out = net->forward(torch::randn({2, 1, 262144}) * 0.1);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 8}));
}

TEST(Nnet1Test, ParameterCountMatchesPythonTorch) {
  std::istringstream lines(testing_util::RunPython(testing_util::kPythonPaperModels));
  int64_t count = 0;
  std::string shape;
  lines >> count >> shape;
  EXPECT_EQ(count, kPaperNnet1Parameters);
  torch::manual_seed(0);
  EXPECT_EQ(CountParameters(*Nnet1(Nnet1Options::Paper())), count);
}

TEST(Nnet1Test, HeadAdaptsToShortClips) {
  // 2^16 samples: 2049 -> 512 -> 257 -> 128 -> 65 -> 32 -> 17: the head pools all 17 steps.
  torch::manual_seed(0);
  Conv1dEncoder enc(Conv1dEncoderOptions(65536, Nnet1Options::Paper().conv()));
  EXPECT_EQ(enc->head_window(), 17);
  Nnet1 net(Nnet1Options::Paper(65536));
  EXPECT_EQ(CountParameters(*net), kPaperNnet1Parameters);  // the same network
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(torch::zeros({3, 1, 65536})).sizes(), (std::vector<int64_t>{3, 8}));
}

TEST(Nnet1Test, UnbuildableConfigurationsNameTheHyperparameters) {
  auto error = [](int64_t samples, std::vector<Conv1dLayer> layers) {
    Result<std::vector<int64_t>> r = Conv1dEncoderLengths(Conv1dEncoderOptions(samples, layers));
    return r.ok() ? std::string("ok") : r.status().message();
  };
  // A kernel longer than its (padded) input: 1000 samples / 32 -> 32 steps, kernel 100.
  std::string e = error(1000, {{8, 64, 32, 1}, {8, 100, 1, 1}});
  EXPECT_NE(e.find("conv_kernel_1 = 100"), std::string::npos) << e;
  EXPECT_NE(e.find("32 steps from layer 0"), std::string::npos) << e;
  // A pool that leaves nothing: 32 steps, pool 64.
  e = error(1000, {{8, 64, 32, 64}});
  EXPECT_NE(e.find("pool_0 = 64"), std::string::npos) << e;
  EXPECT_NE(e.find("outputs only 32"), std::string::npos) << e;
  e = error(1000, {{0, 3, 1, 1}});
  EXPECT_NE(e.find("conv_channels_0"), std::string::npos) << e;
  // The module itself refuses with TrainingError(kSpec) before allocating anything.
  try {
    Nnet1Options o(1000, 8);
    o.conv({{8, 64, 32, 64}});
    Nnet1 net(o);
    ADD_FAILURE() << "built an unbuildable network";
  } catch (const TrainingError& err) {
    EXPECT_EQ(err.kind(), TrainingError::Kind::kSpec);
    EXPECT_NE(std::string(err.what()).find("pool_0"), std::string::npos);
  }
}

TEST(Nnet1Test, XavierUniformWeightsAndZeroBiases) {
  torch::manual_seed(1);
  Nnet1 net(Nnet1Options::Paper(65536));
  int checked = 0;
  for (const auto& m : net->modules(false)) {
    if (auto* conv = m->as<torch::nn::Conv1d>()) {
      torch::Tensor w = conv->weight;
      const double fan_in = w.size(1) * w.size(2), fan_out = w.size(0) * w.size(2);
      const double bound = std::sqrt(6.0 / (fan_in + fan_out));
      EXPECT_LE(w.abs().max().item<double>(), bound);
      // U(-b, b) has standard deviation b / sqrt(3).
      EXPECT_NEAR(w.std().item<double>(), bound / std::sqrt(3.0), 0.1 * bound);
      EXPECT_EQ(conv->bias.abs().max().item<double>(), 0.0);
      ++checked;
    } else if (auto* linear = m->as<torch::nn::Linear>()) {
      torch::Tensor w = linear->weight;
      const double bound = std::sqrt(6.0 / (w.size(0) + w.size(1)));
      EXPECT_LE(w.abs().max().item<double>(), bound);
      EXPECT_NEAR(w.std().item<double>(), bound / std::sqrt(3.0), 0.1 * bound);
      EXPECT_EQ(linear->bias.abs().max().item<double>(), 0.0);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4 + 5);
}

TEST(Nnet1Test, DropoutAndBatchNormFollowTheOptions) {
  Nnet1Options o(4096, 5);
  o.conv({{4, 16, 4, 2}}).batch_norm(false).dense_units({6}).dropout({0.5});
  torch::manual_seed(0);
  Nnet1 net(o);
  int dropout = 0, batch_norm = 0;
  for (const auto& m : net->modules(false)) {
    if (m->as<torch::nn::Dropout>()) ++dropout;
    if (m->as<torch::nn::BatchNorm1d>()) ++batch_norm;
  }
  EXPECT_EQ(dropout, 1);
  EXPECT_EQ(batch_norm, 0);
  // conv 1*4*16+4 = 68; head 2*4 = 8 features; 8*6+6 = 54; 6*5+5 = 35.
  EXPECT_EQ(CountParameters(*net), 68 + 54 + 35);
}

}  // namespace
}  // namespace mgr
