// NNET2: a residual 2D conv encoder on MFCC or log-Mel features (REFERENCE.md section 1)
// and the dense classifier. Also the residual encoder MixNet reuses.
//
// Shapes: features (B, 1, T, C) float (T frames, C coefficients, time first) ->
// logits (B, num_classes). Not thread-safe.
#ifndef MGR_TRAINER_MODELS_NNET2_H_
#define MGR_TRAINER_MODELS_NNET2_H_

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "storage/base/status.h"
#include "trainer/models/nnet1.h"

namespace mgr {

// Stem: Conv2d(1 -> channels, kernel (kernel, C), no padding) -> [BN] -> ReLU, giving
// (B, channels, T - kernel + 1, 1). Then `blocks` residual blocks, each
// Conv2d(kernel, 1; pad kernel/2) -> [BN] -> ReLU -> Conv2d(kernel, 1; pad kernel-1-kernel/2)
// -> [BN], out = ReLU(in + that) (length preserved: the paper's pads 2 and 1 for kernel 4).
// Head: max-pool and average-pool with kernel = stride = (floor(L / head_steps), 1),
// concatenated on channels and flattened: 2 * channels * head_steps features. The paper's
// 256 frames give L = 253 and windows of 126 (the paper's fixed 125 drops 3 frames).
struct ResEncoderOptions {
  ResEncoderOptions(int64_t frames, int64_t coefficients)
      : frames_(frames), coefficients_(coefficients) {}
  TORCH_ARG(int64_t, frames);
  TORCH_ARG(int64_t, coefficients);
  TORCH_ARG(int64_t, channels) = 256;
  TORCH_ARG(int64_t, kernel) = 4;
  TORCH_ARG(int64_t, blocks) = 1;
  TORCH_ARG(bool, batch_norm) = true;
  TORCH_ARG(int64_t, head_steps) = 2;
};

// The stem's output length, or an error naming res_kernel / res_channels and the frames.
Result<int64_t> ResEncoderLength(const ResEncoderOptions& options);

class ResEncoderImpl : public torch::nn::Module {
 public:
  explicit ResEncoderImpl(const ResEncoderOptions& options);  // throws TrainingError(kSpec)
  torch::Tensor forward(const torch::Tensor& features);       // (B,1,T,C) -> (B, features)
  int64_t output_features() const { return output_features_; }
  int64_t head_window() const { return head_window_; }

 private:
  struct Block {
    torch::nn::Conv2d conv_a{nullptr}, conv_b{nullptr};
    torch::nn::BatchNorm2d bn_a{nullptr}, bn_b{nullptr};
  };
  torch::Tensor MaybeNorm(torch::nn::BatchNorm2d& bn, const torch::Tensor& x);

  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<Block> blocks_;
  int64_t head_window_ = 0, output_features_ = 0;
};
TORCH_MODULE(ResEncoder);

struct Nnet2Options {
  Nnet2Options(int64_t frames, int64_t coefficients, int64_t num_classes)
      : frames_(frames), coefficients_(coefficients), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, frames);
  TORCH_ARG(int64_t, coefficients);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, channels) = 256;
  TORCH_ARG(int64_t, kernel) = 4;
  TORCH_ARG(int64_t, blocks) = 1;
  TORCH_ARG(bool, batch_norm) = true;
  TORCH_ARG(std::vector<int64_t>, dense_units);
  TORCH_ARG(std::vector<double>, dropout);

 public:
  // The paper's released NNET2 on (256 frames x 20 MFCC).
  static Nnet2Options Paper(int64_t frames = 256, int64_t coefficients = 20,
                            int64_t num_classes = 8);
};

class Nnet2Impl : public torch::nn::Module {
 public:
  explicit Nnet2Impl(const Nnet2Options& options);       // throws TrainingError(kSpec)
  torch::Tensor forward(const torch::Tensor& features);  // (B,1,T,C) -> (B, num_classes)

 private:
  ResEncoder encoder_{nullptr};
  DenseClassifier classifier_{nullptr};
};
TORCH_MODULE(Nnet2);

}  // namespace mgr

#endif  // MGR_TRAINER_MODELS_NNET2_H_
