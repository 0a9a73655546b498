#include "trainer/models/model_factory.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

HParams Paper(const std::string& family, const Json& overrides = Json::object()) {
  Result<HParams> hp = ResolveHParams(family, "paper", overrides);
  EXPECT_TRUE(hp.ok()) << hp.status().ToString();
  return hp.ok() ? *hp : HParams();
}

// The presets build the paper's networks (counts as in nnet*_test / mixnet_test).
TEST(ModelFactoryTest, PresetsBuildThePaperNetworks) {
  const std::pair<const char*, int64_t> expected[] = {
      {"nnet1", 2461832}, {"nnet2", 1876040}, {"mixnet", 3607496}};
  for (const auto& [family, count] : expected) {
    HParams hp = Paper(family);
    InputConfig in = MakeInputConfig(family, hp, 262144, 22050);
    torch::manual_seed(0);
    Result<GenreNet> net = BuildModel(family, hp, in, 8);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    EXPECT_EQ(CountParameters(**net), count) << family;
  }
}

TEST(ModelFactoryTest, InputConfigFollowsFamilyAndClip) {
  InputConfig n1 = MakeInputConfig("nnet1", Paper("nnet1"), 65536, 22050);
  EXPECT_TRUE(n1.audio);
  EXPECT_FALSE(n1.features);
  InputConfig n2 = MakeInputConfig("nnet2", Paper("nnet2"), 262144, 22050);
  EXPECT_FALSE(n2.audio);
  EXPECT_EQ(n2.frames, 256);  // 257 STFT frames, the first 256 kept
  EXPECT_EQ(n2.coefficients, 20);
  EXPECT_TRUE(n2.feature_options.standardize);
  InputConfig mel = MakeInputConfig("mixnet", Paper("mixnet", {{"feature", "mel"}}), 65536, 22050);
  EXPECT_TRUE(mel.audio && mel.features);
  EXPECT_EQ(mel.frames, 65536 / 1024 + 1);
  EXPECT_EQ(mel.coefficients, 128);
}

TEST(ModelFactoryTest, PrepareInputsShapesAndStandardisation) {
  HParams hp = Paper("mixnet");
  InputConfig in = MakeInputConfig("mixnet", hp, 8192, 22050);
  torch::manual_seed(0);
  torch::Tensor clips = torch::randn({3, 8192}) * 0.1;
  NetInputs x = PrepareInputs(in, clips);
  EXPECT_EQ(x.audio.sizes(), (std::vector<int64_t>{3, 1, 8192}));
  EXPECT_TRUE(torch::equal(x.audio.squeeze(1), clips));  // raw audio, never standardised
  ASSERT_EQ(x.features.sizes(), (std::vector<int64_t>{3, 1, 9, 20}));
  // Per clip and coefficient: mean 0, population std 1 over the frames.
  torch::Tensor mean = x.features.mean(2), std = x.features.std(2, /*unbiased=*/false);
  EXPECT_LT(mean.abs().max().item<double>(), 1e-4);
  EXPECT_LT((std - 1).abs().max().item<double>(), 1e-3);
  // Spectrogram augmentation with all probabilities 1 changes the features.
  SpectrogramAugmentOptions aug;
  aug.time_mask_p = aug.coef_mask_p = aug.noise_p = 1;
  std::mt19937_64 rng(1);
  NetInputs augmented = PrepareInputs(in, clips, &aug, &rng);
  EXPECT_FALSE(torch::equal(augmented.features, x.features));
}

TEST(ModelFactoryTest, UnbuildableArchitecturesFailFastNamingHyperparameters) {
  // Paper NNET1 on 4096-sample clips: 129 -> pool 32 -> 17 -> pool 8: conv_kernel_2 = 16 > 8.
  HParams hp = Paper("nnet1");
  Status s = ValidateArchitecture("nnet1", hp, MakeInputConfig("nnet1", hp, 4096, 22050));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("conv_kernel_2 = 16"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("8 steps from layer 1"), std::string::npos) << s.message();
  // NNET2 with 2048-sample clips has 3 frames: res_kernel 4 does not fit.
  HParams hp2 = Paper("nnet2");
  s = ValidateArchitecture("nnet2", hp2, MakeInputConfig("nnet2", hp2, 2048, 22050));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("res_kernel = 4"), std::string::npos) << s.message();
  Result<GenreNet> net = BuildModel("nnet2", hp2, MakeInputConfig("nnet2", hp2, 2048, 22050), 8);
  EXPECT_FALSE(net.ok());
}

}  // namespace
}  // namespace mgr
