#include "trainer/models/nnet2.h"

#include "trainer/models/training_error.h"

namespace mgr {

Result<int64_t> ResEncoderLength(const ResEncoderOptions& o) {
  if (o.channels() < 1) {
    return Status::InvalidArgument("res_channels: must be at least 1, got " +
                                   std::to_string(o.channels()));
  }
  if (o.kernel() < 1) return Status::InvalidArgument("res_kernel: must be at least 1");
  if (o.coefficients() < 1 || o.frames() < 1) {
    return Status::InvalidArgument("features: no frames or coefficients");
  }
  if (o.kernel() > o.frames()) {
    return Status::InvalidArgument("res_kernel = " + std::to_string(o.kernel()) +
                                   " is longer than the input's " + std::to_string(o.frames()) +
                                   " frames (clip_samples too small for the features' hop)");
  }
  const int64_t length = o.frames() - o.kernel() + 1;
  if (length < o.head_steps()) {
    return Status::InvalidArgument("res_kernel = " + std::to_string(o.kernel()) + " leaves " +
                                   std::to_string(length) + " frames of " +
                                   std::to_string(o.frames()) + ", fewer than the head's " +
                                   std::to_string(o.head_steps()) + " steps");
  }
  return length;
}

ResEncoderImpl::ResEncoderImpl(const ResEncoderOptions& o) {
  Result<int64_t> length = ResEncoderLength(o);
  if (!length.ok()) throw TrainingError(TrainingError::Kind::kSpec, length.status().message());
  namespace nn = torch::nn;
  const int64_t c = o.channels(), k = o.kernel();
  stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(1, c, {k, o.coefficients()})));
  if (o.batch_norm()) stem_bn_ = register_module("stem_bn", nn::BatchNorm2d(c));
  for (int64_t b = 0; b < o.blocks(); ++b) {
    Block block;
    const std::string n = std::to_string(b);
    block.conv_a = register_module("block" + n + "_conv_a",
                                   nn::Conv2d(nn::Conv2dOptions(c, c, {k, 1}).padding({k / 2, 0})));
    if (o.batch_norm()) block.bn_a = register_module("block" + n + "_bn_a", nn::BatchNorm2d(c));
    block.conv_b =
        register_module("block" + n + "_conv_b",
                        nn::Conv2d(nn::Conv2dOptions(c, c, {k, 1}).padding({k - 1 - k / 2, 0})));
    if (o.batch_norm()) block.bn_b = register_module("block" + n + "_bn_b", nn::BatchNorm2d(c));
    blocks_.push_back(block);
  }
  head_window_ = *length / o.head_steps();
  output_features_ = 2 * c * o.head_steps();
}

torch::Tensor ResEncoderImpl::MaybeNorm(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) {
  return bn ? bn->forward(x) : x;
}

torch::Tensor ResEncoderImpl::forward(const torch::Tensor& features) {
  torch::Tensor x = torch::relu(MaybeNorm(stem_bn_, stem_->forward(features)));
  for (Block& b : blocks_) {
    torch::Tensor y = torch::relu(MaybeNorm(b.bn_a, b.conv_a->forward(x)));
    y = MaybeNorm(b.bn_b, b.conv_b->forward(y));
    x = torch::relu(x + y);
  }
  torch::Tensor max = torch::max_pool2d(x, {head_window_, 1}, {head_window_, 1});
  torch::Tensor avg = torch::avg_pool2d(x, {head_window_, 1}, {head_window_, 1});
  return torch::cat({max, avg}, 1).flatten(1);
}

Nnet2Options Nnet2Options::Paper(int64_t frames, int64_t coefficients, int64_t num_classes) {
  Nnet2Options o(frames, coefficients, num_classes);
  o.dense_units({1024, 256, 64});
  o.dropout({0.1, 0.1, 0.1});
  return o;
}

Nnet2Impl::Nnet2Impl(const Nnet2Options& o) {
  encoder_ = register_module("encoder", ResEncoder(ResEncoderOptions(o.frames(), o.coefficients())
                                                       .channels(o.channels())
                                                       .kernel(o.kernel())
                                                       .blocks(o.blocks())
                                                       .batch_norm(o.batch_norm())));
  classifier_ = register_module(
      "classifier",
      DenseClassifier(DenseClassifierOptions(encoder_->output_features(), o.num_classes())
                          .units(o.dense_units())
                          .dropout(o.dropout())));
  InitXavier(*this);
}

torch::Tensor Nnet2Impl::forward(const torch::Tensor& features) {
  return classifier_->forward(encoder_->forward(features));
}

}  // namespace mgr
