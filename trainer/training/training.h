// One trial: train a network with early stopping, checkpoint after every epoch, resume
// exactly, evaluate the best-validation weights on the test split.
//
// Precision (hparams.precision): forward + loss of training and evaluation run under
// autocast to bf16 or fp16 on the trial's device (fp16 with a GradScaler); weights stay
// float32. On CUDA, batches are pinned by the loader's threads and copied without
// blocking, and cuDNN autotunes its algorithms.
//
// Determinism: on the CPU a run is a pure function of (spec, seed, thread count): model
// init from torch::manual_seed(seed); each epoch reseeds torch (dropout) and the loader
// (order, windows, augmentation) from (seed, epoch). A run stopped after any epoch and
// resumed from its checkpoint ends with exactly the metrics and weights of an
// uninterrupted run.
#ifndef MGR_TRAINER_TRAINING_TRAINING_H_
#define MGR_TRAINER_TRAINING_TRAINING_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "storage/base/status.h"
#include "trainer/data/clip_cache.h"
#include "trainer/models/model_factory.h"
#include "trainer/models/training_error.h"
#include "trainer/training/train_spec.h"

namespace mgr {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  int max_epochs = 0;
  double train_loss = 0, train_accuracy = 0;  // mean over the epoch's training batches
  double val_loss = 0, val_accuracy = 0, val_macro_f1 = 0;
  // The same over whole tracks (track_eval.h: mean logits of all windows of a track).
  double val_track_loss = 0, val_track_accuracy = 0, val_track_macro_f1 = 0;
  double seconds = 0;             // wall time of the epoch (training + validation + checkpoint)
  double samples_per_second = 0;  // training clips per second of the training pass
  // CUDA: peak bytes allocated on the device during the epoch; CPU: the process's peak
  // RSS so far (device_memory.h).
  int64_t peak_memory_bytes = 0;
};

// The fields above by name: the worker's "epoch" event and the checkpoint's history.
nlohmann::json EpochMetricsToJson(const EpochMetrics& m);

// Loss and classification metrics of one evaluation of a split.
struct SplitMetrics {
  double loss = 0, accuracy = 0, macro_f1 = 0;
  std::vector<double> precision, recall;        // per class
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

// The test split: the paper's figures (one mid-point window per track) and, in `track`,
// the same with each track's prediction from all its windows (track_eval.h).
struct TestMetrics : SplitMetrics {
  std::vector<std::string> classes;
  std::optional<SplitMetrics> track;
};

struct TrainStart {
  std::string device;  // "cpu" or "cuda:0"
  int threads = 1;
  int resumed_from_epoch = 0;  // 0 for a fresh start
  int max_epochs = 0;
  int64_t train_clips = 0, val_clips = 0;
};

// Callbacks run on the calling thread. Any may be empty.
struct TrainCallbacks {
  std::function<void(const TrainStart&)> on_start;
  // After every training batch (batch is 1-based); throttle in the callback.
  std::function<void(int epoch, int64_t batch, int64_t batches)> on_progress;
  std::function<void(const EpochMetrics&)> on_epoch;  // after the epoch's checkpoint is written
  std::function<bool()> should_stop;                  // polled between batches; true = stop now
};

struct TrainOutcome {
  bool stopped = false;  // should_stop returned true; the last checkpoint is kept
  int epochs_run = 0;    // completed epochs, including those before a resume
  int best_epoch = 0;    // epoch with the lowest monitored loss (hparams `monitor`; its weights
                         // are "best"); best_val_loss is that epoch's val_loss
  double best_val_loss = 0;
  double best_monitored = 0;   // that epoch's monitored loss (= best_val_loss for val_loss)
  bool stopped_early = false;  // early stopping ended the run before max_epochs
  std::optional<TestMetrics> test;
  std::vector<EpochMetrics> history;  // every completed epoch, including resumed ones
};

// "cpu", or "cuda:0" when device is "auto"/"cuda" and libtorch sees a GPU. Throws
// TrainingError(kSpec) when CUDA is requested but unavailable.
torch::Device ResolveDevice(const std::string& device);

// The autocast dtype of hparams.precision: kFloat ("fp32", no autocast), kBFloat16, kHalf.
// Throws TrainingError(kSpec) for another name.
c10::ScalarType PrecisionDtype(const std::string& precision);

// Throws TrainingError(kSpec) naming hparams.precision and the device when autocast to
// `precision` does not work on `device` (AutocastSupported).
void CheckPrecision(const std::string& precision, const torch::Device& device);

// Runs `body`; turns a libtorch out-of-memory error into TrainingError(kOom) naming the
// device, `phase` ("training", "evaluation") and batch_size. Other errors pass through.
void TranslateOutOfMemory(const std::function<void()>& body, const torch::Device& device,
                          const std::string& phase, int64_t batch_size);

// <checkpoint_dir>/checkpoint.pt
std::string CheckpointPath(const TrainSpec& spec);

// Runs (or resumes from spec.checkpoint_dir) one trial. Throws TrainingError (spec, data,
// oom, nan) or c10::Error (internal).
TrainOutcome RunTraining(const TrainSpec& spec, const TrainCallbacks& callbacks);
// The same on a clip cache the caller has already opened for spec.data and spec.cache
// (e.g. after preparing it), instead of opening it again.
TrainOutcome RunTrainingOnCache(const TrainSpec& spec, const ClipCache& cache,
                                const TrainCallbacks& callbacks);

// For export and predict: the model with its best-validation weights (eval mode, on the
// spec's device), and its input preparation.
struct LoadedModel {
  GenreNet model{nullptr};
  InputConfig input;
  std::vector<std::string> classes;
  torch::Device device = torch::kCPU;
  int best_epoch = 0;
  double best_val_loss = 0;
};
Result<LoadedModel> LoadBestModel(const TrainSpec& spec);

// clips (B, N) raw audio, N = clip_samples, any device -> logits (B, classes) on the
// model's device, as in evaluation (features, standardisation, no augmentation) but in
// float32 whatever hparams.precision.
torch::Tensor Forward(LoadedModel& m, const torch::Tensor& clips);

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_TRAINING_H_
