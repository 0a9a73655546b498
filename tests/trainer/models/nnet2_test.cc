#include "trainer/models/nnet2.h"

#include <sstream>

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/models/training_error.h"

namespace mgr {
namespace {

// Hand count from REFERENCE.md's table:
//   c1 1*256*4*20 + 256 = 20,736     bn 512
//   c2 256*256*4 + 256 = 262,400     bn 512
//   c3 256*256*4 + 256 = 262,400     bn 512      residual block 547,072
//   dense 1024*1024+1024 = 1,049,600; 1024*256+256 = 262,400; 256*64+64 = 16,448;
//         64*8+8 = 520                          classifier 1,328,968
//   total 1,876,040
constexpr int64_t kPaperNnet2Parameters = 1876040;

TEST(Nnet2Test, PaperParameterCountAndShapes) {
  torch::manual_seed(0);
  Nnet2 net(Nnet2Options::Paper());
  EXPECT_EQ(CountParameters(*net), kPaperNnet2Parameters);
  // 256 frames - 4 + 1 = 253 after the stem; head windows of 253 / 2 = 126 -> 2 steps.
  ResEncoder enc(ResEncoderOptions(256, 20));
  EXPECT_EQ(enc->head_window(), 126);
  EXPECT_EQ(enc->output_features(), 1024);
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(torch::randn({2, 1, 256, 20})).sizes(), (std::vector<int64_t>{2, 8}));
}

TEST(Nnet2Test, ParameterCountMatchesPythonTorch) {
  std::istringstream lines(testing_util::RunPython(testing_util::kPythonPaperModels));
  std::string line;
  std::getline(lines, line);
  int64_t count = 0;
  lines >> count;
  EXPECT_EQ(count, kPaperNnet2Parameters);
}

// The residual block preserves the length for odd and even kernels (pads k/2 and k-1-k/2),
// so the head sees T - k + 1 frames; 65 frames (2^16 samples) work too.
TEST(Nnet2Test, ResidualBlocksPreserveLength) {
  for (int64_t k : {1, 2, 3, 4, 5}) {
    torch::manual_seed(0);
    ResEncoder enc(ResEncoderOptions(65, 20).channels(4).kernel(k).blocks(2));
    EXPECT_EQ(enc->head_window(), (65 - k + 1) / 2) << k;
    torch::NoGradGuard no_grad;
    enc->eval();
    EXPECT_EQ(enc->forward(torch::randn({3, 1, 65, 20})).sizes(),
              (std::vector<int64_t>{3, 2 * 4 * 2}));
  }
}

// With zero residual branch weights, a block outputs ReLU(x + 0) = x for x = ReLU(stem):
// the skip connection adds the stem's output unchanged (checked against the stem alone).
TEST(Nnet2Test, SkipConnectionAddsTheInput) {
  torch::manual_seed(3);
  ResEncoder with_block(
      ResEncoderOptions(16, 5).channels(3).kernel(3).blocks(1).batch_norm(false).head_steps(16 - 3 +
                                                                                            1));
  torch::manual_seed(3);
  ResEncoder without(
      ResEncoderOptions(16, 5).channels(3).kernel(3).blocks(0).batch_norm(false).head_steps(16 - 3 +
                                                                                            1));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : with_block->named_parameters()) {
      if (p.key().find("block0") == 0) p.value().zero_();
    }
  }
  torch::Tensor x = torch::randn({2, 1, 16, 5});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(with_block->forward(x), without->forward(x)));
}

TEST(Nnet2Test, UnbuildableConfigurationsNameTheHyperparameters) {
  Result<int64_t> r = ResEncoderLength(ResEncoderOptions(65, 20).kernel(80));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("res_kernel = 80"), std::string::npos);
  EXPECT_NE(r.status().message().find("65 frames"), std::string::npos);
  r = ResEncoderLength(ResEncoderOptions(65, 20).channels(0));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("res_channels"), std::string::npos);
  EXPECT_THROW(Nnet2(Nnet2Options(65, 20, 8).kernel(65)), TrainingError);  // 1 frame < 2 steps
}

}  // namespace
}  // namespace mgr
