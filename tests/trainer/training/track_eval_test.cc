// Track-level evaluation against a reference computed here with plain torch ops: each
// track's windows sliced by hand, each run alone through the network, logits averaged.
#include "trainer/training/track_eval.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "trainer/models/model_factory.h"

namespace mgr {
namespace {

constexpr int64_t kClip = 65536;

TEST(TrackWindowCountTest, FullWindowsOnlyAndOneForAShortTrack) {
  EXPECT_EQ(TrackWindowCount(0, kClip), 1);
  EXPECT_EQ(TrackWindowCount(kClip / 3, kClip), 1);
  EXPECT_EQ(TrackWindowCount(kClip, kClip), 1);
  EXPECT_EQ(TrackWindowCount(2 * kClip - 1, kClip), 1);  // the tail is dropped
  EXPECT_EQ(TrackWindowCount(2 * kClip, kClip), 2);
  EXPECT_EQ(TrackWindowCount(4 * kClip + kClip / 2, kClip), 4);
}

class TrackMeanLogitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<HParams> hp = ResolveHParams(
        "nnet2", "paper", {{"res_channels", 8}, {"dense_layers", 1}, {"dense_units_0", 16}});
    ASSERT_TRUE(hp.ok()) << hp.status().ToString();
    input_ = MakeInputConfig("nnet2", *hp, kClip, 22050);
    torch::manual_seed(3);
    Result<GenreNet> net = BuildModel("nnet2", *hp, input_, 4);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    net_ = *net;
    net_->eval();
  }

  torch::Tensor Logits(const torch::Tensor& clips) {
    torch::NoGradGuard no_grad;
    NetInputs in = PrepareInputs(input_, clips);
    return net_->forward(in.audio, in.features);
  }

  InputConfig input_;
  GenreNet net_{nullptr};
};

TEST_F(TrackMeanLogitsTest, MatchesWindowsSlicedAndRunOneByOne) {
  torch::manual_seed(11);
  // 3.5 clips (3 windows, the half clip dropped), exactly one clip, a track shorter than
  // one clip (one zero-padded window) and two clips.
  const std::vector<int64_t> lengths = {3 * kClip + kClip / 2, kClip, kClip / 3, 2 * kClip};
  std::vector<torch::Tensor> audio;
  std::vector<TrackAudio> tracks;
  for (size_t i = 0; i < lengths.size(); ++i) {
    audio.push_back(torch::rand({lengths[i]}) * 1.6 - 0.8);
    tracks.push_back({audio.back().data_ptr<float>(), lengths[i], static_cast<int64_t>(i % 4)});
  }
  // Batches of 2 windows: batches span tracks (3 + 1 + 1 + 2 = 7 windows, the last alone).
  int calls = 0;
  const torch::Tensor got = TrackMeanLogits(tracks, kClip, 2, [&](const torch::Tensor& clips) {
    ++calls;
    EXPECT_LE(clips.size(0), 2);
    return Logits(clips);
  });
  EXPECT_EQ(calls, 4);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{4, 4}));

  for (size_t i = 0; i < lengths.size(); ++i) {
    std::vector<torch::Tensor> window_logits;
    if (lengths[i] < kClip) {
      torch::Tensor padded = torch::cat({audio[i], torch::zeros({kClip - lengths[i]})});
      window_logits.push_back(Logits(padded.unsqueeze(0))[0]);
    } else {
      for (int64_t start = 0; start + kClip <= lengths[i]; start += kClip) {
        window_logits.push_back(Logits(audio[i].slice(0, start, start + kClip).unsqueeze(0))[0]);
      }
    }
    const torch::Tensor want = torch::stack(window_logits).mean(0);
    EXPECT_TRUE(torch::allclose(got[static_cast<int64_t>(i)], want, 1e-4, 1e-5))
        << "track " << i << ": " << got[static_cast<int64_t>(i)] << " vs " << want;
  }
}

TEST(TrackMetricsTest, LossAndConfusionOfMeanLogits) {
  // Three tracks, two classes; by hand: predictions 0, 1, 0 for labels 0, 1, 1.
  const torch::Tensor mean_logits =
      torch::tensor({2.0f, 0.0f, 0.0f, 1.0f, 0.5f, 0.0f}).view({3, 2});
  const std::vector<TrackAudio> tracks = {{nullptr, 0, 0}, {nullptr, 0, 1}, {nullptr, 0, 1}};
  const SplitMetrics m = TrackMetrics(mean_logits, tracks, 2);
  // cross-entropy = log(1 + e^(other - own)), averaged over the tracks.
  const double want_loss =
      (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)) + std::log1p(std::exp(0.5))) / 3;
  EXPECT_NEAR(m.loss, want_loss, 1e-6);
  EXPECT_DOUBLE_EQ(m.accuracy, 2.0 / 3.0);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{1, 0}, {1, 1}}));
  // Class 0: precision 1/2, recall 1, F1 2/3; class 1: precision 1, recall 1/2, F1 2/3.
  EXPECT_DOUBLE_EQ(m.precision[0], 0.5);
  EXPECT_DOUBLE_EQ(m.recall[1], 0.5);
  EXPECT_NEAR(m.macro_f1, 2.0 / 3.0, 1e-12);
}

TEST(TrackMetricsTest, NoTracksGiveZeros) {
  const SplitMetrics m = TrackMetrics(torch::zeros({0, 0}), {}, 3);
  EXPECT_EQ(m.accuracy, 0);
  EXPECT_EQ(m.loss, 0);
  EXPECT_EQ(m.confusion.size(), 3u);
}

}  // namespace
}  // namespace mgr
