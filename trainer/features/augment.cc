#include "trainer/features/augment.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mgr {
namespace {

bool Draw(double p, std::mt19937_64& rng) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p;
}

double Uniform(std::mt19937_64& rng) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// Standard normal noise of `shape` from a generator seeded by one draw of `rng`: generated
// on the CPU so that a seed gives the same noise on every device.
torch::Tensor Normal(at::IntArrayRef shape, std::mt19937_64& rng, const torch::Tensor& like) {
  at::Generator generator = at::detail::createCPUGenerator(rng());
  torch::Tensor noise = torch::randn(shape, generator, torch::kFloat32);
  return noise.to(like.options());
}

// clip += amplitude * N(0, 1), the noise from a generator seeded by one draw of `rng`,
// made in cache-sized chunks: a fresh clip-sized noise tensor costs more in page faults
// and memory traffic than generating the numbers.
void AddNoise(torch::Tensor clip, double amplitude, std::mt19937_64& rng) {
  constexpr int64_t kChunk = 8192;
  at::Generator generator = at::detail::createCPUGenerator(rng());
  const int64_t n = clip.size(0);
  torch::Tensor buffer = torch::empty({std::min(kChunk, n)}, torch::kFloat32);
  for (int64_t start = 0; start < n; start += kChunk) {
    torch::Tensor noise = buffer.narrow(0, 0, std::min(kChunk, n - start));
    noise.normal_(0.0, 1.0, generator);
    clip.narrow(0, start, noise.size(0)).add_(noise.to(clip.options()), amplitude);
  }
}

void CheckFloating(const torch::Tensor& t, const char* what, int64_t min_dim, int64_t max_dim) {
  TORCH_CHECK(t.defined() && t.is_floating_point(), what, ": need a floating point tensor");
  TORCH_CHECK(t.dim() >= min_dim && t.dim() <= max_dim, what, ": need ", min_dim, " to ", max_dim,
              " dimensions, got shape ", t.sizes());
}

// Width floor(U * max) (at most `size`) and start floor(U * (size - width)); zeroes that
// range along `dim` of `clip`.
void MaskRange(torch::Tensor clip, int64_t dim, int max_width, std::mt19937_64& rng) {
  const int64_t size = clip.size(dim);
  const int64_t width =
      std::min<int64_t>(size, static_cast<int64_t>(std::floor(Uniform(rng) * max_width)));
  const int64_t start = static_cast<int64_t>(std::floor(Uniform(rng) * (size - width)));
  if (width > 0) clip.narrow(dim, start, width).zero_();
}

}  // namespace

torch::Tensor TimeMaskGain(int64_t t, const WaveformAugmentOptions& o) {
  torch::Tensor gain = torch::zeros({t}, torch::kFloat64);
  const int64_t fade = std::min(static_cast<int64_t>(std::floor(o.fade_seconds * o.sample_rate)),
                                static_cast<int64_t>(std::floor(o.fade_fraction * t)));
  if (fade > 0 && fade <= t) {
    gain.narrow(0, 0, fade).copy_(torch::linspace(1.0, 0.0, fade, torch::kFloat64));
    gain.narrow(0, t - fade, fade).copy_(torch::linspace(0.0, 1.0, fade, torch::kFloat64));
  }
  return gain;
}

void AugmentWaveform(torch::Tensor& clips, const WaveformAugmentOptions& o, std::mt19937_64& rng) {
  CheckFloating(clips, "AugmentWaveform", 1, 2);
  TORCH_CHECK(o.noise_min_amplitude <= o.noise_max_amplitude &&
                  o.time_mask_min_fraction <= o.time_mask_max_fraction,
              "AugmentWaveform: min above max in the options");
  torch::NoGradGuard no_grad;
  torch::Tensor batch = clips.dim() == 1 ? clips.unsqueeze(0) : clips;
  const int64_t n = batch.size(1);
  for (int64_t b = 0; b < batch.size(0); ++b) {
    torch::Tensor clip = batch[b];
    if (Draw(o.noise_p, rng)) {
      const double amplitude =
          std::uniform_real_distribution<double>(o.noise_min_amplitude, o.noise_max_amplitude)(rng);
      AddNoise(clip, amplitude, rng);
    }
    if (Draw(o.time_mask_p, rng)) {
      const int64_t min_t = static_cast<int64_t>(std::floor(o.time_mask_min_fraction * n));
      const int64_t max_t =
          std::min(n, static_cast<int64_t>(std::floor(o.time_mask_max_fraction * n)));
      const int64_t t = std::uniform_int_distribution<int64_t>(min_t, max_t)(rng);
      const int64_t start = std::uniform_int_distribution<int64_t>(0, n - t)(rng);
      if (t > 0) clip.narrow(0, start, t).mul_(TimeMaskGain(t, o).to(clip.options()));
    }
  }
}

void AugmentSpectrogram(torch::Tensor& features, const SpectrogramAugmentOptions& o,
                        std::mt19937_64& rng) {
  CheckFloating(features, "AugmentSpectrogram", 2, 3);
  torch::NoGradGuard no_grad;
  torch::Tensor batch = features.dim() == 2 ? features.unsqueeze(0) : features;
  for (int64_t b = 0; b < batch.size(0); ++b) {
    torch::Tensor clip = batch[b];  // (frames, coefs)
    if (Draw(o.time_mask_p, rng)) MaskRange(clip, 0, o.max_time_mask, rng);
    if (Draw(o.coef_mask_p, rng)) MaskRange(clip, 1, o.max_coef_mask, rng);
    if (Draw(o.noise_p, rng)) clip.add_(Normal(clip.sizes(), rng, clip).abs_(), o.noise_scale);
  }
}

}  // namespace mgr
