#include "trainer/models/mixnet.h"

#include <sstream>

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/models/model_factory.h"
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

// Parameters and buffers (BatchNorm running statistics) of `module`, cloned.
std::vector<torch::Tensor> State(torch::nn::Module& module) {
  std::vector<torch::Tensor> state;
  for (const auto& t : module.parameters()) state.push_back(t.detach().clone());
  for (const auto& t : module.buffers()) state.push_back(t.detach().clone());
  return state;
}

bool SameState(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

// Issue #13: with freeze_encoders only the classifier trains. After an Adam step in train
// mode (weight decay on, so a stray encoder parameter would move even without gradient)
// the encoders' weights and BatchNorm statistics are bit-identical and the head's changed;
// without freezing the same step changes both encoders (the test can fail).
TEST(MixNetTest, FrozenEncodersStayBitIdentical) {
  for (bool freeze : {true, false}) {
    MixNetOptions o(8192, 17, 20, 3);
    o.conv({{8, 64, 16, 4}, {16, 16, 2, 2}})
        .res_channels(8)
        .dense_units({16})
        .dropout({0.0})
        .freeze_encoders(freeze);
    torch::manual_seed(0);
    MixNet net(o);
    std::vector<torch::Tensor> trainable = TrainableParameters(*net);
    EXPECT_EQ(trainable.size(),
              freeze ? net->classifier()->parameters().size() : net->parameters().size());
    torch::optim::Adam opt(trainable, torch::optim::AdamOptions(0.01).weight_decay(0.01));
    net->train();
    EXPECT_EQ(net->audio_encoder()->is_training(), !freeze);
    EXPECT_EQ(net->feature_encoder()->is_training(), !freeze);
    EXPECT_TRUE(net->classifier()->is_training());
    auto audio = State(*net->audio_encoder()), feature = State(*net->feature_encoder()),
         head = State(*net->classifier());
    torch::Tensor a = torch::randn({4, 1, 8192}), f = torch::randn({4, 1, 17, 20});
    torch::Tensor y = torch::tensor({0, 1, 2, 0});
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(a, f), y).backward();
    opt.step();
    EXPECT_EQ(SameState(audio, State(*net->audio_encoder())), freeze);
    EXPECT_EQ(SameState(feature, State(*net->feature_encoder())), freeze);
    EXPECT_FALSE(SameState(head, State(*net->classifier())));
    for (const auto& p : net->audio_encoder()->parameters()) EXPECT_EQ(p.requires_grad(), !freeze);
    net->eval();
    net->train();  // a second train() keeps frozen encoders in eval mode
    EXPECT_EQ(net->audio_encoder()->is_training(), !freeze);
  }
}

}  // namespace
}  // namespace mgr
