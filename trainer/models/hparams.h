// Hyperparameters of a trial: flat names (docs/hyperparameters.md), per-family presets
// equal to the paper's released networks, and validation that names the offending
// hyperparameter. The orchestrator sends these names from study files, so an unknown
// name, a wrong type or an out-of-range value is an error, never silently ignored.
#ifndef MGR_TRAINER_MODELS_HPARAMS_H_
#define MGR_TRAINER_MODELS_HPARAMS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/base/status.h"

namespace mgr {

using Json = nlohmann::json;

// The network families.
inline constexpr const char* kFamilyNnet1 = "nnet1";    // 1D conv on raw audio
inline constexpr const char* kFamilyNnet2 = "nnet2";    // residual 2D conv on MFCC / log-Mel
inline constexpr const char* kFamilyMixNet = "mixnet";  // both encoders, one classifier

// Upper bounds of the per-layer index i in conv_*_{i}, dense_units_{i}, dropout_{i}.
inline constexpr int kMaxConvLayers = 10;
inline constexpr int kMaxDenseLayers = 10;

// One layer of the 1D conv encoder (NNET1, MixNet's audio branch). Padding is kernel / 2
// as in the paper; pool 1 means no max-pooling after the layer.
struct Conv1dLayer {
  int64_t channels = 0;
  int64_t kernel = 0;  // samples (of the layer's input)
  int64_t stride = 1;
  int64_t pool = 1;  // MaxPool1d(pool, pool) after BatchNorm + ReLU

  bool operator==(const Conv1dLayer& o) const {
    return channels == o.channels && kernel == o.kernel && stride == o.stride && pool == o.pool;
  }
};

// Every hyperparameter, resolved (preset + overrides). Fields a family does not use keep
// their defaults and are not part of its flat form.
struct HParams {
  // Optimisation.
  std::string optimizer = "adam";  // "adam" | "sgd"
  double lr = 1e-4;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
  double momentum = 0.9;                          // SGD
  int64_t batch_size = 64;
  int max_epochs = 100;
  int patience = 20;        // epochs without an improvement > min_delta before stopping
  double min_delta = 0.01;  // in the monitored metric's units (nats)
  // What the best weights and early stopping follow: "val_loss" (the mid-point window of
  // each validation track) or "val_track_loss" (whole tracks; docs/hyperparameters.md).
  std::string monitor = "val_loss";
  // Autocast dtype of forward + loss: "fp32" (no autocast) | "bf16" | "fp16" (with
  // dynamic loss scaling). Weights and optimizer state stay float32.
  std::string precision = "fp32";

  // 1D conv encoder (nnet1, mixnet).
  std::vector<Conv1dLayer> conv;
  bool batch_norm = true;  // after every conv layer (nnet1, nnet2)

  // MixNet only: each encoder has its own BatchNorm switch; its encoders may start from a
  // trained NNET1 / NNET2 (path of a checkpoint or exported model, "" = Xavier init) and
  // be frozen so that only the classifier trains (docs/models.md).
  bool audio_batch_norm = true, feature_batch_norm = true;
  std::string init_audio_encoder, init_feature_encoder;
  bool freeze_encoders = false;

  // 2D residual encoder (nnet2, mixnet).
  std::string feature = "mfcc";  // "mfcc" | "mel"
  // Feature normalisation: "clip" (per clip and coefficient, the paper's), "dataset"
  // (per-coefficient statistics of the training split) or "none".
  std::string normalization = "clip";
  int64_t n_mels = 128, n_mfcc = 20;  // mel bands; MFCCs taken of them (n_mfcc <= n_mels)
  int64_t res_channels = 256;
  int64_t res_kernel = 4;  // frames; the stem's kernel also spans all coefficients
  int64_t res_blocks = 1;  // residual blocks after the stem

  // Classifier: hidden dense layers (the output layer is added).
  std::vector<int64_t> dense_units;
  std::vector<double> dropout;  // per hidden layer, after its ReLU

  // Augmentation probabilities (training only).
  double aug_noise_p = 0.5, aug_time_mask_p = 1.0;  // waveform (nnet1, mixnet)
  double aug_spec_time_p = 0.5, aug_spec_coef_p = 0.5, aug_spec_noise_p = 0.5;  // 2D
  // Augmentation strengths (defaults: the paper's). Noise amplitude range, time-mask length
  // as a fraction of the clip; SpecAugment widths in frames / coefficients, noise scale.
  double aug_noise_min = 0.001, aug_noise_max = 0.015;
  double aug_time_mask_min = 0.10, aug_time_mask_max = 0.15;
  int64_t aug_spec_time_max = 30, aug_spec_coef_max = 2;
  double aug_spec_noise_std = 0.015;

  // Data settings given as hyperparameters; 0 = not given (the spec's data values apply).
  // They appear in the flat form only when given.
  int sample_rate = 0;
  int64_t clip_samples = 0;
};

// True for "nnet1", "nnet2", "mixnet".
bool IsKnownFamily(const std::string& family);

// The flat hyperparameters of `family`'s paper preset (REFERENCE.md section 1), every name
// the family uses with a value. preset must be "paper" or "" (the same: the paper's network
// is the default). Error naming the family or preset when unknown.
Result<Json> PresetHParams(const std::string& family, const std::string& preset);

// Applies `overrides` (a flat JSON object) to the preset and validates the result. Errors
// (InvalidArgument) name the hyperparameter: "hparams.conv_kernl_0: unknown hyperparameter
// for nnet1", "hparams.lr: must be in (0, 1], got 0"; a name replaced in a family says by
// what ("hparams.batch_norm: mixnet has audio_batch_norm and feature_batch_norm"). Per-layer values
// missing for a layer index repeat the previous layer's value; indices beyond the layer count are
// accepted and unused. `dropout` sets every dense layer, `dropout_{i}` one of them.
Result<HParams> ResolveHParams(const std::string& family, const std::string& preset,
                               const Json& overrides);

// The flat form of `hp` for `family`: exactly the names the family uses, per-layer names
// only for existing layers. ResolveHParams(family, "", HParamsToJson(family, hp)) == hp.
Json HParamsToJson(const std::string& family, const HParams& hp);

// The names `family` accepts, with {i} for per-layer names (for docs and error messages).
std::vector<std::string> HParamNames(const std::string& family);

}  // namespace mgr

#endif  // MGR_TRAINER_MODELS_HPARAMS_H_
