#include "trainer/models/mixnet.h"

#include <sstream>

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/models/training_error.h"

namespace mgr {
namespace {

// Hand count: NNET1's conv block 1,846,080 + NNET2's residual block 547,072, then
//   2048*512+512 = 1,049,088; 512*256+256 = 131,328; 256*128+128 = 32,896; 128*8+8 = 1,032
//   classifier 1,214,344; total 3,607,496.
constexpr int64_t kPaperMixNetParameters = 3607496;

TEST(MixNetTest, PaperParameterCountAndShapes) {
  torch::manual_seed(0);
  MixNet net(MixNetOptions::Paper());
  EXPECT_EQ(CountParameters(*net), kPaperMixNetParameters);
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor out =
      net->forward(torch::randn({2, 1, 262144}) * 0.1, torch::randn({2, 1, 256, 20}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 8}));
}

TEST(MixNetTest, ParameterCountMatchesPythonTorch) {
  std::istringstream lines(testing_util::RunPython(testing_util::kPythonPaperModels));
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  int64_t count = 0;
  lines >> count;
  EXPECT_EQ(count, kPaperMixNetParameters);
}

// Both branches feed the classifier: changing either input changes the logits.
TEST(MixNetTest, BothBranchesMatter) {
  MixNetOptions o(65536, 65, 20, 8);
  o.conv({{8, 64, 16, 4}, {16, 16, 2, 2}}).res_channels(8).dense_units({16}).dropout({0.0});
  torch::manual_seed(0);
  MixNet net(o);
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::randn({2, 1, 65536}), f = torch::randn({2, 1, 65, 20});
  torch::Tensor base = net->forward(a, f);
  EXPECT_FALSE(torch::allclose(base, net->forward(a * 2, f)));
  EXPECT_FALSE(torch::allclose(base, net->forward(a, f * 2)));
  EXPECT_THROW(MixNet(MixNetOptions(1000, 65, 20, 8).conv({{8, 2000, 1, 1}})), TrainingError);
}

}  // namespace
}  // namespace mgr
