#include "trainer/models/model_factory.h"

#include "trainer/models/training_error.h"

#include <gtest/gtest.h>

#include <cmath>

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
  EXPECT_EQ(n2.frames, 256);  // clip_samples / hop_length (257 STFT frames, the first 256 kept)
  EXPECT_EQ(n2.coefficients, 20);
  EXPECT_TRUE(n2.feature_options.standardize);
  InputConfig mel = MakeInputConfig("mixnet", Paper("mixnet", {{"feature", "mel"}}), 65536, 22050);
  EXPECT_TRUE(mel.audio && mel.features);
  EXPECT_EQ(mel.frames, 65536 / 1024);  // follows the clip
  EXPECT_EQ(mel.coefficients, 128);
}

TEST(ModelFactoryTest, FeatureAndAugmentationHParamsReachTheOptions) {
  HParams hp = Paper("mixnet", {{"feature", "mfcc"},
                                {"n_mels", 64},
                                {"n_mfcc", 13},
                                {"normalization", "none"},
                                {"aug_noise_min", 0.002},
                                {"aug_noise_max", 0.004},
                                {"aug_time_mask_min", 0.2},
                                {"aug_time_mask_max", 0.3},
                                {"aug_spec_time_max", 7},
                                {"aug_spec_coef_max", 3},
                                {"aug_spec_noise_std", 0.5}});
  InputConfig in = MakeInputConfig("mixnet", hp, 1 << 19, 44100);
  EXPECT_EQ(in.feature_options.n_mels, 64);
  EXPECT_EQ(in.feature_options.n_mfcc, 13);
  EXPECT_EQ(in.coefficients, 13);
  EXPECT_EQ(in.frames, 512);
  EXPECT_FALSE(in.feature_options.standardize);
  EXPECT_EQ(PrepareInputs(in, torch::randn({1, 1 << 19}) * 0.1).features.sizes(),
            (std::vector<int64_t>{1, 1, 512, 13}));
  WaveformAugmentOptions w = WaveformAugment(hp, 44100);
  EXPECT_EQ(w.noise_min_amplitude, 0.002);
  EXPECT_EQ(w.noise_max_amplitude, 0.004);
  EXPECT_EQ(w.time_mask_min_fraction, 0.2);
  EXPECT_EQ(w.time_mask_max_fraction, 0.3);
  SpectrogramAugmentOptions a = SpectrogramAugment(hp);
  EXPECT_EQ(a.max_time_mask, 7);
  EXPECT_EQ(a.max_coef_mask, 3);
  EXPECT_EQ(a.noise_scale, 0.5);
  // The defaults are the paper's (those the augmentation options carry by themselves).
  const HParams paper = Paper("mixnet");
  WaveformAugmentOptions wd = WaveformAugment(paper, 22050), w0;
  EXPECT_EQ(wd.noise_min_amplitude, w0.noise_min_amplitude);
  EXPECT_EQ(wd.noise_max_amplitude, w0.noise_max_amplitude);
  EXPECT_EQ(wd.time_mask_min_fraction, w0.time_mask_min_fraction);
  EXPECT_EQ(wd.time_mask_max_fraction, w0.time_mask_max_fraction);
  SpectrogramAugmentOptions sd = SpectrogramAugment(paper), s0;
  EXPECT_EQ(sd.max_time_mask, s0.max_time_mask);
  EXPECT_EQ(sd.max_coef_mask, s0.max_coef_mask);
  EXPECT_EQ(sd.noise_scale, s0.noise_scale);
}

// The paper's full-rate setting (44.1 kHz, 2^18 samples): every family validates, builds and
// takes one training step.
TEST(ModelFactoryTest, PaperFullRateTrainsOneStep) {
  for (const char* family : {"nnet1", "nnet2", "mixnet"}) {
    SCOPED_TRACE(family);
    HParams hp = Paper(family);
    InputConfig in = MakeInputConfig(family, hp, 262144, 44100);
    if (in.features) {
      EXPECT_EQ(in.frames, 256);
    }
    ASSERT_TRUE(ValidateArchitecture(family, hp, in).ok());
    torch::manual_seed(0);
    Result<GenreNet> net = BuildModel(family, hp, in, 8);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    (*net)->train();
    torch::optim::Adam opt(TrainableParameters(**net), torch::optim::AdamOptions(1e-4));
    const torch::Tensor clips = torch::randn({2, 262144}) * 0.1;
    NetInputs x = PrepareInputs(in, clips);
    torch::Tensor loss = torch::nn::functional::cross_entropy((*net)->forward(x.audio, x.features),
                                                              torch::tensor({1, 5}, torch::kLong));
    opt.zero_grad();
    loss.backward();
    opt.step();
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
  }
}

TEST(ModelFactoryTest, PrepareInputsShapesAndStandardisation) {
  HParams hp = Paper("mixnet");
  InputConfig in = MakeInputConfig("mixnet", hp, 8192, 22050);
  torch::manual_seed(0);
  torch::Tensor clips = torch::randn({3, 8192}) * 0.1;
  NetInputs x = PrepareInputs(in, clips);
  EXPECT_EQ(x.audio.sizes(), (std::vector<int64_t>{3, 1, 8192}));
  EXPECT_TRUE(torch::equal(x.audio.squeeze(1), clips));  // raw audio, never standardised
  ASSERT_EQ(x.features.sizes(), (std::vector<int64_t>{3, 1, 8, 20}));
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

TEST(ModelFactoryTest, DatasetNormalizationNeedsItsStatisticsAndAppliesThem) {
  HParams hp = Paper("nnet2");
  hp.normalization = "dataset";
  InputConfig in = MakeInputConfig("nnet2", hp, 8192, 22050);
  EXPECT_TRUE(in.NeedsDatasetStats());
  EXPECT_FALSE(in.feature_options.standardize);
  torch::manual_seed(0);
  const torch::Tensor clips = torch::randn({2, 8192}) * 0.1;
  EXPECT_THROW(PrepareInputs(in, clips), TrainingError);

  Status bad = SetFeatureStats({{"mean", std::vector<float>(19, 0.f)}, {"std", {1.f}}}, &in);
  EXPECT_NE(bad.message().find("19 means and 1 standard deviations for 20 coefficients"),
            std::string::npos)
      << bad.ToString();
  std::vector<float> mean(20), std(20);
  for (int c = 0; c < 20; ++c) mean[c] = -5.f * c, std[c] = 1.f + c;
  std[4] = 0;
  EXPECT_FALSE(SetFeatureStats({{"mean", mean}, {"std", std}}, &in).ok());
  std[4] = 5;
  ASSERT_TRUE(SetFeatureStats({{"mean", mean}, {"std", std}}, &in).ok());
  EXPECT_EQ(FeatureStatsToJson(in), (Json{{"mean", mean}, {"std", std}}));

  FeatureOptions raw = in.feature_options;
  const torch::Tensor want = (Mfcc(clips, raw) - torch::tensor(mean)) / torch::tensor(std);
  EXPECT_LT((PrepareInputs(in, clips).features.squeeze(1) - want).abs().max().item<double>(), 1e-5);
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
