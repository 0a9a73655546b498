#include "trainer/training/track_eval.h"

#include <algorithm>
#include <cstring>

#include "trainer/models/training_error.h"

namespace mgr {

std::vector<TrackAudio> CachedTracks(const ClipCache& cache, const std::vector<Example>& examples) {
  std::vector<TrackAudio> tracks;
  tracks.reserve(examples.size());
  for (const Example& e : examples) {
    TrackAudio t;
    t.samples = cache.Samples(e.track_id, &t.num_samples);
    if (t.samples == nullptr) {
      throw TrainingError(TrainingError::Kind::kData,
                          "track " + std::to_string(e.track_id) +
                              " is not in the clip cache: run `mgr-train prepare` again");
    }
    t.label = e.label;
    tracks.push_back(t);
  }
  return tracks;
}

int64_t TrackWindowCount(int64_t num_samples, int64_t clip_samples) {
  return std::max<int64_t>(1, num_samples / clip_samples);
}

torch::Tensor TrackMeanLogits(const std::vector<TrackAudio>& tracks, int64_t clip_samples,
                              int64_t batch_size, const WindowForward& forward) {
  batch_size = std::max<int64_t>(1, batch_size);
  const int64_t n_tracks = static_cast<int64_t>(tracks.size());
  torch::Tensor sums;          // (tracks, classes), allocated at the first batch
  std::vector<int64_t> owner;  // the track of each window of the batch being filled
  torch::Tensor batch = torch::empty({batch_size, clip_samples}, torch::kFloat32);
  auto run = [&] {
    if (owner.empty()) return;
    const int64_t b = static_cast<int64_t>(owner.size());
    torch::Tensor logits = forward(batch.narrow(0, 0, b)).to(torch::kCPU, torch::kFloat32);
    if (!sums.defined()) sums = torch::zeros({n_tracks, logits.size(1)}, torch::kFloat32);
    sums.index_add_(0, torch::tensor(owner, torch::kInt64), logits);
    owner.clear();
  };
  std::vector<int64_t> counts(tracks.size());
  for (int64_t t = 0; t < n_tracks; ++t) {
    const TrackAudio& track = tracks[t];
    const int64_t windows = TrackWindowCount(track.num_samples, clip_samples);
    counts[t] = windows;
    for (int64_t w = 0; w < windows; ++w) {
      float* out = batch.data_ptr<float>() + static_cast<int64_t>(owner.size()) * clip_samples;
      const int64_t start = w * clip_samples;
      const int64_t count = std::max<int64_t>(0, std::min(clip_samples, track.num_samples - start));
      std::memcpy(out, track.samples + start, sizeof(float) * static_cast<size_t>(count));
      std::fill(out + count, out + clip_samples, 0.0f);  // a track shorter than a clip
      owner.push_back(t);
      if (static_cast<int64_t>(owner.size()) == batch_size) run();
    }
  }
  run();
  if (!sums.defined()) return torch::zeros({0, 0}, torch::kFloat32);
  return sums / torch::tensor(counts, torch::kFloat32).unsqueeze(1);
}

SplitMetrics MetricsFromConfusion(const ConfusionMatrix& confusion, double loss) {
  SplitMetrics m;
  m.loss = loss;
  m.accuracy = confusion.Accuracy();
  m.macro_f1 = confusion.MacroF1();
  m.precision = confusion.Precision();
  m.recall = confusion.Recall();
  m.confusion = confusion.counts();
  return m;
}

SplitMetrics TrackMetrics(const torch::Tensor& mean_logits, const std::vector<TrackAudio>& tracks,
                          int classes) {
  ConfusionMatrix confusion(classes);
  if (tracks.empty()) return MetricsFromConfusion(confusion, 0);
  std::vector<int64_t> label_values;
  label_values.reserve(tracks.size());
  for (const TrackAudio& t : tracks) label_values.push_back(t.label);
  const torch::Tensor labels = torch::tensor(label_values, torch::kInt64);
  const double loss = torch::nn::functional::cross_entropy(mean_logits, labels).item<double>();
  confusion.Add(labels, mean_logits.argmax(1));
  return MetricsFromConfusion(confusion, loss);
}

}  // namespace mgr
