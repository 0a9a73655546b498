// Log-Mel, MFCC and standardisation against Debian's python3-torchaudio configured as
// librosa (run live through tests/trainer/features/torchaudio_reference.py) and hand-computed
// values.
#include "trainer/features/features.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>

#include "trainer/features/array_writer.h"

namespace mgr {
namespace {

constexpr int64_t kClip = 1 << 18;

std::string TempDir() {
  std::string pattern = ::testing::TempDir() + "mgr_features_XXXXXX";
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

torch::Tensor Time(int64_t n, int sample_rate) {
  return torch::arange(n, torch::kFloat64) / sample_rate;
}

torch::Tensor Sine(double hz, double amplitude, int64_t n, int sample_rate) {
  return amplitude * torch::sin(2 * M_PI * hz * Time(n, sample_rate));
}

// Linear chirp from f0 to f1 over the clip.
torch::Tensor Chirp(double f0, double f1, int64_t n, int sample_rate) {
  const torch::Tensor t = Time(n, sample_rate);
  const double duration = static_cast<double>(n) / sample_rate;
  return 0.5 * torch::sin(2 * M_PI * (f0 * t + (f1 - f0) / (2 * duration) * t * t));
}

torch::Tensor Chord(int64_t n, int sample_rate) {
  return Sine(440.0, 0.3, n, sample_rate) + Sine(554.37, 0.2, n, sample_rate) +
         Sine(659.25, 0.2, n, sample_rate) + Sine(110.0, 0.1, n, sample_rate);
}

torch::Tensor Noise(double std, int64_t n, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return torch::randn({n}, gen, torch::kFloat64) * std;
}

// Near-silence: faint noise in the first half, exact zeros after (hits the 1e-10 floor).
torch::Tensor NearSilence(int64_t n) {
  torch::Tensor x = Noise(1e-6, n, 7);
  x.narrow(0, n / 2, n - n / 2).zero_();
  return x;
}

struct Reference {
  torch::Tensor mel, mfcc;  // (B, T_all, 128), (B, T_all, 20)
};

Reference RunTorchaudio(const torch::Tensor& clips, int sample_rate, const std::string& dtype,
                        int n_mels = 128, int n_mfcc = 20) {
  const std::string dir = TempDir();
  const std::string in = dir + "/clips.npy", mel = dir + "/mel.npy", mfcc = dir + "/mfcc.npy";
  EXPECT_TRUE(WriteNpy(in, clips).ok());
  const std::string command = std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                              "/tests/trainer/features/torchaudio_reference.py " + in + " " + mel +
                              " " + mfcc + " --sample-rate " + std::to_string(sample_rate) +
                              " --dtype " + dtype + " --n-mels " + std::to_string(n_mels) +
                              " --n-mfcc " + std::to_string(n_mfcc);
  const int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << command;
  Reference ref;
  auto mel_result = ReadNpy(mel);
  auto mfcc_result = ReadNpy(mfcc);
  EXPECT_TRUE(mel_result.ok()) << mel_result.status().ToString();
  EXPECT_TRUE(mfcc_result.ok()) << mfcc_result.status().ToString();
  if (mel_result.ok()) ref.mel = *mel_result;
  if (mfcc_result.ok()) ref.mfcc = *mfcc_result;
  std::system(("rm -rf " + dir).c_str());
  return ref;
}

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64))
      .abs()
      .max()
      .item<double>();
}

void ExpectMatchesTorchaudio(const torch::Tensor& clips64, int sample_rate, torch::ScalarType dtype,
                             double mel_tolerance_db, double mfcc_tolerance, int n_mels = 128,
                             int n_mfcc = 20) {
  const torch::Tensor clips = clips64.to(dtype);
  // The reference always runs in float64, filterbank included (see the script).
  const Reference ref =
      RunTorchaudio(clips.to(torch::kFloat64), sample_rate, "float64", n_mels, n_mfcc);
  ASSERT_TRUE(ref.mel.defined() && ref.mfcc.defined());
  FeatureOptions options;
  options.sample_rate = sample_rate;
  options.n_mels = n_mels;
  options.n_mfcc = n_mfcc;
  const torch::Tensor mel = LogMelSpectrogram(clips, options);
  const torch::Tensor mfcc = Mfcc(clips, options);
  const int64_t frames = FeatureFrames(clips.size(1), options);
  ASSERT_EQ(ref.mel.size(1), StftFrames(clips.size(1), options));
  ASSERT_EQ(mel.sizes(), (std::vector<int64_t>{clips.size(0), frames, n_mels}));
  ASSERT_EQ(mfcc.sizes(), (std::vector<int64_t>{clips.size(0), frames, n_mfcc}));
  EXPECT_EQ(mel.scalar_type(), dtype);
  const double mel_diff = MaxAbsDiff(mel, ref.mel.narrow(1, 0, frames));
  const double mfcc_diff = MaxAbsDiff(mfcc, ref.mfcc.narrow(1, 0, frames));
  std::printf("max |ours - torchaudio|: mel %.3g dB, mfcc %.3g\n", mel_diff, mfcc_diff);
  EXPECT_LT(mel_diff, mel_tolerance_db);
  EXPECT_LT(mfcc_diff, mfcc_tolerance);
}

torch::Tensor Signals(int sample_rate) {
  return torch::stack({Sine(440.0, 0.5, kClip, sample_rate),
                       Chirp(50.0, sample_rate * 0.45, kClip, sample_rate),
                       Chord(kClip, sample_rate), Noise(0.1, kClip, 3), NearSilence(kClip)});
}

// float32 rounding (FFT, then 128-term sums for the MFCC) against an exact float64
// reference: measured 7.6e-4 / 9.8e-4 dB (mel) and 1.3e-3 (MFCC) at 22.05 / 44.1 kHz.
constexpr double kMelFloat32 = 1.5e-3, kMfccFloat32 = 3e-3;

TEST(FeaturesTest, MatchesTorchaudioAt22050Float32) {
  ExpectMatchesTorchaudio(Signals(22050), 22050, torch::kFloat32, kMelFloat32, kMfccFloat32);
}

TEST(FeaturesTest, MatchesTorchaudioAt44100Float32) {
  ExpectMatchesTorchaudio(Signals(44100), 44100, torch::kFloat32, kMelFloat32, kMfccFloat32);
}

TEST(FeaturesTest, MatchesTorchaudioFloat64) {
  ExpectMatchesTorchaudio(Signals(22050), 22050, torch::kFloat64, 1e-6, 1e-6);
  ExpectMatchesTorchaudio(Signals(44100), 44100, torch::kFloat64, 1e-6, 1e-6);
}

// Non-default feature sizes (hparams n_mels / n_mfcc).
TEST(FeaturesTest, MatchesTorchaudioWith64MelsAnd13Mfcc) {
  ExpectMatchesTorchaudio(Signals(22050), 22050, torch::kFloat64, 1e-6, 1e-6, 64, 13);
}

// The frame count follows the clip: clip_samples / hop_length frames.
TEST(FeaturesTest, ShortClipsKeepClipOverHopFramesAndMatchTorchaudio) {
  for (int64_t n : {5000, 2048, 1023}) {
    SCOPED_TRACE(n);
    const torch::Tensor clips = torch::stack({Sine(1000.0, 0.5, n, 22050), Noise(0.2, n, 11)});
    ExpectMatchesTorchaudio(clips, 22050, torch::kFloat32, kMelFloat32, kMfccFloat32);
    FeatureOptions options;
    EXPECT_EQ(LogMelSpectrogram(clips.to(torch::kFloat32), options).size(1),
              std::max<int64_t>(1, n / 1024));
  }
}

TEST(FeaturesTest, ClipOf2To18SamplesGives256Of257Frames) {
  FeatureOptions options;
  EXPECT_EQ(StftFrames(kClip, options), 257);
  EXPECT_EQ(FeatureFrames(kClip, options), 256);
  const torch::Tensor mfcc = Mfcc(Sine(440.0, 0.5, kClip, 22050).to(torch::kFloat32), options);
  EXPECT_EQ(mfcc.sizes(), (std::vector<int64_t>{256, 20}));  // 1D in, no batch dimension
}

TEST(FeaturesTest, FramesFollowTheClipLength) {
  FeatureOptions options;
  EXPECT_EQ(FeatureFrames(1 << 19, options), 512);
  EXPECT_EQ(FeatureFrames(1 << 14, options), 16);
  EXPECT_EQ(Mfcc(Sine(440.0, 0.5, 1 << 19, 44100).to(torch::kFloat32), options).size(0), 512);
  options.frames = 100;  // an explicit cap still applies
  EXPECT_EQ(FeatureFrames(1 << 19, options), 100);
}

TEST(FeaturesTest, SlaneyMelScaleHandValues) {
  EXPECT_DOUBLE_EQ(HzToMelSlaney(0.0), 0.0);
  EXPECT_NEAR(HzToMelSlaney(200.0 / 3.0), 1.0, 1e-12);
  EXPECT_NEAR(HzToMelSlaney(500.0), 7.5, 1e-12);
  EXPECT_NEAR(HzToMelSlaney(1000.0), 15.0, 1e-12);
  EXPECT_NEAR(HzToMelSlaney(6400.0), 42.0, 1e-12);   // 15 + 27: one log step of 6.4
  EXPECT_NEAR(HzToMelSlaney(40960.0), 69.0, 1e-12);  // 6.4^2 kHz
  for (double hz : {10.0, 999.0, 1000.0, 1234.5, 11025.0, 22050.0}) {
    EXPECT_NEAR(MelToHzSlaney(HzToMelSlaney(hz)), hz, 1e-9 * hz);
  }
}

// Un-normalised triangles form a partition of unity between the first and last centre,
// and every normalised triangle has unit area (2 / width times half the width).
TEST(FeaturesTest, FilterbankShape) {
  for (int sr : {22050, 44100}) {
    SCOPED_TRACE(sr);
    const int n_mels = 128, n_fft = 2048, bins = n_fft / 2 + 1;
    const torch::Tensor fb = MelFilterbank(sr, n_fft, n_mels, torch::kFloat64);
    ASSERT_EQ(fb.sizes(), (std::vector<int64_t>{bins, n_mels}));
    const double mel_max = HzToMelSlaney(sr / 2.0);
    std::vector<double> f(n_mels + 2);
    for (int i = 0; i < n_mels + 2; ++i) f[i] = MelToHzSlaney(mel_max * i / (n_mels + 1));
    const double bin_hz = sr / 2.0 / (bins - 1);
    auto a = fb.accessor<double, 2>();
    for (int64_t k = 0; k < bins; ++k) {
      const double hz = k * bin_hz;
      double sum = 0;
      for (int i = 0; i < n_mels; ++i) {
        sum += a[k][i] * (f[i + 2] - f[i]) / 2;
        if (hz <= f[i] || hz >= f[i + 2]) {
          EXPECT_EQ(a[k][i], 0.0) << k << " " << i;
        }
      }
      if (hz >= f[1] && hz <= f[n_mels]) {
        EXPECT_NEAR(sum, 1.0, 1e-9) << "bin " << k;
      }
    }
    for (int i = 0; i < n_mels; ++i) {
      const double width = f[i + 2] - f[i];
      // Peak: at the bin nearest the centre, at most the 2 / width apex.
      const int64_t peak = fb.select(1, i).argmax().item<int64_t>();
      EXPECT_LE(std::abs(peak * bin_hz - f[i + 1]), bin_hz) << "band " << i;
      EXPECT_LE(a[peak][i], 2.0 / width + 1e-12);
      // Area by the trapezoid rule: exact up to the sampling of the apex and the feet.
      const double area = fb.select(1, i).sum().item<double>() * bin_hz;
      EXPECT_NEAR(area, 1.0, 2.0 * bin_hz / width) << "band " << i;
    }
  }
}

TEST(FeaturesTest, DctIsOrthonormal) {
  const torch::Tensor d = DctMatrix(128, 20, torch::kFloat64);  // (128, 20)
  EXPECT_LT(MaxAbsDiff(d.t().matmul(d), torch::eye(20, torch::kFloat64)), 1e-12);
  const torch::Tensor full = DctMatrix(128, 128, torch::kFloat64);
  EXPECT_LT(MaxAbsDiff(full.matmul(full.t()), torch::eye(128, torch::kFloat64)), 1e-12);
  // c_0 of a constant vector x is sqrt(N) x.
  EXPECT_NEAR(d[0][0].item<double>(), 1.0 / std::sqrt(128.0), 1e-15);
  EXPECT_NEAR(d[5][3].item<double>(), std::sqrt(2.0 / 128) * std::cos(M_PI * 3 * 11 / 256.0),
              1e-15);
}

// A cosine on an FFT bin under a periodic Hann window has exactly three non-zero bins:
// |X_k| = A n_fft / 4 and |X_k+-1| = A n_fft / 8.
TEST(FeaturesTest, PowerSpectrumOfABinCentredCosine) {
  FeatureOptions options;
  const int k = 100;
  const double hz = 22050.0 * k / 2048;
  const torch::Tensor x = (torch::cos(2 * M_PI * hz * Time(kClip, 22050))).to(torch::kFloat64);
  const torch::Tensor power = PowerSpectrogram(x, options);  // (257, 1025)
  ASSERT_EQ(power.sizes(), (std::vector<int64_t>{257, 1025}));
  const torch::Tensor frame = power[100];
  EXPECT_NEAR(frame[k].item<double>(), 512.0 * 512.0, 1e-6);
  EXPECT_NEAR(frame[k - 1].item<double>(), 256.0 * 256.0, 1e-6);
  EXPECT_NEAR(frame[k + 1].item<double>(), 256.0 * 256.0, 1e-6);
  EXPECT_LT(frame.narrow(0, k + 3, 1025 - k - 3).max().item<double>(), 1e-12);
  // First frame: centred at sample 0 with half a window of zero padding.
  EXPECT_GT(power[0][k].item<double>(), 0.0);
}

TEST(FeaturesTest, TopDbClampsPerClipAtMaxMinus80) {
  // Loud first half, faint second half: the floor applies; each clip has its own maximum.
  torch::Tensor loud = Sine(440.0, 0.5, kClip, 22050);
  loud.narrow(0, kClip / 2, kClip / 2).mul_(1e-6);
  const torch::Tensor quiet = loud * 1e-2;  // 40 dB lower everywhere
  const torch::Tensor clips = torch::stack({loud, quiet}).to(torch::kFloat64);
  FeatureOptions options;
  const torch::Tensor db = LogMelSpectrogram(clips, options);
  FeatureOptions unclamped = options;
  unclamped.top_db = 0;
  const torch::Tensor raw = LogMelSpectrogram(clips, unclamped);
  for (int b = 0; b < 2; ++b) {
    const double max = raw[b].max().item<double>();
    EXPECT_NEAR(db[b].max().item<double>(), max, 1e-9);
    EXPECT_NEAR(db[b].min().item<double>(), max - 80.0, 1e-9);
    EXPECT_LT(raw[b].min().item<double>(), max - 80.0);  // the clamp did something
    EXPECT_LT(MaxAbsDiff(db[b], torch::clamp_min(raw[b], max - 80.0)), 1e-12);
  }
  // Scaling the clip by 1e-2 lowers every unclamped value by exactly 40 dB.
  EXPECT_NEAR(raw[0].max().item<double>() - raw[1].max().item<double>(), 40.0, 1e-9);
}

TEST(FeaturesTest, BatchEqualsOneClipAtATime) {
  const torch::Tensor clips = Signals(22050).to(torch::kFloat32);
  FeatureOptions options;
  const torch::Tensor batch = Mfcc(clips, options);
  for (int64_t b = 0; b < clips.size(0); ++b) {
    EXPECT_LT(MaxAbsDiff(batch[b], Mfcc(clips[b], options)), 1e-3);
  }
}

TEST(FeaturesTest, DevicePathEqualsTheFusedCpuPath) {
  // The batched path is what runs on a GPU; on the CPU it must agree with the fused one
  // (which the torchaudio tests above check), including short and 44.1 kHz clips.
  for (int rate : {22050, 44100}) {
    FeatureOptions options;
    options.sample_rate = rate;
    const torch::Tensor clips = Signals(rate);
    EXPECT_LT(MaxAbsDiff(features_internal::LogMelBatched(clips, options),
                         LogMelSpectrogram(clips, options)),
              1e-9);
    const torch::Tensor single = clips[1].to(torch::kFloat32);
    EXPECT_LT(MaxAbsDiff(features_internal::LogMelBatched(single, options),
                         LogMelSpectrogram(single, options)),
              kMelFloat32);
    const torch::Tensor shorter = clips.narrow(1, 0, 3000);
    EXPECT_LT(MaxAbsDiff(features_internal::LogMelBatched(shorter, options),
                         LogMelSpectrogram(shorter, options)),
              1e-9);
  }
}

// The GPU (cuFFT, the batched path) against the CPU, which the torchaudio tests above hold
// to kMelFloat32 / kMfccFloat32 of the exact float64 reference: in float32 each side is
// within that of exact, so the two within twice that; in float64 both are exact to ~1e-9.
TEST(FeaturesGpuTest, LogMelAndMfccOnTheGpuEqualTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu("cuda:0");
  for (int rate : {22050, 44100}) {
    FeatureOptions options;
    options.sample_rate = rate;
    const torch::Tensor clips64 = Signals(rate);
    for (torch::ScalarType dtype : {torch::kFloat32, torch::kFloat64}) {
      const bool f32 = dtype == torch::kFloat32;
      const torch::Tensor clips = clips64.to(dtype);
      const torch::Tensor mel = LogMelSpectrogram(clips.to(gpu), options);
      const torch::Tensor mfcc = Mfcc(clips.to(gpu), options);
      EXPECT_TRUE(mel.is_cuda());
      EXPECT_EQ(mel.scalar_type(), dtype);
      EXPECT_LT(MaxAbsDiff(mel.cpu(), LogMelSpectrogram(clips, options)),
                f32 ? 2 * kMelFloat32 : 1e-6)
          << rate;
      EXPECT_LT(MaxAbsDiff(mfcc.cpu(), Mfcc(clips, options)), f32 ? 2 * kMfccFloat32 : 1e-6)
          << rate;
      // The batched path on the CPU is the same computation as on the GPU.
      EXPECT_LT(MaxAbsDiff(mel.cpu(), features_internal::LogMelBatched(clips, options)),
                f32 ? 2 * kMelFloat32 : 1e-6)
          << rate;
      // One clip at a time (unbatched input) agrees with its row of the batch.
      EXPECT_LT(MaxAbsDiff(Mfcc(clips[2].to(gpu), options).cpu(), mfcc[2].cpu()), 1e-3);
    }
  }
}

TEST(FeaturesTest, StandardizeHandComputed) {
  // Column 0: mean 3, population std sqrt(8/3); column 1 constant: centred, unscaled.
  const torch::Tensor x =
      torch::tensor({1.0, 7.0, 3.0, 7.0, 5.0, 7.0}, torch::kFloat64).view({3, 2});
  const torch::Tensor y = StandardizePerCoefficient(x);
  const double s = std::sqrt(8.0 / 3.0);
  const torch::Tensor expected =
      torch::tensor({-2 / s, 0.0, 0.0, 0.0, 2 / s, 0.0}, torch::kFloat64).view({3, 2});
  EXPECT_LT(MaxAbsDiff(y, expected), 1e-12);
}

TEST(FeaturesTest, StandardizedFeaturesHaveZeroMeanUnitStdPerCoefficient) {
  FeatureOptions options;
  options.standardize = true;
  const torch::Tensor clips = Signals(22050).narrow(0, 0, 4).to(torch::kFloat64);
  const torch::Tensor mfcc = Mfcc(clips, options);
  EXPECT_LT(mfcc.mean(1).abs().max().item<double>(), 1e-9);
  const torch::Tensor std = mfcc.std(1, /*unbiased=*/false);
  EXPECT_LT(MaxAbsDiff(std, torch::ones_like(std)), 1e-9);
  // Equals standardising the unstandardised features.
  options.standardize = false;
  EXPECT_LT(MaxAbsDiff(mfcc, StandardizePerCoefficient(Mfcc(clips, options))), 1e-12);
}

TEST(FeaturesTest, CoefficientMomentsEqualTorchOverEveryFrameOfEveryClip) {
  FeatureOptions options;
  const torch::Tensor clips = Signals(22050).to(torch::kFloat32);
  const torch::Tensor a = Mfcc(clips.narrow(0, 0, 3), options);
  const torch::Tensor b = Mfcc(clips.narrow(0, 3, 2), options);
  CoefficientMoments moments;
  EXPECT_FALSE(moments.Mean().defined());
  moments.Add(a);
  moments.Add(b);
  EXPECT_EQ(moments.frames(), (a.size(0) + b.size(0)) * a.size(1));
  const torch::Tensor all = torch::cat({a, b}).reshape({-1, a.size(2)}).to(torch::kFloat64);
  const torch::Tensor mean = all.mean(0), std = all.std(0, /*unbiased=*/false);
  EXPECT_LT(MaxAbsDiff(moments.Mean().to(torch::kFloat64), mean),
            1e-5 * mean.abs().max().item<double>());
  EXPECT_LT(MaxAbsDiff(moments.Std().to(torch::kFloat64), std), 1e-5 * std.max().item<double>());
  // Standardised with them, the frames have mean 0 and std 1 per coefficient.
  const torch::Tensor z =
      StandardizeWith(all, moments.Mean(), moments.Std()).to(torch::kFloat64);
  EXPECT_LT(z.mean(0).abs().max().item<double>(), 1e-4);
  EXPECT_LT(MaxAbsDiff(z.std(0, false), torch::ones({a.size(2)}, torch::kFloat64)), 1e-4);
}

TEST(FeaturesTest, CoefficientMomentsHandComputed) {
  // Column 0: 1, 3, 5 (mean 3, population std sqrt(8/3)); column 1 constant 7: std 1.
  CoefficientMoments moments;
  moments.Add(torch::tensor({1.0, 7.0, 3.0, 7.0}, torch::kFloat64).view({2, 2}));
  moments.Add(torch::tensor({5.0, 7.0}, torch::kFloat64).view({1, 2}));
  EXPECT_EQ(moments.frames(), 3);
  EXPECT_LT(MaxAbsDiff(moments.Mean().to(torch::kFloat64), torch::tensor({3.0, 7.0})), 1e-6);
  EXPECT_LT(MaxAbsDiff(moments.Std().to(torch::kFloat64), torch::tensor({std::sqrt(8.0 / 3), 1.0})),
            1e-6);
  EXPECT_THROW(moments.Add(torch::zeros({2, 3})), c10::Error);  // another coefficient count
  const torch::Tensor y = StandardizeWith(torch::tensor({5.0, 9.0}).view({1, 2}),
                                          torch::tensor({3.0, 7.0}), torch::tensor({2.0, 1.0}));
  EXPECT_LT(MaxAbsDiff(y, torch::tensor({1.0, 2.0}).view({1, 2})), 1e-12);
}

TEST(FeaturesTest, ConcurrentCallsAgree) {
  const torch::Tensor clips = Signals(22050).narrow(0, 0, 2).to(torch::kFloat32);
  FeatureOptions options;
  options.sample_rate = 16000;  // a fresh cache entry, built under contention
  const torch::Tensor expected = Mfcc(clips, options).clone();
  options.n_mels = 64;  // and another one
  std::vector<torch::Tensor> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = Mfcc(clips, options); });
  }
  for (auto& t : threads) t.join();
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(torch::equal(results[0], results[i]));
  options.n_mels = 128;
  EXPECT_TRUE(torch::equal(Mfcc(clips, options), expected));
  EXPECT_EQ(results[0].size(2), 20);
}

TEST(FeaturesTest, RejectsBadInput) {
  FeatureOptions options;
  EXPECT_THROW(LogMelSpectrogram(torch::zeros({2, 3, 4}), options), c10::Error);
  EXPECT_THROW(LogMelSpectrogram(torch::zeros({2, 4096}, torch::kInt32), options), c10::Error);
  options.n_mfcc = 200;
  EXPECT_THROW(Mfcc(torch::zeros({1, 4096}), options), c10::Error);
}

}  // namespace
}  // namespace mgr
