// Waveform and spectrogram augmentation: probabilities, mask bounds and shapes, fade ramps
// (audiomentations TimeMask fade=True), noise statistics and seeding.
#include "trainer/features/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace mgr {
namespace {

WaveformAugmentOptions NoWaveformAugment() {
  WaveformAugmentOptions o;
  o.noise_p = 0;
  o.time_mask_p = 0;
  return o;
}

SpectrogramAugmentOptions NoSpectrogramAugment() {
  SpectrogramAugmentOptions o;
  o.time_mask_p = 0;
  o.coef_mask_p = 0;
  o.noise_p = 0;
  return o;
}

torch::Tensor RandomClips(int64_t b, int64_t n) {
  at::Generator gen = at::detail::createCPUGenerator(42);
  return torch::randn({b, n}, gen, torch::kFloat32) * 0.3;
}

TEST(AugmentTest, DefaultsAreThePapers) {
  const WaveformAugmentOptions w;
  EXPECT_EQ(w.noise_p, 0.5);
  EXPECT_EQ(w.noise_min_amplitude, 0.001);
  EXPECT_EQ(w.noise_max_amplitude, 0.015);
  EXPECT_EQ(w.time_mask_p, 1.0);
  EXPECT_EQ(w.time_mask_min_fraction, 0.1);
  EXPECT_EQ(w.time_mask_max_fraction, 0.15);
  const SpectrogramAugmentOptions s;
  EXPECT_EQ(s.time_mask_p, 0.5);
  EXPECT_EQ(s.max_time_mask, 30);
  EXPECT_EQ(s.coef_mask_p, 0.5);
  EXPECT_EQ(s.max_coef_mask, 2);
  EXPECT_EQ(s.noise_p, 0.5);
  EXPECT_EQ(s.noise_scale, 0.015);
}

TEST(AugmentTest, ZeroProbabilityIsTheIdentity) {
  std::mt19937_64 rng(1);
  const torch::Tensor original = RandomClips(16, 5000);
  torch::Tensor clips = original.clone();
  AugmentWaveform(clips, NoWaveformAugment(), rng);
  EXPECT_TRUE(torch::equal(clips, original));
  torch::Tensor features = original.view({16, 100, 50}).clone();
  AugmentSpectrogram(features, NoSpectrogramAugment(), rng);
  EXPECT_TRUE(torch::equal(features, original.view({16, 100, 50})));
}

// Hand-computed gains: linspace(1, 0, L) then zeros then linspace(0, 1, L).
TEST(AugmentTest, TimeMaskGainHandValues) {
  WaveformAugmentOptions o;
  o.sample_rate = 22050;                        // 0.01 s = 220 samples, so 0.1 t decides
  const torch::Tensor g = TimeMaskGain(50, o);  // L = 5
  const std::vector<double> expected_head = {1.0, 0.75, 0.5, 0.25, 0.0};
  const std::vector<double> expected_tail = {0.0, 0.25, 0.5, 0.75, 1.0};
  ASSERT_EQ(g.size(0), 50);
  for (int i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(g[i].item<double>(), expected_head[i]);
    EXPECT_DOUBLE_EQ(g[45 + i].item<double>(), expected_tail[i]);
  }
  EXPECT_EQ(g.narrow(0, 5, 40).abs().max().item<double>(), 0.0);
  // 0.01 s at 1 kHz = 10 samples is shorter than 0.1 * 500 = 50.
  o.sample_rate = 1000;
  const torch::Tensor h = TimeMaskGain(500, o);
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(h[i].item<double>(), 1.0 - i / 9.0, 1e-12);
  EXPECT_EQ(h.narrow(0, 10, 480).abs().max().item<double>(), 0.0);
  // No fade when 0.1 t < 1: all zeros.
  EXPECT_EQ(TimeMaskGain(9, o).abs().max().item<double>(), 0.0);
  o.fade_fraction = 0;
  EXPECT_EQ(TimeMaskGain(500, o).abs().max().item<double>(), 0.0);
}

// On clips of ones, the mask shows up as: fade down, zeros, fade up. Recover start and
// length and check bounds, the zero core and linear ramps of the right length.
TEST(AugmentTest, WaveformTimeMaskBoundsAndFades) {
  WaveformAugmentOptions o = NoWaveformAugment();
  o.time_mask_p = 1.0;
  const int64_t n = 44101;  // 2 s at 22.05 kHz, odd to exercise the floors
  const int64_t min_t = static_cast<int64_t>(0.1 * n), max_t = static_cast<int64_t>(0.15 * n);
  const int64_t fade = 220;  // min(floor(0.01 * 22050), floor(0.1 * t)) with t >= 4410
  torch::Tensor clips = torch::ones({64, n}, torch::kFloat64);
  std::mt19937_64 rng(7);
  AugmentWaveform(clips, o, rng);
  int64_t shortest = n, longest = 0;
  for (int64_t b = 0; b < clips.size(0); ++b) {
    const torch::Tensor zeros = (clips[b] == 0).nonzero().view(-1);
    ASSERT_GT(zeros.numel(), 0);
    const int64_t z0 = zeros[0].item<int64_t>(), z1 = zeros[-1].item<int64_t>();
    EXPECT_EQ(zeros.numel(), z1 - z0 + 1) << "zero core is contiguous";
    const int64_t start = z0 - (fade - 1), t = (z1 - z0 + 1) + 2 * (fade - 1);
    ASSERT_GE(start, 0);
    ASSERT_LE(start + t, n);
    EXPECT_GE(t, min_t);
    EXPECT_LE(t, max_t);
    shortest = std::min(shortest, t);
    longest = std::max(longest, t);
    const torch::Tensor row = clips[b];
    auto c = row.accessor<double, 1>();
    for (int64_t i = 0; i < fade; ++i) {
      EXPECT_NEAR(c[start + i], 1.0 - static_cast<double>(i) / (fade - 1), 1e-12);
      EXPECT_NEAR(c[start + t - 1 - i], 1.0 - static_cast<double>(i) / (fade - 1), 1e-12);
    }
    // Outside the mask: untouched.
    const double outside = clips[b].narrow(0, 0, start).sum().item<double>() +
                           clips[b].narrow(0, start + t, n - start - t).sum().item<double>();
    EXPECT_EQ(outside, static_cast<double>(n - t));
  }
  // The lengths spread over the allowed range.
  EXPECT_LT(shortest, min_t + (max_t - min_t) / 4);
  EXPECT_GT(longest, max_t - (max_t - min_t) / 4);
}

TEST(AugmentTest, WaveformNoiseStdMatchesAmplitude) {
  WaveformAugmentOptions o = NoWaveformAugment();
  o.noise_p = 1.0;
  o.noise_min_amplitude = o.noise_max_amplitude = 0.01;
  const torch::Tensor original = RandomClips(8, 1 << 18);
  torch::Tensor clips = original.clone();
  std::mt19937_64 rng(3);
  AugmentWaveform(clips, o, rng);
  const torch::Tensor diff = (clips - original).to(torch::kFloat64);
  for (int64_t b = 0; b < 8; ++b) {
    // std error of a std estimate over 2^18 samples is ~0.14%.
    EXPECT_NEAR(diff[b].std().item<double>(), 0.01, 0.01 * 0.01);
    EXPECT_NEAR(diff[b].mean().item<double>(), 0.0, 1e-4);
  }
  // Amplitudes drawn per clip from U(0.001, 0.015).
  o.noise_min_amplitude = 0.001;
  o.noise_max_amplitude = 0.015;
  clips = original.clone();
  AugmentWaveform(clips, o, rng);
  const torch::Tensor stds = (clips - original).to(torch::kFloat64).std(1);
  EXPECT_GT(stds.min().item<double>(), 0.001 * 0.98);
  EXPECT_LT(stds.max().item<double>(), 0.015 * 1.02);
  EXPECT_GT(stds.max().item<double>() - stds.min().item<double>(), 0.001);
}

TEST(AugmentTest, ProbabilityIsPerClip) {
  WaveformAugmentOptions o = NoWaveformAugment();
  o.noise_p = 0.5;
  const torch::Tensor original = RandomClips(2000, 64);
  torch::Tensor clips = original.clone();
  std::mt19937_64 rng(11);
  AugmentWaveform(clips, o, rng);
  const double applied = (clips != original).any(1).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(applied, 0.5, 0.05);  // binomial sd 0.011
}

TEST(AugmentTest, SameSeedSameOutputDifferentSeedsDiffer) {
  const WaveformAugmentOptions w;
  const SpectrogramAugmentOptions s;
  const torch::Tensor original = RandomClips(8, 25600);
  auto run = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    torch::Tensor clips = original.clone();
    AugmentWaveform(clips, w, rng);
    torch::Tensor features = original.view({8, 256, 100}).clone();
    AugmentSpectrogram(features, s, rng);
    return std::make_pair(clips, features);
  };
  const auto a = run(5), b = run(5), c = run(6);
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.second, b.second));
  EXPECT_FALSE(torch::equal(a.first, c.first));
  EXPECT_FALSE(torch::equal(a.second, c.second));
}

TEST(AugmentTest, SpectrogramTimeMaskBoundsAndFullyZeroed) {
  SpectrogramAugmentOptions o = NoSpectrogramAugment();
  o.time_mask_p = 1.0;
  const int64_t frames = 100, coefs = 20;
  torch::Tensor features = torch::ones({500, frames, coefs});
  std::mt19937_64 rng(2);
  AugmentSpectrogram(features, o, rng);
  int64_t widest = 0, unmasked = 0;
  for (int64_t b = 0; b < features.size(0); ++b) {
    const torch::Tensor rows = (features[b] == 0).all(1).nonzero().view(-1);
    const int64_t zeros = (features[b] == 0).sum().item<int64_t>();
    EXPECT_EQ(zeros, rows.numel() * coefs) << "masked frames are zeroed across all coefficients";
    if (rows.numel() == 0) {
      ++unmasked;
      continue;
    }
    const int64_t w = rows.numel();
    EXPECT_EQ(rows[-1].item<int64_t>() - rows[0].item<int64_t>() + 1, w) << "consecutive";
    EXPECT_LE(w, 29);  // floor(U * 30)
    widest = std::max(widest, w);
  }
  EXPECT_GE(widest, 27);
  EXPECT_GT(unmasked, 0);  // width 0 happens (U < 1/30)
  EXPECT_LT(unmasked, 50);
}

TEST(AugmentTest, SpectrogramCoefficientMaskBounds) {
  SpectrogramAugmentOptions o = NoSpectrogramAugment();
  o.coef_mask_p = 1.0;
  torch::Tensor features = torch::ones({400, 50, 20});
  std::mt19937_64 rng(4);
  AugmentSpectrogram(features, o, rng);
  const torch::Tensor masked_columns = (features == 0).all(1).sum(1);  // (B)
  EXPECT_EQ((features == 0).sum().item<int64_t>(), masked_columns.sum().item<int64_t>() * 50);
  EXPECT_LE(masked_columns.max().item<int64_t>(), 1);  // floor(U * 2) is 0 or 1
  EXPECT_NEAR(masked_columns.to(torch::kFloat64).mean().item<double>(), 0.5, 0.1);
  // start = floor(U * (20 - 1)) reaches coefficients 0..18 but never 19 (as released).
  const torch::Tensor hit = (features == 0).all(1).any(0);
  EXPECT_TRUE(hit.narrow(0, 0, 19).all().item<bool>());
  EXPECT_FALSE(hit[19].item<bool>());
  // A wider maximum gives consecutive columns.
  o.max_coef_mask = 6;
  features = torch::ones({400, 50, 20});
  AugmentSpectrogram(features, o, rng);
  for (int64_t b = 0; b < 400; ++b) {
    const torch::Tensor cols = (features[b] == 0).all(0).nonzero().view(-1);
    EXPECT_LE(cols.numel(), 5);
    if (cols.numel() > 0) {
      EXPECT_EQ(cols[-1].item<int64_t>() - cols[0].item<int64_t>() + 1, cols.numel());
    }
  }
}

TEST(AugmentTest, SpectrogramNoiseIsPositiveHalfNormal) {
  SpectrogramAugmentOptions o = NoSpectrogramAugment();
  o.noise_p = 1.0;
  const torch::Tensor original = RandomClips(4, 256 * 20).view({4, 256, 20}) * 10;
  torch::Tensor features = original.clone();
  std::mt19937_64 rng(9);
  AugmentSpectrogram(features, o, rng);
  const torch::Tensor diff = (features - original).to(torch::kFloat64);
  EXPECT_GE(diff.min().item<double>(), -1e-5);  // float32 rounding only
  // E|N(0,1)| = sqrt(2/pi); 20480 samples give a relative std error under 1%.
  EXPECT_NEAR(diff.mean().item<double>(), 0.015 * std::sqrt(2.0 / M_PI), 0.015 * 0.03);
}

TEST(AugmentTest, OneDimensionalAndTwoDimensionalInputs) {
  WaveformAugmentOptions w = NoWaveformAugment();
  w.time_mask_p = 1.0;
  torch::Tensor clip = torch::ones({10000}, torch::kFloat64);
  std::mt19937_64 rng(1);
  AugmentWaveform(clip, w, rng);
  EXPECT_GT((clip == 0).sum().item<int64_t>(), 0);
  SpectrogramAugmentOptions s = NoSpectrogramAugment();
  s.noise_p = 1.0;
  torch::Tensor features = torch::zeros({256, 20});
  AugmentSpectrogram(features, s, rng);
  EXPECT_GT(features.min().item<float>(), -1e-9f);
  EXPECT_GT(features.max().item<float>(), 0.0f);
  torch::Tensor ints = torch::zeros({2, 10}, torch::kInt32);
  EXPECT_THROW(AugmentWaveform(ints, w, rng), c10::Error);
}

}  // namespace
}  // namespace mgr
