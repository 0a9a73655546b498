// Network inputs computed from audio clips as libtorch ops: log-Mel spectrograms, MFCCs and
// per-clip standardisation (REFERENCE.md section 2). Everything runs batched on the device
// and in the dtype of the input (CPU or CUDA; float32 or float64), so features can be
// computed on the GPU next to the network.
//
// Parity: equal (within 1e-3 dB) to librosa >= 0.9 / torchaudio configured as librosa
// (n_fft 2048, hop 1024, periodic Hann, centre with zero padding, power 2, Slaney mel scale
// and area norm, fmin 0, fmax sr/2, dB with ref 1, amin 1e-10, top_db per clip, DCT-II
// orthonormal). See docs/features.md.
#ifndef MGR_TRAINER_FEATURES_FEATURES_H_
#define MGR_TRAINER_FEATURES_FEATURES_H_

#include <torch/torch.h>

namespace mgr {

struct FeatureOptions {
  int sample_rate = 22050;  // Hz of the clips
  int n_fft = 2048, hop_length = 1024, n_mels = 128, n_mfcc = 20;
  // Frames kept: `frames` when > 0, else num_samples / hop_length (2^18 samples -> 256 as
  // the paper, 2^19 -> 512): the frame count follows the clip length.
  int frames = 0;
  double top_db = 80.0;      // clamp at (max over the clip) - top_db; <= 0 disables
  bool standardize = false;  // per-clip, per-coefficient (population std)
};

// Number of STFT frames a centred STFT gives for `num_samples` samples
// (1 + num_samples / hop_length), and the number the features keep: min(that, frames), with
// frames = num_samples / hop_length (at least 1) unless options.frames > 0.
int64_t StftFrames(int64_t num_samples, const FeatureOptions& options);
int64_t FeatureFrames(int64_t num_samples, const FeatureOptions& options);

// clips: (B, N) floating point, any device. Returns (B, T, n_mels) in dB, or
// (B, T, n_mfcc), where T = FeatureFrames(N, options): the first `frames` frames, or all of
// them when the clip is shorter (2^18 samples give 257 frames, of which 256 are kept).
// top_db clamps against the maximum over all of the clip's frames (before truncation),
// as librosa does for the whole clip. With options.standardize the result is passed
// through StandardizePerCoefficient. A 1D input (N) is treated as a batch of one and
// returns (T, coefs). Throws c10::Error on bad shapes or options (n_fft > N + n_fft/2 ...).
// Thread-safe: the mel filterbank and DCT matrix are built once per (sample_rate, n_fft,
// n_mels, n_mfcc, device, dtype) and cached for the life of the process.
torch::Tensor LogMelSpectrogram(const torch::Tensor& clips, const FeatureOptions& options);
torch::Tensor Mfcc(const torch::Tensor& clips, const FeatureOptions& options);

namespace features_internal {
// LogMelSpectrogram by the batched path that runs on a GPU; on the CPU the functions above
// use a fused per-chunk path instead. Exposed so that tests cover the device path without
// a GPU.
torch::Tensor LogMelBatched(const torch::Tensor& clips, const FeatureOptions& options);
}  // namespace features_internal

// features: (..., T, C). For each coefficient c, subtracts its mean over the T frames and
// divides by its population standard deviation; a zero standard deviation leaves the
// centred values unscaled. Returns a new tensor of the same shape, device and dtype.
torch::Tensor StandardizePerCoefficient(const torch::Tensor& features);

// Dataset-wide statistics (normalization "dataset"): the per-coefficient mean and
// population standard deviation over every frame of every clip added, accumulated in
// float64 on the features' device. Not thread-safe.
class CoefficientMoments {
 public:
  // features: (..., T, C) with the same C every call.
  void Add(const torch::Tensor& features);
  int64_t frames() const { return frames_; }
  // (C) float32 on the CPU; undefined before the first Add. A zero standard deviation
  // becomes 1 (the centred values stay unscaled, as StandardizePerCoefficient).
  torch::Tensor Mean() const;
  torch::Tensor Std() const;

 private:
  torch::Tensor sum_, sum_squares_;  // (C) float64
  int64_t frames_ = 0;
};

// (features - mean) / std per coefficient: features (..., C), mean and std (C) on any
// device (moved to the features' device and dtype).
torch::Tensor StandardizeWith(const torch::Tensor& features, const torch::Tensor& mean,
                              const torch::Tensor& std);

// The building blocks, exposed for tests and tools.
// Slaney mel scale (librosa htk=False): linear below 1000 Hz (f / (200/3)), log above.
double HzToMelSlaney(double hz);
double MelToHzSlaney(double mel);
// (n_fft/2 + 1, n_mels) Slaney-scale triangular filterbank with Slaney area normalisation,
// fmin 0, fmax sample_rate/2 (torchaudio's melscale_fbanks layout: frequency bins by bands).
torch::Tensor MelFilterbank(int sample_rate, int n_fft, int n_mels,
                            torch::TensorOptions tensor_options = torch::kFloat32);
// (n_mels, n_mfcc) orthonormal DCT-II matrix: mfcc = db_mel (.., n_mels) matmul dct.
torch::Tensor DctMatrix(int n_mels, int n_mfcc,
                        torch::TensorOptions tensor_options = torch::kFloat32);
// (B, T_all, n_fft/2 + 1) power spectrogram |STFT|^2 of a centred, zero-padded STFT with a
// periodic Hann window (all frames, no truncation).
torch::Tensor PowerSpectrogram(const torch::Tensor& clips, const FeatureOptions& options);

}  // namespace mgr

#endif  // MGR_TRAINER_FEATURES_FEATURES_H_
