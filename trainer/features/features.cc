#include "trainer/features/features.h"

#include <torch/csrc/jit/frontend/tracer.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

namespace mgr {
namespace {

constexpr double kAmin = 1e-10;  // power floor before log10 (librosa amin)
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = 15.0;  // kMinLogHz / kLinearHzPerMel
constexpr double kLinearHzPerMel = 200.0 / 3.0;

// The filterbank is banded: each FFT bin feeds at most two bands. Multiplying by the dense
// (bins, n_mels) matrix wastes most of the work, so bands are grouped and each group is
// multiplied only by the contiguous range of bins where it is non-zero.
constexpr int kBandsPerGroup = 8;

struct BandGroup {
  int64_t first_bin = 0, num_bins = 0;  // non-zero rows of the group's columns
  torch::Tensor weights;                // (num_bins, bands in the group), contiguous
};

// Everything derived from the options that does not depend on the clips.
struct FeatureConstants {
  torch::Tensor window;  // (n_fft) periodic Hann
  std::vector<BandGroup> groups;
  torch::Tensor dct;  // (n_mels, n_mfcc)
};

using CacheKey = std::tuple<int, int, int, int, int, int, int>;

const FeatureConstants& Constants(const FeatureOptions& options, const torch::Tensor& like) {
  static std::mutex mutex;
  static std::map<CacheKey, std::unique_ptr<FeatureConstants>>* cache =
      new std::map<CacheKey, std::unique_ptr<FeatureConstants>>();
  const CacheKey key{options.sample_rate,
                     options.n_fft,
                     options.n_mels,
                     options.n_mfcc,
                     static_cast<int>(like.device().type()),
                     static_cast<int>(like.device().index()),
                     static_cast<int>(like.scalar_type())};
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<FeatureConstants>& slot = (*cache)[key];
  if (slot) return *slot;
  auto constants = std::make_unique<FeatureConstants>();
  const auto target = like.options();
  constants->window =
      torch::hann_window(options.n_fft, /*periodic=*/true, torch::kFloat64).to(target);
  const torch::Tensor fb =
      MelFilterbank(options.sample_rate, options.n_fft, options.n_mels, torch::kFloat64);
  for (int first_band = 0; first_band < options.n_mels; first_band += kBandsPerGroup) {
    const int bands = std::min(kBandsPerGroup, options.n_mels - first_band);
    const torch::Tensor columns = fb.narrow(1, first_band, bands);
    const torch::Tensor rows = columns.abs().sum(1).nonzero();
    BandGroup group;
    if (rows.numel() == 0) {  // all-zero bands (too many mels for the FFT size)
      group.first_bin = 0;
      group.num_bins = 1;
    } else {
      group.first_bin = rows.min().item<int64_t>();
      group.num_bins = rows.max().item<int64_t>() - group.first_bin + 1;
    }
    group.weights = columns.narrow(0, group.first_bin, group.num_bins).contiguous().to(target);
    if (rows.numel() == 0) group.weights.zero_();
    constants->groups.push_back(std::move(group));
  }
  if (options.n_mfcc > 0 && options.n_mfcc <= options.n_mels) {
    constants->dct = DctMatrix(options.n_mels, options.n_mfcc, torch::kFloat64).to(target);
  }
  slot = std::move(constants);
  return *slot;
}

void CheckOptions(const FeatureOptions& options) {
  TORCH_CHECK(options.sample_rate > 0, "features: sample_rate must be positive, got ",
              options.sample_rate);
  TORCH_CHECK(options.n_fft >= 2 && options.n_fft % 2 == 0,
              "features: n_fft must be even and >= 2, got ", options.n_fft);
  TORCH_CHECK(options.hop_length > 0, "features: hop_length must be positive, got ",
              options.hop_length);
  TORCH_CHECK(options.n_mels > 0, "features: n_mels must be positive, got ", options.n_mels);
  TORCH_CHECK(options.frames >= 0, "features: frames must be >= 0, got ", options.frames);
}

// (B, N) view of the clips; remembers whether a batch dimension was added.
torch::Tensor AsBatch(const torch::Tensor& clips, bool* unbatched) {
  TORCH_CHECK(clips.dim() == 1 || clips.dim() == 2,
              "features: clips must be (N) or (B, N), got shape ", clips.sizes());
  TORCH_CHECK(clips.scalar_type() == torch::kFloat32 || clips.scalar_type() == torch::kFloat64,
              "features: clips must be float32 or float64, got ", clips.scalar_type());
  *unbatched = clips.dim() == 1;
  return *unbatched ? clips.unsqueeze(0) : clips;
}

// Power spectrogram of all frames, (B, T_all, bins).
torch::Tensor Power(const torch::Tensor& batch, const FeatureOptions& options,
                    const FeatureConstants& constants) {
  const int64_t pad = options.n_fft / 2;
  const torch::Tensor padded = torch::constant_pad_nd(batch, {pad, pad}, 0.0);
  // (B, T, n_fft) strided view; the window product makes the one copy.
  const torch::Tensor frames = padded.unfold(1, options.n_fft, options.hop_length);
  const torch::Tensor spectrum = torch::fft::rfft(frames * constants.window, c10::nullopt, -1);
  const torch::Tensor re_im = torch::view_as_real(spectrum);  // (B, T, bins, 2)
  return re_im.square().sum(-1);
}

// Mel power of all frames, (B, T_all, n_mels), batched: the device path.
torch::Tensor MelPowerBatched(const torch::Tensor& batch, const FeatureOptions& options,
                              const FeatureConstants& constants) {
  const torch::Tensor power = Power(batch, options, constants);
  const int64_t b = power.size(0), t = power.size(1), bins = power.size(2);
  const torch::Tensor rows = power.view({b * t, bins});
  std::vector<torch::Tensor> parts;
  parts.reserve(constants.groups.size());
  for (const BandGroup& group : constants.groups) {
    parts.push_back(torch::mm(rows.narrow(1, group.first_bin, group.num_bins), group.weights));
  }
  return torch::cat(parts, 1).view({b, t, options.n_mels});
}

// The same on the CPU, fused: frames go through window, FFT, power and the banded
// filterbank a chunk at a time, in buffers that stay in cache. The batched path makes
// several (B, T, n_fft)-sized temporaries (~70 MB each for 32 clips), and on the CPU
// writing and faulting in those costs more than the FFTs.
constexpr int64_t kFramesPerChunk = 32;

template <typename T>
void MelPowerChunks(const torch::Tensor& batch, const FeatureOptions& options,
                    const FeatureConstants& constants, torch::Tensor& mel) {
  const int64_t b = batch.size(0), n = batch.size(1), frames = mel.size(1);
  const int64_t n_fft = options.n_fft, hop = options.hop_length, pad = n_fft / 2;
  const int64_t bins = n_fft / 2 + 1, n_mels = options.n_mels;
  const int64_t chunks = (frames + kFramesPerChunk - 1) / kFramesPerChunk;
  const T* window = constants.window.data_ptr<T>();
  const T* samples = batch.data_ptr<T>();
  T* mel_out = mel.data_ptr<T>();
  struct Group {  // a BandGroup's fields, read once instead of per frame
    int64_t first_bin, num_bins, width;
    const T* weights;
  };
  std::vector<Group> groups;
  for (const BandGroup& g : constants.groups) {
    groups.push_back({g.first_bin, g.num_bins, g.weights.size(1), g.weights.data_ptr<T>()});
  }
  at::parallel_for(0, b * chunks, 1, [&](int64_t begin, int64_t end) {
    const auto real = torch::TensorOptions().dtype(batch.dtype());
    torch::Tensor windowed = torch::empty({kFramesPerChunk, n_fft}, real);
    torch::Tensor spectrum =
        torch::empty({kFramesPerChunk, bins},
                     real.dtype(batch.scalar_type() == torch::kFloat64 ? torch::kComplexDouble
                                                                       : torch::kComplexFloat));
    std::vector<T> power(static_cast<size_t>(bins));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t clip = task / chunks, first = (task % chunks) * kFramesPerChunk;
      const int64_t count = std::min(kFramesPerChunk, frames - first);
      const T* x = samples + clip * batch.stride(0);
      T* w = windowed.data_ptr<T>();
      for (int64_t f = 0; f < count; ++f, w += n_fft) {
        const int64_t start = (first + f) * hop - pad;  // centred, zero padded
        if (start >= 0 && start + n_fft <= n) {
          for (int64_t k = 0; k < n_fft; ++k) w[k] = x[start + k] * window[k];
        } else {
          for (int64_t k = 0; k < n_fft; ++k) {
            const int64_t i = start + k;
            w[k] = (i >= 0 && i < n) ? x[i] * window[k] : T(0);
          }
        }
      }
      torch::Tensor in = windowed.narrow(0, 0, count), out = spectrum.narrow(0, 0, count);
      at::fft_rfft_out(out, in, c10::nullopt, -1, c10::nullopt);
      const T* re_im = reinterpret_cast<const T*>(spectrum.data_ptr());
      T* m = mel_out + clip * mel.stride(0) + first * n_mels;
      for (int64_t f = 0; f < count; ++f, re_im += 2 * bins, m += n_mels) {
        for (int64_t k = 0; k < bins; ++k) {
          power[k] = re_im[2 * k] * re_im[2 * k] + re_im[2 * k + 1] * re_im[2 * k + 1];
        }
        int64_t band = 0;
        for (const Group& group : groups) {
          const T* g = group.weights;
          const T* p = power.data() + group.first_bin;
          for (int64_t j = 0; j < group.width; ++j) m[band + j] = 0;
          for (int64_t k = 0; k < group.num_bins; ++k, g += group.width) {
            for (int64_t j = 0; j < group.width; ++j) m[band + j] += p[k] * g[j];
          }
          band += group.width;
        }
      }
    }
  });
}

// The frame count the features keep for a clip of num_samples (features.h, FeatureOptions).
int64_t FramesKept(int64_t num_samples, const FeatureOptions& options) {
  if (options.frames > 0) return options.frames;
  return std::max<int64_t>(1, num_samples / options.hop_length);
}

torch::Tensor MelPowerCpu(const torch::Tensor& clips, const FeatureOptions& options,
                          const FeatureConstants& constants) {
  const torch::Tensor batch = clips.contiguous();
  const int64_t frames = StftFrames(batch.size(1), options);
  torch::Tensor mel = torch::empty({batch.size(0), frames, options.n_mels}, batch.options());
  if (batch.scalar_type() == torch::kFloat64) {
    MelPowerChunks<double>(batch, options, constants, mel);
  } else {
    MelPowerChunks<float>(batch, options, constants, mel);
  }
  return mel;
}

// dB mel of all frames with the per-clip top_db floor, then the first `frames` frames.
torch::Tensor DbMel(const torch::Tensor& batch, const FeatureOptions& options,
                    const FeatureConstants& constants, bool force_batched = false) {
  // The fused loop works on raw pointers, which a TorchScript trace (the model export)
  // cannot record: traces take the batched ops.
  const bool fused = batch.device().is_cpu() && !force_batched && !torch::jit::tracer::isTracing();
  torch::Tensor mel =
      fused ? MelPowerCpu(batch, options, constants) : MelPowerBatched(batch, options, constants);
  const int64_t t = mel.size(1);
  // 10 log10(max(amin, S)) - 10 log10(max(amin, ref = 1)); the second term is 0.
  mel.clamp_min_(kAmin).log10_().mul_(10.0);
  if (options.top_db > 0) {
    const torch::Tensor floor = mel.amax({1, 2}, /*keepdim=*/true) - options.top_db;
    mel = torch::max(mel, floor);
  }
  return mel.narrow(1, 0, std::min<int64_t>(t, FramesKept(batch.size(1), options)));
}

torch::Tensor Finish(torch::Tensor features, const FeatureOptions& options, bool unbatched) {
  if (options.standardize) features = StandardizePerCoefficient(features);
  return unbatched ? features.squeeze(0) : features;
}

}  // namespace

int64_t StftFrames(int64_t num_samples, const FeatureOptions& options) {
  return 1 + (num_samples + 2 * (options.n_fft / 2) - options.n_fft) / options.hop_length;
}

int64_t FeatureFrames(int64_t num_samples, const FeatureOptions& options) {
  return std::min<int64_t>(StftFrames(num_samples, options), FramesKept(num_samples, options));
}

double HzToMelSlaney(double hz) {
  if (hz < kMinLogHz) return hz / kLinearHzPerMel;
  return kMinLogMel + std::log(hz / kMinLogHz) / (std::log(6.4) / 27.0);
}

double MelToHzSlaney(double mel) {
  if (mel < kMinLogMel) return mel * kLinearHzPerMel;
  return kMinLogHz * std::exp((std::log(6.4) / 27.0) * (mel - kMinLogMel));
}

torch::Tensor MelFilterbank(int sample_rate, int n_fft, int n_mels,
                            torch::TensorOptions tensor_options) {
  TORCH_CHECK(sample_rate > 0 && n_fft >= 2 && n_mels > 0, "MelFilterbank: bad arguments");
  const int64_t bins = n_fft / 2 + 1;
  const double nyquist = sample_rate / 2.0;
  const double mel_max = HzToMelSlaney(nyquist);
  std::vector<double> f(n_mels + 2);
  for (int i = 0; i < n_mels + 2; ++i) {
    f[i] = MelToHzSlaney(mel_max * i / (n_mels + 1));
  }
  torch::Tensor fb = torch::zeros({bins, n_mels}, torch::kFloat64);
  auto a = fb.accessor<double, 2>();
  for (int64_t k = 0; k < bins; ++k) {
    const double hz = nyquist * k / (bins - 1);
    for (int i = 0; i < n_mels; ++i) {
      const double rise = (hz - f[i]) / (f[i + 1] - f[i]);
      const double fall = (f[i + 2] - hz) / (f[i + 2] - f[i + 1]);
      const double weight = std::max(0.0, std::min(rise, fall));
      a[k][i] = weight * 2.0 / (f[i + 2] - f[i]);  // Slaney area normalisation
    }
  }
  return fb.to(tensor_options);
}

torch::Tensor DctMatrix(int n_mels, int n_mfcc, torch::TensorOptions tensor_options) {
  TORCH_CHECK(n_mels > 0 && n_mfcc > 0 && n_mfcc <= n_mels,
              "DctMatrix: need 0 < n_mfcc <= n_mels, got n_mfcc ", n_mfcc, ", n_mels ", n_mels);
  torch::Tensor dct = torch::empty({n_mels, n_mfcc}, torch::kFloat64);
  auto a = dct.accessor<double, 2>();
  for (int n = 0; n < n_mels; ++n) {
    for (int k = 0; k < n_mfcc; ++k) {
      double c = std::sqrt(2.0 / n_mels) * std::cos(M_PI * k * (2.0 * n + 1.0) / (2.0 * n_mels));
      if (k == 0) c /= std::sqrt(2.0);
      a[n][k] = c;
    }
  }
  return dct.to(tensor_options);
}

torch::Tensor PowerSpectrogram(const torch::Tensor& clips, const FeatureOptions& options) {
  CheckOptions(options);
  bool unbatched = false;
  const torch::Tensor batch = AsBatch(clips, &unbatched);
  const torch::Tensor power = Power(batch, options, Constants(options, batch));
  return unbatched ? power.squeeze(0) : power;
}

torch::Tensor LogMelSpectrogram(const torch::Tensor& clips, const FeatureOptions& options) {
  CheckOptions(options);
  torch::NoGradGuard no_grad;
  bool unbatched = false;
  const torch::Tensor batch = AsBatch(clips, &unbatched);
  return Finish(DbMel(batch, options, Constants(options, batch)), options, unbatched);
}

torch::Tensor Mfcc(const torch::Tensor& clips, const FeatureOptions& options) {
  CheckOptions(options);
  TORCH_CHECK(options.n_mfcc > 0 && options.n_mfcc <= options.n_mels,
              "features: need 0 < n_mfcc <= n_mels, got n_mfcc ", options.n_mfcc, ", n_mels ",
              options.n_mels);
  torch::NoGradGuard no_grad;
  bool unbatched = false;
  const torch::Tensor batch = AsBatch(clips, &unbatched);
  const FeatureConstants& constants = Constants(options, batch);
  const torch::Tensor db = DbMel(batch, options, constants);
  return Finish(torch::matmul(db, constants.dct), options, unbatched);
}

namespace features_internal {

torch::Tensor LogMelBatched(const torch::Tensor& clips, const FeatureOptions& options) {
  CheckOptions(options);
  torch::NoGradGuard no_grad;
  bool unbatched = false;
  const torch::Tensor batch = AsBatch(clips, &unbatched);
  return Finish(DbMel(batch, options, Constants(options, batch), /*force_batched=*/true), options,
                unbatched);
}

}  // namespace features_internal

torch::Tensor StandardizePerCoefficient(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() >= 2, "StandardizePerCoefficient: need (..., T, C), got shape ",
              features.sizes());
  const torch::Tensor centred = features - features.mean(-2, /*keepdim=*/true);
  torch::Tensor std = centred.square().mean(-2, /*keepdim=*/true).sqrt();
  std = torch::where(std > 0, std, torch::ones_like(std));
  return centred / std;
}

void CoefficientMoments::Add(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() >= 2, "CoefficientMoments: need (..., T, C), got shape ",
              features.sizes());
  const torch::Tensor flat = features.reshape({-1, features.size(-1)}).to(torch::kFloat64);
  if (!sum_.defined()) {
    sum_ = torch::zeros({flat.size(1)}, flat.options());
    sum_squares_ = torch::zeros({flat.size(1)}, flat.options());
  }
  TORCH_CHECK(flat.size(1) == sum_.size(0), "CoefficientMoments: ", flat.size(1),
              " coefficients after ", sum_.size(0));
  sum_ += flat.sum(0);
  sum_squares_ += flat.square().sum(0);
  frames_ += flat.size(0);
}

torch::Tensor CoefficientMoments::Mean() const {
  if (!sum_.defined()) return {};
  return (sum_ / static_cast<double>(frames_)).to(torch::kCPU, torch::kFloat32);
}

torch::Tensor CoefficientMoments::Std() const {
  if (!sum_.defined()) return {};
  const double n = static_cast<double>(frames_);
  const torch::Tensor mean = sum_ / n;
  // E[x^2] - E[x]^2 in float64; rounding may leave a tiny negative for a constant input.
  torch::Tensor std = (sum_squares_ / n - mean.square()).clamp_min(0).sqrt();
  std = torch::where(std > 0, std, torch::ones_like(std));
  return std.to(torch::kCPU, torch::kFloat32);
}

torch::Tensor StandardizeWith(const torch::Tensor& features, const torch::Tensor& mean,
                              const torch::Tensor& std) {
  TORCH_CHECK(mean.dim() == 1 && std.sizes() == mean.sizes() && features.size(-1) == mean.size(0),
              "StandardizeWith: statistics of shape ", mean.sizes(), " for features of shape ",
              features.sizes());
  const auto options = torch::TensorOptions().device(features.device()).dtype(features.dtype());
  return (features - mean.to(options)) / std.to(options);
}

}  // namespace mgr
