// Track-level evaluation: the prediction for a track is the mean of the logits of its
// consecutive, non-overlapping windows of clip_samples, instead of the one window the
// paper scores (the mid-point window of the test split, a fixed random one for validation).
//
// Windows: floor(samples / clip_samples) full windows starting at 0, clip_samples,
// 2 clip_samples, ...; the tail shorter than a clip is dropped, because a zero-padded window
// would be mostly silence, which training never shows. A track shorter than one clip gives
// one window zero-padded at the end, exactly as the data loader pads it.
#ifndef MGR_TRAINER_TRAINING_TRACK_EVAL_H_
#define MGR_TRAINER_TRAINING_TRACK_EVAL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/data/clip_cache.h"
#include "trainer/training/data_loader.h"
#include "trainer/training/metrics.h"
#include "trainer/training/training.h"

namespace mgr {

// One track's audio (not owned) and its label.
struct TrackAudio {
  const float* samples = nullptr;
  int64_t num_samples = 0;
  int64_t label = 0;
};

// The audio of `examples` in the clip cache (valid while the cache lives). Throws
// TrainingError(kData) naming a track the cache does not hold.
std::vector<TrackAudio> CachedTracks(const ClipCache& cache, const std::vector<Example>& examples);

// How many windows a track of `num_samples` gives (at least 1).
int64_t TrackWindowCount(int64_t num_samples, int64_t clip_samples);

// The model on a batch of windows: clips (B, clip_samples) float32 on the CPU -> logits
// (B, classes), any device and floating dtype.
using WindowForward = std::function<torch::Tensor(const torch::Tensor& clips)>;

// Per-track mean logits (tracks, classes), float32 on the CPU. The windows of all tracks
// are run in order through `forward` in batches of up to batch_size windows (a batch may
// span tracks), so the caller's forward decides device, precision and input features.
torch::Tensor TrackMeanLogits(const std::vector<TrackAudio>& tracks, int64_t clip_samples,
                              int64_t batch_size, const WindowForward& forward);

// Loss and classification metrics of a confusion matrix.
SplitMetrics MetricsFromConfusion(const ConfusionMatrix& confusion, double loss);

// Metrics of per-track mean logits: loss = mean cross-entropy of the mean logits,
// predictions = their argmax.
SplitMetrics TrackMetrics(const torch::Tensor& mean_logits, const std::vector<TrackAudio>& tracks,
                          int classes);

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_TRACK_EVAL_H_
