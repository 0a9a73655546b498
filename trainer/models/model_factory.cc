#include "trainer/models/model_factory.h"

#include "trainer/models/training_error.h"

namespace mgr {

InputConfig MakeInputConfig(const std::string& family, const HParams& hp, int64_t clip_samples,
                            int sample_rate) {
  InputConfig in;
  in.family = family;
  in.clip_samples = clip_samples;
  in.sample_rate = sample_rate;
  in.audio = family == kFamilyNnet1 || family == kFamilyMixNet;
  in.features = family == kFamilyNnet2 || family == kFamilyMixNet;
  in.feature = hp.feature;
  in.feature_options.sample_rate = sample_rate;
  in.normalization = hp.normalization;
  in.feature_options.standardize = hp.normalization == "clip";
  in.feature_options.n_mels = static_cast<int>(hp.n_mels);
  in.feature_options.n_mfcc = static_cast<int>(hp.n_mfcc);
  if (in.features) {
    in.frames = FeatureFrames(clip_samples, in.feature_options);
    in.coefficients = hp.feature == "mel" ? in.feature_options.n_mels : in.feature_options.n_mfcc;
  }
  return in;
}

Status ValidateArchitecture(const std::string& family, const HParams& hp,
                            const InputConfig& input) {
  if (!IsKnownFamily(family)) return Status::InvalidArgument("model.family: unknown " + family);
  if (input.features && input.clip_samples < input.feature_options.n_fft / 2 + 1) {
    return Status::InvalidArgument("clip_samples = " + std::to_string(input.clip_samples) +
                                   " is too short for an STFT of n_fft " +
                                   std::to_string(input.feature_options.n_fft));
  }
  if (input.audio) {
    Result<std::vector<int64_t>> r =
        Conv1dEncoderLengths(Conv1dEncoderOptions(input.clip_samples, hp.conv));
    if (!r.ok()) return r.status();
  }
  if (input.features) {
    Result<int64_t> r = ResEncoderLength(ResEncoderOptions(input.frames, input.coefficients)
                                             .channels(hp.res_channels)
                                             .kernel(hp.res_kernel));
    if (!r.ok()) return r.status();
  }
  for (size_t i = 0; i < hp.dense_units.size(); ++i) {
    if (hp.dense_units[i] < 1) {
      return Status::InvalidArgument("dense_units_" + std::to_string(i) + ": must be >= 1");
    }
  }
  return Status::Ok();
}

GenreNetImpl::GenreNetImpl(const std::string& family, const HParams& hp, const InputConfig& input,
                           int64_t num_classes)
    : family_(family) {
  if (family == kFamilyNnet1) {
    nnet1_ = register_module("net", Nnet1(Nnet1Options(input.clip_samples, num_classes)
                                              .conv(hp.conv)
                                              .batch_norm(hp.batch_norm)
                                              .dense_units(hp.dense_units)
                                              .dropout(hp.dropout)));
  } else if (family == kFamilyNnet2) {
    nnet2_ =
        register_module("net", Nnet2(Nnet2Options(input.frames, input.coefficients, num_classes)
                                         .channels(hp.res_channels)
                                         .kernel(hp.res_kernel)
                                         .blocks(hp.res_blocks)
                                         .batch_norm(hp.batch_norm)
                                         .dense_units(hp.dense_units)
                                         .dropout(hp.dropout)));
  } else if (family == kFamilyMixNet) {
    mixnet_ = register_module("net", MixNet(MixNetOptions(input.clip_samples, input.frames,
                                                          input.coefficients, num_classes)
                                                .conv(hp.conv)
                                                .res_channels(hp.res_channels)
                                                .res_kernel(hp.res_kernel)
                                                .res_blocks(hp.res_blocks)
                                                .audio_batch_norm(hp.audio_batch_norm)
                                                .feature_batch_norm(hp.feature_batch_norm)
                                                .freeze_encoders(hp.freeze_encoders)
                                                .dense_units(hp.dense_units)
                                                .dropout(hp.dropout)));
  } else {
    throw TrainingError(TrainingError::Kind::kSpec, "model.family: unknown family " + family);
  }
}

torch::Tensor GenreNetImpl::forward(const torch::Tensor& audio, const torch::Tensor& features) {
  if (nnet1_) return nnet1_->forward(audio);
  if (nnet2_) return nnet2_->forward(features);
  return mixnet_->forward(audio, features);
}

Result<GenreNet> BuildModel(const std::string& family, const HParams& hp, const InputConfig& input,
                            int64_t num_classes) {
  MGR_RETURN_IF_ERROR(ValidateArchitecture(family, hp, input));
  try {
    return GenreNet(family, hp, input, num_classes);
  } catch (const TrainingError& e) {
    return Status::InvalidArgument(e.what());
  }
}

std::vector<torch::Tensor> TrainableParameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  return params;
}

NetInputs PrepareInputs(const InputConfig& input, const torch::Tensor& clips,
                        const SpectrogramAugmentOptions* spec_augment, std::mt19937_64* rng) {
  NetInputs out;
  if (input.audio) out.audio = clips.unsqueeze(1);
  if (input.features) {
    torch::Tensor f = input.feature == "mel" ? LogMelSpectrogram(clips, input.feature_options)
                                             : Mfcc(clips, input.feature_options);
    if (input.normalization == "dataset") {
      if (!input.feature_mean.defined() || !input.feature_std.defined()) {
        throw TrainingError(TrainingError::Kind::kInternal,
                            "normalization \"dataset\" without the training split's statistics");
      }
      f = StandardizeWith(f, input.feature_mean, input.feature_std);
    }
    if (spec_augment != nullptr && rng != nullptr) AugmentSpectrogram(f, *spec_augment, *rng);
    out.features = f.unsqueeze(1);
  }
  return out;
}

Json FeatureStatsToJson(const InputConfig& input) {
  auto values = [](const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  return {{"mean", values(input.feature_mean)}, {"std", values(input.feature_std)}};
}

Status SetFeatureStats(const Json& stats, InputConfig* input) {
  const size_t c = static_cast<size_t>(input->coefficients);
  std::vector<float> mean, std;
  try {
    mean = stats.at("mean").get<std::vector<float>>();
    std = stats.at("std").get<std::vector<float>>();
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("feature_stats: ") + e.what());
  }
  if (mean.size() != c || std.size() != c) {
    return Status::InvalidArgument("feature_stats: " + std::to_string(mean.size()) + " means and " +
                                   std::to_string(std.size()) + " standard deviations for " +
                                   std::to_string(c) + " coefficients");
  }
  for (float s : std) {
    if (!(s > 0)) return Status::InvalidArgument("feature_stats: a std is not positive");
  }
  input->feature_mean = torch::tensor(mean);
  input->feature_std = torch::tensor(std);
  return Status::Ok();
}

WaveformAugmentOptions WaveformAugment(const HParams& hp, int sample_rate) {
  WaveformAugmentOptions o;
  o.noise_p = hp.aug_noise_p;
  o.time_mask_p = hp.aug_time_mask_p;
  o.noise_min_amplitude = hp.aug_noise_min;
  o.noise_max_amplitude = hp.aug_noise_max;
  o.time_mask_min_fraction = hp.aug_time_mask_min;
  o.time_mask_max_fraction = hp.aug_time_mask_max;
  o.sample_rate = sample_rate;
  return o;
}

SpectrogramAugmentOptions SpectrogramAugment(const HParams& hp) {
  SpectrogramAugmentOptions o;
  o.time_mask_p = hp.aug_spec_time_p;
  o.coef_mask_p = hp.aug_spec_coef_p;
  o.noise_p = hp.aug_spec_noise_p;
  o.max_time_mask = static_cast<int>(hp.aug_spec_time_max);
  o.max_coef_mask = static_cast<int>(hp.aug_spec_coef_max);
  o.noise_scale = hp.aug_spec_noise_std;
  return o;
}

}  // namespace mgr
