// MixNet: NNET1's 1D conv encoder on raw audio and NNET2's residual encoder on features in
// parallel, their max+avg heads concatenated into one dense classifier
// (REFERENCE.md section 1). The audio branch sees the raw clip (the paper's per-sample
// "standardisation" that zeroed it is a documented flaw, not reproduced).
//
// Shapes: audio (B, 1, N), features (B, 1, T, C) -> logits (B, num_classes).
#ifndef MGR_TRAINER_MODELS_MIXNET_H_
#define MGR_TRAINER_MODELS_MIXNET_H_

#include <torch/torch.h>

#include "trainer/models/nnet1.h"
#include "trainer/models/nnet2.h"

namespace mgr {

struct MixNetOptions {
  MixNetOptions(int64_t input_samples, int64_t frames, int64_t coefficients, int64_t num_classes)
      : input_samples_(input_samples),
        frames_(frames),
        coefficients_(coefficients),
        num_classes_(num_classes) {}
  TORCH_ARG(int64_t, input_samples);
  TORCH_ARG(int64_t, frames);
  TORCH_ARG(int64_t, coefficients);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(std::vector<Conv1dLayer>, conv);  // audio branch
  TORCH_ARG(int64_t, res_channels) = 256;     // feature branch
  TORCH_ARG(int64_t, res_kernel) = 4;
  TORCH_ARG(int64_t, res_blocks) = 1;
  TORCH_ARG(bool, audio_batch_norm) = true;
  TORCH_ARG(bool, feature_batch_norm) = true;
  // Both encoders' parameters get requires_grad false and their BatchNorm stays in eval
  // mode (running statistics kept) in train(): only the classifier learns.
  TORCH_ARG(bool, freeze_encoders) = false;
  TORCH_ARG(std::vector<int64_t>, dense_units);
  TORCH_ARG(std::vector<double>, dropout);

 public:
  static MixNetOptions Paper(int64_t input_samples = 262144, int64_t frames = 256,
                             int64_t coefficients = 20, int64_t num_classes = 8);
};

class MixNetImpl : public torch::nn::Module {
 public:
  explicit MixNetImpl(const MixNetOptions& options);  // throws TrainingError(kSpec)
  torch::Tensor forward(const torch::Tensor& audio, const torch::Tensor& features);
  // Keeps frozen encoders in eval mode whatever `on` is.
  void train(bool on = true) override;

  // Submodules "audio_encoder", "feature_encoder", "classifier" (the names in state keys).
  Conv1dEncoder& audio_encoder() { return audio_encoder_; }
  ResEncoder& feature_encoder() { return feature_encoder_; }
  DenseClassifier& classifier() { return classifier_; }

 private:
  bool freeze_encoders_ = false;
  Conv1dEncoder audio_encoder_{nullptr};
  ResEncoder feature_encoder_{nullptr};
  DenseClassifier classifier_{nullptr};
};
TORCH_MODULE(MixNet);

}  // namespace mgr

#endif  // MGR_TRAINER_MODELS_MIXNET_H_
