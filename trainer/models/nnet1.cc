#include "trainer/models/nnet1.h"

#include "trainer/models/training_error.h"

namespace mgr {

Result<std::vector<int64_t>> Conv1dEncoderLengths(const Conv1dEncoderOptions& options) {
  const auto& layers = options.layers();
  if (layers.empty()) return Status::InvalidArgument("conv_layers: must be at least 1");
  if (options.input_samples() < 1) {
    return Status::InvalidArgument("clip_samples: must be positive");
  }
  std::vector<int64_t> lengths;
  int64_t length = options.input_samples();
  std::string input_name = "the clip (clip_samples)";
  for (size_t i = 0; i < layers.size(); ++i) {
    const Conv1dLayer& l = layers[i];
    const std::string n = std::to_string(i);
    if (l.channels < 1) {
      return Status::InvalidArgument("conv_channels_" + n + ": must be at least 1, got " +
                                     std::to_string(l.channels));
    }
    if (l.kernel < 1 || l.stride < 1 || l.pool < 1) {
      return Status::InvalidArgument("conv_kernel_" + n + ", conv_stride_" + n + ", pool_" + n +
                                     ": must be at least 1");
    }
    const int64_t padded = length + 2 * (l.kernel / 2);
    // Padding (k/2 each side) would always make room; a kernel wider than the real input
    // would mostly see padding, so it is refused.
    if (l.kernel > length) {
      return Status::InvalidArgument("conv_kernel_" + n + " = " + std::to_string(l.kernel) +
                                     " is longer than its input: " + std::to_string(length) +
                                     " steps from " + input_name);
    }
    length = (padded - l.kernel) / l.stride + 1;
    if (l.pool > length) {
      return Status::InvalidArgument(
          "pool_" + n + " = " + std::to_string(l.pool) + " leaves no steps: conv layer " + n +
          " (conv_kernel_" + n + " = " + std::to_string(l.kernel) + ", conv_stride_" + n + " = " +
          std::to_string(l.stride) + ") outputs only " + std::to_string(length));
    }
    length /= l.pool;
    lengths.push_back(length);
    input_name = "layer " + n;
  }
  if (length < options.head_steps()) {
    return Status::InvalidArgument(
        "the 1D conv stack (conv_layers = " + std::to_string(layers.size()) + ") leaves " +
        std::to_string(length) + " steps for a head of " + std::to_string(options.head_steps()) +
        " (clip_samples " + std::to_string(options.input_samples()) +
        "): use fewer layers, smaller strides or pools, or longer clips");
  }
  return lengths;
}

Conv1dEncoderImpl::Conv1dEncoderImpl(const Conv1dEncoderOptions& options) : options_(options) {
  Result<std::vector<int64_t>> lengths = Conv1dEncoderLengths(options);
  if (!lengths.ok()) {
    throw TrainingError(TrainingError::Kind::kSpec, lengths.status().message());
  }
  namespace nn = torch::nn;
  layers_ = nn::Sequential();
  int64_t in = 1;
  for (const Conv1dLayer& l : options.layers()) {
    layers_->push_back(nn::Conv1d(
        nn::Conv1dOptions(in, l.channels, l.kernel).stride(l.stride).padding(l.kernel / 2)));
    if (options.batch_norm()) layers_->push_back(nn::BatchNorm1d(l.channels));
    layers_->push_back(nn::ReLU());
    if (l.pool > 1) layers_->push_back(nn::MaxPool1d(nn::MaxPool1dOptions(l.pool).stride(l.pool)));
    in = l.channels;
  }
  register_module("layers", layers_);
  head_window_ = lengths->back() / options.head_steps();
  output_features_ = 2 * in * options.head_steps();
}

torch::Tensor Conv1dEncoderImpl::forward(const torch::Tensor& audio) {
  torch::Tensor x = layers_->forward(audio);
  torch::Tensor max = torch::max_pool1d(x, {head_window_}, {head_window_});
  torch::Tensor avg = torch::avg_pool1d(x, {head_window_}, {head_window_});
  return torch::cat({max, avg}, 1).flatten(1);
}

DenseClassifierImpl::DenseClassifierImpl(const DenseClassifierOptions& options) {
  namespace nn = torch::nn;
  if (options.units().size() != options.dropout().size()) {
    throw TrainingError(TrainingError::Kind::kInternal, "dense units and dropout differ in size");
  }
  layers_ = nn::Sequential();
  int64_t in = options.in_features();
  for (size_t i = 0; i < options.units().size(); ++i) {
    if (options.units()[i] < 1) {
      throw TrainingError(TrainingError::Kind::kSpec,
                          "dense_units_" + std::to_string(i) + ": must be at least 1");
    }
    layers_->push_back(nn::Linear(in, options.units()[i]));
    layers_->push_back(nn::ReLU());
    if (options.dropout()[i] > 0) layers_->push_back(nn::Dropout(options.dropout()[i]));
    in = options.units()[i];
  }
  layers_->push_back(nn::Linear(in, options.num_classes()));
  register_module("layers", layers_);
}

Nnet1Options Nnet1Options::Paper(int64_t input_samples, int64_t num_classes) {
  Nnet1Options o(input_samples, num_classes);
  o.conv({{64, 128, 32, 4}, {128, 32, 2, 2}, {256, 16, 2, 2}, {512, 8, 2, 1}});
  o.dense_units({512, 128, 128, 64});
  o.dropout({0, 0, 0, 0});
  return o;
}

Nnet1Impl::Nnet1Impl(const Nnet1Options& options) {
  encoder_ = register_module(
      "encoder", Conv1dEncoder(Conv1dEncoderOptions(options.input_samples(), options.conv())
                                   .batch_norm(options.batch_norm())));
  classifier_ = register_module(
      "classifier",
      DenseClassifier(DenseClassifierOptions(encoder_->output_features(), options.num_classes())
                          .units(options.dense_units())
                          .dropout(options.dropout())));
  InitXavier(*this);
}

torch::Tensor Nnet1Impl::forward(const torch::Tensor& audio) {
  return classifier_->forward(encoder_->forward(audio));
}

void InitXavier(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  // include_self=false: called from constructors, before the module is in a shared_ptr.
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (m->as<torch::nn::Conv1d>() || m->as<torch::nn::Conv2d>() || m->as<torch::nn::Linear>()) {
      for (auto& p : m->named_parameters(/*recurse=*/false)) {
        if (p.key() == "weight") torch::nn::init::xavier_uniform_(p.value());
        if (p.key() == "bias") torch::nn::init::zeros_(p.value());
      }
    }
  }
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace mgr
