// NNET1: 1D convolutions on raw audio (REFERENCE.md section 1), plus the two building
// blocks shared with MixNet: the 1D conv encoder with its max+avg head, and the dense
// classifier. libtorch's pattern: options struct, *Impl module, TORCH_MODULE holder.
//
// Shapes: audio (B, 1, N) float, N = input_samples -> logits (B, num_classes). Logits,
// not probabilities: the loss is cross-entropy on logits (the paper's extra Softmax is a
// documented flaw, docs/models.md). Not thread-safe (like every torch::nn::Module).
#ifndef MGR_TRAINER_MODELS_NNET1_H_
#define MGR_TRAINER_MODELS_NNET1_H_

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "storage/base/status.h"
#include "trainer/models/hparams.h"

namespace mgr {

// The conv stack: for each layer Conv1d(k, stride, padding k/2) -> [BatchNorm] -> ReLU ->
// [MaxPool(pool)]; then the head: max-pool and average-pool with kernel = stride =
// floor(L / head_steps) over the last length L, concatenated on channels and flattened.
// The head adapts to the input length: the paper's 2^18-sample clips give L = 65 and a
// 65-step window (the paper's fixed 64 ignores the last step), any shorter clip its own L.
struct Conv1dEncoderOptions {
  Conv1dEncoderOptions(int64_t input_samples, std::vector<Conv1dLayer> layers)
      : input_samples_(input_samples), layers_(std::move(layers)) {}
  TORCH_ARG(int64_t, input_samples);
  TORCH_ARG(std::vector<Conv1dLayer>, layers);
  TORCH_ARG(bool, batch_norm) = true;
  TORCH_ARG(int64_t, head_steps) = 1;
};

// Lengths after every layer (conv, then pool), computed without running the network, or
// an error naming the hyperparameters (conv_kernel_2, pool_1, ...) and lengths involved.
Result<std::vector<int64_t>> Conv1dEncoderLengths(const Conv1dEncoderOptions& options);

class Conv1dEncoderImpl : public torch::nn::Module {
 public:
  // Throws TrainingError(kSpec) if Conv1dEncoderLengths fails.
  explicit Conv1dEncoderImpl(const Conv1dEncoderOptions& options);
  // (B, 1, N) -> (B, output_features())
  torch::Tensor forward(const torch::Tensor& audio);
  int64_t output_features() const { return output_features_; }
  int64_t head_window() const { return head_window_; }

 private:
  Conv1dEncoderOptions options_;
  torch::nn::Sequential layers_{nullptr};
  int64_t head_window_ = 0, output_features_ = 0;
};
TORCH_MODULE(Conv1dEncoder);

// Hidden layers Linear -> ReLU -> [Dropout(p_i) if p_i > 0], then Linear(num_classes).
struct DenseClassifierOptions {
  DenseClassifierOptions(int64_t in_features, int64_t num_classes)
      : in_features_(in_features), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(std::vector<int64_t>, units);
  TORCH_ARG(std::vector<double>, dropout);  // same size as units
};

class DenseClassifierImpl : public torch::nn::Module {
 public:
  explicit DenseClassifierImpl(const DenseClassifierOptions& options);
  torch::Tensor forward(const torch::Tensor& x) { return layers_->forward(x); }

 private:
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(DenseClassifier);

struct Nnet1Options {
  Nnet1Options(int64_t input_samples, int64_t num_classes)
      : input_samples_(input_samples), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, input_samples);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(std::vector<Conv1dLayer>, conv);
  TORCH_ARG(bool, batch_norm) = true;
  TORCH_ARG(std::vector<int64_t>, dense_units);
  TORCH_ARG(std::vector<double>, dropout);

 public:
  // The paper's released NNET1 for clips of `input_samples` (2^18 in the paper).
  static Nnet1Options Paper(int64_t input_samples = 262144, int64_t num_classes = 8);
};

class Nnet1Impl : public torch::nn::Module {
 public:
  // Throws TrainingError(kSpec) for a network that cannot be built. Weights Xavier-uniform,
  // biases zero (drawn from torch's default generator: seed it first).
  explicit Nnet1Impl(const Nnet1Options& options);
  torch::Tensor forward(const torch::Tensor& audio);  // (B, 1, N) -> (B, num_classes)

 private:
  Conv1dEncoder encoder_{nullptr};
  DenseClassifier classifier_{nullptr};
};
TORCH_MODULE(Nnet1);

// Xavier-uniform weights and zero biases for every Conv1d/Conv2d/Linear under `module`.
void InitXavier(torch::nn::Module& module);

// Number of trainable parameters.
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace mgr

#endif  // MGR_TRAINER_MODELS_NNET1_H_
