#include "trainer/models/hparams.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

::testing::AssertionResult ErrorMentions(const Result<HParams>& r, const std::string& text) {
  if (r.ok()) return ::testing::AssertionFailure() << "expected an error mentioning " << text;
  if (r.status().message().find(text) == std::string::npos) {
    return ::testing::AssertionFailure() << r.status().ToString() << " lacks " << text;
  }
  return ::testing::AssertionSuccess();
}

// The paper's released networks and training setup (REFERENCE.md section 1).
TEST(HParamsTest, PaperPresets) {
  Result<HParams> n1 = ResolveHParams("nnet1", "paper", Json::object());
  ASSERT_TRUE(n1.ok()) << n1.status().ToString();
  ASSERT_EQ(n1->conv.size(), 4u);
  EXPECT_EQ(n1->conv[0], (Conv1dLayer{64, 128, 32, 4}));
  EXPECT_EQ(n1->conv[1], (Conv1dLayer{128, 32, 2, 2}));
  EXPECT_EQ(n1->conv[2], (Conv1dLayer{256, 16, 2, 2}));
  EXPECT_EQ(n1->conv[3], (Conv1dLayer{512, 8, 2, 1}));
  EXPECT_EQ(n1->dense_units, (std::vector<int64_t>{512, 128, 128, 64}));
  EXPECT_EQ(n1->dropout, (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(n1->lr, 1e-4);
  EXPECT_EQ(n1->weight_decay, 0.005);
  EXPECT_EQ(n1->batch_size, 64);
  EXPECT_EQ(n1->optimizer, "adam");
  EXPECT_EQ(n1->max_epochs, 100);
  EXPECT_EQ(n1->patience, 20);
  EXPECT_EQ(n1->min_delta, 0.01);
  EXPECT_EQ(n1->aug_noise_p, 0.5);
  EXPECT_EQ(n1->aug_time_mask_p, 1.0);

  Result<HParams> n2 = ResolveHParams("nnet2", "", Json::object());
  ASSERT_TRUE(n2.ok());
  EXPECT_EQ(n2->res_channels, 256);
  EXPECT_EQ(n2->res_kernel, 4);
  EXPECT_EQ(n2->dense_units, (std::vector<int64_t>{1024, 256, 64}));
  EXPECT_EQ(n2->dropout, (std::vector<double>{0.1, 0.1, 0.1}));
  EXPECT_EQ(n2->lr, 5e-5);
  EXPECT_EQ(n2->feature, "mfcc");
  EXPECT_EQ(n2->normalization, "clip");
  EXPECT_EQ(n2->n_mels, 128);
  EXPECT_EQ(n2->n_mfcc, 20);
  EXPECT_EQ(n2->aug_spec_time_max, 30);
  EXPECT_EQ(n2->aug_spec_coef_max, 2);
  EXPECT_EQ(n2->aug_spec_noise_std, 0.015);
  EXPECT_TRUE(n2->conv.empty());

  Result<HParams> mix = ResolveHParams("mixnet", "paper", Json::object());
  ASSERT_TRUE(mix.ok());
  EXPECT_EQ(mix->conv.size(), 4u);
  EXPECT_EQ(mix->dense_units, (std::vector<int64_t>{512, 256, 128}));
  EXPECT_EQ(mix->batch_size, 32);
  EXPECT_EQ(mix->weight_decay, 0.0);
}

TEST(HParamsTest, OverridesAndPerLayerDefaults) {
  Json o = {{"lr", 0.001},       {"conv_layers", 6},   {"conv_channels_4", 32},
            {"dense_layers", 5}, {"dense_units_1", 7}, {"dropout", 0.3},
            {"dropout_2", 0.0},  {"optimizer", "sgd"}, {"batch_norm", false},
            {"conv_kernel_9", 3}};  // beyond conv_layers: accepted, unused
  Result<HParams> hp = ResolveHParams("nnet1", "paper", o);
  ASSERT_TRUE(hp.ok()) << hp.status().ToString();
  EXPECT_EQ(hp->lr, 0.001);
  EXPECT_EQ(hp->optimizer, "sgd");
  EXPECT_FALSE(hp->batch_norm);
  ASSERT_EQ(hp->conv.size(), 6u);
  // Layer 4 repeats layer 3 except for the given channels; layer 5 repeats layer 4.
  EXPECT_EQ(hp->conv[4], (Conv1dLayer{32, 8, 2, 1}));
  EXPECT_EQ(hp->conv[5], (Conv1dLayer{32, 8, 2, 1}));
  EXPECT_EQ(hp->dense_units, (std::vector<int64_t>{512, 7, 128, 64, 64}));
  EXPECT_EQ(hp->dropout, (std::vector<double>{0.3, 0.3, 0.0, 0.3, 0.3}));
}

TEST(HParamsTest, UnknownNamesAreErrorsNamingThem) {
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "paper", {{"conv_kernl_0", 3}}),
                            "hparams.conv_kernl_0: unknown hyperparameter for nnet1"));
  // Names of another family.
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "paper", {{"res_channels", 3}}),
                            "hparams.res_channels"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "paper", {{"conv_channels_0", 3}}),
                            "hparams.conv_channels_0"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "paper", {{"aug_noise_p", 0.1}}),
                            "hparams.aug_noise_p"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "paper", {{"dense_units_10", 3}}),
                            "hparams.dense_units_10"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "paper", {{"dense_units_01", 3}}),
                            "hparams.dense_units_01"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet3", "paper", {}), "model.family"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "big", {}), "model.preset"));
}

TEST(HParamsTest, TypesAndRanges) {
  EXPECT_TRUE(
      ErrorMentions(ResolveHParams("nnet1", "", {{"lr", 0}}), "hparams.lr: must be in (0, 1]"));
  EXPECT_TRUE(
      ErrorMentions(ResolveHParams("nnet1", "", {{"lr", "fast"}}), "hparams.lr: must be a number"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"batch_size", 3.5}}),
                            "hparams.batch_size: must be an integer"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"conv_channels_1", 0}}),
                            "hparams.conv_channels_1: must be in [1"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"dropout_0", 1.0}}),
                            "hparams.dropout_0: must be in [0, 1)"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "", {{"feature", "cqt"}}),
                            "hparams.feature: must be one of mfcc|mel"));
  EXPECT_TRUE(
      ErrorMentions(ResolveHParams("nnet2", "", {{"standardize", true}}),
                    "hparams.standardize: replaced by normalization (clip, dataset or none)"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "", {{"normalization", "global"}}),
                            "hparams.normalization: must be one of clip|dataset|none"));
  EXPECT_TRUE(
      ErrorMentions(ResolveHParams("nnet1", "", {{"conv_layers", 11}}), "hparams.conv_layers"));
  // Integers may arrive as integral floats (Optuna's int distributions store floats).
  Result<HParams> hp = ResolveHParams("nnet1", "", {{"batch_size", 16.0}, {"batch_norm", 0}});
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->batch_size, 16);
  EXPECT_FALSE(hp->batch_norm);
}

TEST(HParamsTest, PrecisionForEveryFamily) {
  for (const char* family : {"nnet1", "nnet2", "mixnet"}) {
    Result<HParams> preset = ResolveHParams(family, "paper", Json::object());
    ASSERT_TRUE(preset.ok()) << preset.status().ToString();
    EXPECT_EQ(preset->precision, "fp32") << family;
    EXPECT_EQ((*PresetHParams(family, ""))["precision"], "fp32") << family;
    for (const char* precision : {"fp32", "bf16", "fp16"}) {
      Result<HParams> hp = ResolveHParams(family, "", {{"precision", precision}});
      ASSERT_TRUE(hp.ok()) << hp.status().ToString();
      EXPECT_EQ(hp->precision, precision);
      EXPECT_EQ(HParamsToJson(family, *hp)["precision"], precision);
      Result<HParams> back = ResolveHParams(family, "", HParamsToJson(family, *hp));
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(back->precision, precision);
    }
    EXPECT_TRUE(ErrorMentions(ResolveHParams(family, "", {{"precision", "fp8"}}),
                              "hparams.precision: must be one of fp32|bf16|fp16, got \"fp8\""));
    EXPECT_TRUE(
        ErrorMentions(ResolveHParams(family, "", {{"precision", 16}}), "hparams.precision"));
  }
}

TEST(HParamsTest, MonitorChoosesTheLossThatKeepsWeights) {
  for (const char* family : {"nnet1", "nnet2", "mixnet"}) {
    Result<HParams> preset = ResolveHParams(family, "paper", Json::object());
    ASSERT_TRUE(preset.ok()) << preset.status().ToString();
    EXPECT_EQ(preset->monitor, "val_loss") << family;
    // The default is not written out: trial identities stay as before the key existed.
    EXPECT_FALSE(HParamsToJson(family, *preset).contains("monitor")) << family;
    Result<HParams> track = ResolveHParams(family, "", {{"monitor", "val_track_loss"}});
    ASSERT_TRUE(track.ok()) << track.status().ToString();
    EXPECT_EQ(track->monitor, "val_track_loss");
    Json flat = HParamsToJson(family, *track);
    EXPECT_EQ(flat["monitor"], "val_track_loss");
    EXPECT_EQ(ResolveHParams(family, "", flat)->monitor, "val_track_loss");
    EXPECT_TRUE(ErrorMentions(ResolveHParams(family, "", {{"monitor", "val_accuracy"}}),
                              "hparams.monitor: must be one of val_loss|val_track_loss, got "
                              "\"val_accuracy\""));
  }
}

TEST(HParamsTest, FlatFormRoundTrips) {
  for (const char* family : {"nnet1", "nnet2", "mixnet"}) {
    Result<HParams> hp =
        ResolveHParams(family, "paper", {{"dense_layers", 2}, {"dropout_1", 0.25}, {"lr", 0.003}});
    ASSERT_TRUE(hp.ok()) << family;
    Json flat = HParamsToJson(family, *hp);
    EXPECT_EQ(flat["dropout_1"], 0.25) << family;
    EXPECT_FALSE(flat.contains("dense_units_2")) << family;
    Result<HParams> again = ResolveHParams(family, "", flat);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(HParamsToJson(family, *again), flat) << family;
  }
  Json n2 = HParamsToJson("nnet2", *ResolveHParams("nnet2", "", {}));
  EXPECT_FALSE(n2.contains("conv_layers"));
  EXPECT_TRUE(n2.contains("res_channels"));
}

// Issue #13: MixNet's branches have their own names; the shared `batch_norm` is refused
// with a message naming its replacements, while NNET1/NNET2 keep it.
TEST(HParamsTest, MixNetBranchNames) {
  Result<HParams> mix = ResolveHParams(
      "mixnet", "", {{"audio_batch_norm", false}, {"init_feature_encoder", "runs/nnet2.pt"}});
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  EXPECT_FALSE(mix->audio_batch_norm);
  EXPECT_TRUE(mix->feature_batch_norm);
  EXPECT_EQ(mix->init_audio_encoder, "");
  EXPECT_EQ(mix->init_feature_encoder, "runs/nnet2.pt");
  EXPECT_FALSE(mix->freeze_encoders);
  Json flat = HParamsToJson("mixnet", *mix);
  EXPECT_FALSE(flat.contains("batch_norm"));
  EXPECT_EQ(flat["audio_batch_norm"], false);
  EXPECT_EQ(flat["feature_batch_norm"], true);
  EXPECT_EQ(flat["init_feature_encoder"], "runs/nnet2.pt");
  EXPECT_EQ(flat["freeze_encoders"], false);

  EXPECT_TRUE(
      ErrorMentions(ResolveHParams("mixnet", "", {{"batch_norm", true}}),
                    "hparams.batch_norm: mixnet has audio_batch_norm and feature_batch_norm"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("mixnet", "", {{"init_audio_encoder", 3}}),
                            "hparams.init_audio_encoder: must be a string, got 3"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("mixnet", "", {{"freeze_encoders", "yes"}}),
                            "hparams.freeze_encoders: must be a boolean"));
  for (const char* family : {"nnet1", "nnet2"}) {
    Result<HParams> hp = ResolveHParams(family, "", {{"batch_norm", false}});
    ASSERT_TRUE(hp.ok()) << family;
    EXPECT_FALSE(hp->batch_norm);
    for (const char* name : {"audio_batch_norm", "feature_batch_norm", "freeze_encoders"}) {
      EXPECT_TRUE(ErrorMentions(ResolveHParams(family, "", {{name, true}}),
                                std::string("hparams.") + name + ": unknown hyperparameter"))
          << family;
    }
    EXPECT_TRUE(ErrorMentions(ResolveHParams(family, "", {{"init_audio_encoder", "x"}}),
                              "unknown hyperparameter"));
  }
}

TEST(HParamsTest, DataAndFeatureSettings) {
  // The paper's waveform augmentation strengths are the defaults.
  Result<HParams> n1 = ResolveHParams("nnet1", "", Json::object());
  ASSERT_TRUE(n1.ok());
  EXPECT_EQ(n1->aug_noise_min, 0.001);
  EXPECT_EQ(n1->aug_noise_max, 0.015);
  EXPECT_EQ(n1->aug_time_mask_min, 0.10);
  EXPECT_EQ(n1->aug_time_mask_max, 0.15);
  // sample_rate / clip_samples: absent = 0 (the spec's data values), and absent from the
  // flat form; given, they round-trip.
  EXPECT_EQ(n1->sample_rate, 0);
  EXPECT_EQ(n1->clip_samples, 0);
  EXPECT_FALSE(HParamsToJson("nnet1", *n1).contains("sample_rate"));
  EXPECT_FALSE(HParamsToJson("nnet1", *n1).contains("clip_samples"));
  Json given = {{"sample_rate", 44100}, {"clip_samples", 262144},  {"n_mels", 64},
                {"n_mfcc", 13},         {"normalization", "none"}, {"aug_spec_time_max", 10}};
  Result<HParams> mix = ResolveHParams("mixnet", "", given);
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  EXPECT_EQ(mix->sample_rate, 44100);
  EXPECT_EQ(mix->clip_samples, 262144);
  EXPECT_EQ(mix->n_mels, 64);
  EXPECT_EQ(mix->n_mfcc, 13);
  EXPECT_EQ(mix->normalization, "none");
  const Json flat = HParamsToJson("mixnet", *mix);
  for (auto& [k, v] : given.items()) EXPECT_EQ(flat[k], v) << k;
  Result<HParams> again = ResolveHParams("mixnet", "", flat);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(HParamsToJson("mixnet", *again), flat);
  // A stage may set the optimizer as a JSON string, with momentum for SGD.
  Result<HParams> sgd = ResolveHParams("nnet1", "", {{"optimizer", "sgd"}, {"momentum", 0.5}});
  ASSERT_TRUE(sgd.ok());
  EXPECT_EQ(sgd->optimizer, "sgd");
  EXPECT_EQ(sgd->momentum, 0.5);

  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "", {{"n_mels", 32}, {"n_mfcc", 40}}),
                            "hparams.n_mfcc: must be in [1, n_mels = 32], got 40"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "", {{"n_mels", 4}}), "hparams.n_mels"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"aug_noise_min", 0.1}}),
                            "hparams.aug_noise_min: must be <= aug_noise_max"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("mixnet", "", {{"aug_time_mask_max", 0.05}}),
                            "hparams.aug_time_mask_min: must be <= aug_time_mask_max"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"aug_time_mask_max", 1.5}}),
                            "hparams.aug_time_mask_max: must be in [0, 1]"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet2", "", {{"aug_spec_noise_std", -1}}),
                            "hparams.aug_spec_noise_std"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"sample_rate", 10}}),
                            "hparams.sample_rate: must be in [1000"));
  EXPECT_TRUE(ErrorMentions(ResolveHParams("nnet1", "", {{"n_mfcc", 13}}),
                            "hparams.n_mfcc: unknown hyperparameter for nnet1"));
}

}  // namespace
}  // namespace mgr
