// From (family, hyperparameters, clip length) to a network and the preparation of its
// inputs. Everything a trained model needs to be rebuilt and fed (export, predict) is in
// InputConfig + HParams.
#ifndef MGR_TRAINER_MODELS_MODEL_FACTORY_H_
#define MGR_TRAINER_MODELS_MODEL_FACTORY_H_

#include <random>
#include <string>

#include <torch/torch.h>

#include "storage/base/status.h"
#include "trainer/features/augment.h"
#include "trainer/features/features.h"
#include "trainer/models/hparams.h"
#include "trainer/models/mixnet.h"
#include "trainer/models/nnet1.h"
#include "trainer/models/nnet2.h"

namespace mgr {

// What a network eats, derived from the family, the hyperparameters and the clip length.
struct InputConfig {
  std::string family;
  int64_t clip_samples = 262144;
  int sample_rate = 22050;
  bool audio = false;                    // (B, 1, N) raw clip (nnet1, mixnet)
  bool features = false;                 // (B, 1, T, C) (nnet2, mixnet)
  std::string feature = "mfcc";          // "mfcc" | "mel"
  FeatureOptions feature_options;        // standardize set from the hyperparameters
  int64_t frames = 0, coefficients = 0;  // T and C
  // hparams.normalization: "clip" (feature_options.standardize), "dataset" or "none".
  std::string normalization = "clip";
  // normalization "dataset" only: the training split's per-coefficient mean and population
  // std (C), float32 on the CPU. MakeInputConfig leaves them undefined; the trainer computes
  // them (CoefficientMoments) or reads them back (SetFeatureStats) before PrepareInputs.
  torch::Tensor feature_mean, feature_std;

  bool NeedsDatasetStats() const { return features && normalization == "dataset"; }
};

InputConfig MakeInputConfig(const std::string& family, const HParams& hp, int64_t clip_samples,
                            int sample_rate);

// One network of any family behind one forward(audio, features); the unused input may be
// undefined. Submodule "net" holds the Nnet1/Nnet2/MixNet.
class GenreNetImpl : public torch::nn::Module {
 public:
  GenreNetImpl(const std::string& family, const HParams& hp, const InputConfig& input,
               int64_t num_classes);  // throws TrainingError(kSpec)
  // audio (B, 1, N), features (B, 1, T, C) -> logits (B, num_classes)
  torch::Tensor forward(const torch::Tensor& audio, const torch::Tensor& features);
  const std::string& family() const { return family_; }

 private:
  std::string family_;
  Nnet1 nnet1_{nullptr};
  Nnet2 nnet2_{nullptr};
  MixNet mixnet_{nullptr};
};
TORCH_MODULE(GenreNet);

// Checks that the network can be built (every length, channel and kernel) without building
// it; the error names the offending hyperparameters and the lengths involved.
Status ValidateArchitecture(const std::string& family, const HParams& hp, const InputConfig& input);

// Validates, then builds (weights from torch's default generator: seed it first).
Result<GenreNet> BuildModel(const std::string& family, const HParams& hp, const InputConfig& input,
                            int64_t num_classes);

// The parameters an optimizer updates: those with requires_grad (MixNet's frozen encoders
// are left out), in parameters() order.
std::vector<torch::Tensor> TrainableParameters(const torch::nn::Module& module);

// normalization "dataset": the statistics as {"mean": [C floats], "std": [C floats]}, and
// back (InvalidArgument naming what is missing, of the wrong length or not positive).
Json FeatureStatsToJson(const InputConfig& input);
Status SetFeatureStats(const Json& stats, InputConfig* input);

// The inputs of the network for clips (B, N) already on the target device: the audio
// (B, 1, N) and/or the features (B, 1, T, C) (standardised per clip or with the dataset
// statistics when configured; throws TrainingError(kInternal) when "dataset" statistics
// are missing). With
// `spec_augment` (training only) the features are augmented after standardisation
// (masked values become 0 = the mean), with randomness from `rng`.
struct NetInputs {
  torch::Tensor audio, features;
};
NetInputs PrepareInputs(const InputConfig& input, const torch::Tensor& clips,
                        const SpectrogramAugmentOptions* spec_augment = nullptr,
                        std::mt19937_64* rng = nullptr);

// The augmentation options for `hp` (probabilities from the hyperparameters, the rest at
// the paper's values).
WaveformAugmentOptions WaveformAugment(const HParams& hp, int sample_rate);
SpectrogramAugmentOptions SpectrogramAugment(const HParams& hp);

}  // namespace mgr

#endif  // MGR_TRAINER_MODELS_MODEL_FACTORY_H_
