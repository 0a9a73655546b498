#include "trainer/models/mixnet.h"

namespace mgr {

MixNetOptions MixNetOptions::Paper(int64_t input_samples, int64_t frames, int64_t coefficients,
                                   int64_t num_classes) {
  MixNetOptions o(input_samples, frames, coefficients, num_classes);
  o.conv(Nnet1Options::Paper().conv());
  o.dense_units({512, 256, 128});
  o.dropout({0.1, 0.1, 0.1});
  return o;
}

MixNetImpl::MixNetImpl(const MixNetOptions& o) : freeze_encoders_(o.freeze_encoders()) {
  audio_encoder_ = register_module(
      "audio_encoder",
      Conv1dEncoder(
          Conv1dEncoderOptions(o.input_samples(), o.conv()).batch_norm(o.audio_batch_norm())));
  feature_encoder_ =
      register_module("feature_encoder", ResEncoder(ResEncoderOptions(o.frames(), o.coefficients())
                                                        .channels(o.res_channels())
                                                        .kernel(o.res_kernel())
                                                        .blocks(o.res_blocks())
                                                        .batch_norm(o.feature_batch_norm())));
  classifier_ = register_module(
      "classifier", DenseClassifier(DenseClassifierOptions(audio_encoder_->output_features() +
                                                               feature_encoder_->output_features(),
                                                           o.num_classes())
                                        .units(o.dense_units())
                                        .dropout(o.dropout())));
  InitXavier(*this);
  if (freeze_encoders_) {
    for (auto& p : audio_encoder_->parameters()) p.set_requires_grad(false);
    for (auto& p : feature_encoder_->parameters()) p.set_requires_grad(false);
    train(is_training());
  }
}

void MixNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (freeze_encoders_) {
    audio_encoder_->eval();
    feature_encoder_->eval();
  }
}

torch::Tensor MixNetImpl::forward(const torch::Tensor& audio, const torch::Tensor& features) {
  return classifier_->forward(
      torch::cat({audio_encoder_->forward(audio), feature_encoder_->forward(features)}, 1));
}

}  // namespace mgr
