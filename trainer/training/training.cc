#include "trainer/training/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include <torch/version.h>

#include "storage/base/files.h"
#include "storage/base/out_of_memory.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"
#include "trainer/protocol/worker_protocol.h"
#include "trainer/training/checkpoint.h"
#include "trainer/training/data_loader.h"
#include "trainer/training/device_memory.h"
#include "trainer/training/grad_scaler.h"
#include "trainer/training/metrics.h"
#include "trainer/training/torch_compat.h"
#include "trainer/training/track_eval.h"

namespace mgr {
namespace {

using Json = nlohmann::json;
using Kind = TrainingError::Kind;

// Stream tags for MixSeed, so that no two random streams share a seed.
constexpr uint64_t kTorchStream = 0x544f524348;  // dropout and torch's generator
constexpr uint64_t kSpecStream = 0x53504543;     // spectrogram augmentation

EpochMetrics EpochFromJson(const Json& j) {
  EpochMetrics m;
  m.epoch = j.at(kFieldEpoch).get<int>();
  m.max_epochs = j.at(kFieldMaxEpochs).get<int>();
  m.train_loss = j.at(kFieldTrainLoss).get<double>();
  m.train_accuracy = j.at(kFieldTrainAccuracy).get<double>();
  m.val_loss = j.at(kFieldValLoss).get<double>();
  m.val_accuracy = j.at(kFieldValAccuracy).get<double>();
  m.val_macro_f1 = j.at(kFieldValMacroF1).get<double>();
  // Absent from checkpoints written before track-level validation.
  m.val_track_loss = j.value(kFieldValTrackLoss, 0.0);
  m.val_track_accuracy = j.value(kFieldValTrackAccuracy, 0.0);
  m.val_track_macro_f1 = j.value(kFieldValTrackMacroF1, 0.0);
  m.seconds = j.at(kFieldSeconds).get<double>();
  // Absent from checkpoints written before these fields existed.
  m.samples_per_second = j.value(kFieldSamplesPerSecond, 0.0);
  m.peak_memory_bytes = j.value(kFieldPeakMemoryBytes, int64_t{0});
  return m;
}

// Where and how a trial computes.
struct Compute {
  torch::Device device = torch::kCPU;
  c10::ScalarType autocast = torch::kFloat32;  // kFloat32: no autocast
  HostTransfer transfer;
  int64_t batch_size = 0;  // for out-of-memory messages

  torch::Tensor ToDevice(const torch::Tensor& t) const {
    return t.to(device, t.scalar_type(), transfer.non_blocking);
  }
};

// What must match for a checkpoint to belong to this trial.
Json TrialIdentity(const TrainSpec& spec) {
  return {{"family", spec.family},
          {"hparams", spec.hparams},
          {"clip_samples", spec.clip_samples},
          {"sample_rate", spec.cache.sample_rate},
          {"seed", spec.seed}};
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(GenreNet& model, const HParams& hp) {
  if (hp.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        TrainableParameters(*model),
        torch::optim::SGDOptions(hp.lr).momentum(hp.momentum).weight_decay(hp.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(TrainableParameters(*model),
                                              torch::optim::AdamOptions(hp.lr)
                                                  .betas({hp.beta1, hp.beta2})
                                                  .eps(hp.eps)
                                                  .weight_decay(hp.weight_decay));
}

struct EvalResult {
  double loss = 0;
  ConfusionMatrix confusion;
  explicit EvalResult(int classes) : confusion(classes) {}
};

// Loss (mean over clips) and confusion matrix of `loader`'s epoch `epoch` in eval mode.
// Under the trial's autocast, like training; an out-of-memory error becomes kOom.
EvalResult Evaluate(GenreNet& model, DataLoader& loader, int epoch, const InputConfig& input,
                    const Compute& compute, int classes) {
  torch::NoGradGuard no_grad;
  model->eval();
  EvalResult r(classes);
  double loss_sum = 0;
  TranslateOutOfMemory(
      [&] {
        loader.StartEpoch(epoch);
        while (std::optional<Batch> batch = loader.Next()) {
          torch::Tensor clips = compute.ToDevice(batch->clips);
          torch::Tensor labels = compute.ToDevice(batch->labels);
          NetInputs in = PrepareInputs(input, clips);
          torch::Tensor logits, loss;
          {
            AutocastGuard autocast(compute.device, compute.autocast);
            logits = model->forward(in.audio, in.features);
            loss = torch::nn::functional::cross_entropy(
                logits.to(torch::kFloat32), labels,
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
          }
          loss_sum += loss.item<double>();
          r.confusion.Add(labels, logits.argmax(1));
        }
      },
      compute.device, "evaluation", compute.batch_size);
  const int64_t n = r.confusion.total();
  r.loss = n > 0 ? loss_sum / static_cast<double>(n) : 0;
  return r;
}

// Track-level metrics of `tracks` (track_eval.h) in eval mode, with the inputs and the
// autocast of Evaluate; an out-of-memory error becomes kOom.
SplitMetrics EvaluateTracks(GenreNet& model, const std::vector<TrackAudio>& tracks,
                            const InputConfig& input, const Compute& compute, int64_t clip_samples,
                            int classes) {
  torch::NoGradGuard no_grad;
  model->eval();
  torch::Tensor mean_logits;
  TranslateOutOfMemory(
      [&] {
        mean_logits = TrackMeanLogits(
            tracks, clip_samples, compute.batch_size, [&](const torch::Tensor& clips) {
              NetInputs in = PrepareInputs(input, compute.ToDevice(clips));
              AutocastGuard autocast(compute.device, compute.autocast);
              return model->forward(in.audio, in.features);
            });
      },
      compute.device, "evaluation", compute.batch_size);
  return TrackMetrics(mean_logits, tracks, classes);
}

// ---- The steps of a run, in the order Train (below) takes them.

// Data: the tracks of each split that the clip cache holds.
struct TrialData {
  std::unique_ptr<ClipCache> owned_cache;  // when the caller passed none
  const ClipCache* clips = nullptr;
  std::vector<std::string> classes;
  std::vector<Example> train, val, test;
};

// Reads the metadata and, unless `cache` is given, opens the clip cache. Throws kData.
TrialData LoadTrialData(const TrainSpec& spec, const ClipCache* cache) {
  Result<FmaIndex> index = LoadFmaIndex(spec.data);
  if (!index.ok()) throw TrainingError(Kind::kData, index.status().ToString());
  TrialData data;
  if (cache == nullptr) {
    Result<std::unique_ptr<ClipCache>> opened = ClipCache::Open(spec.data, spec.cache);
    if (!opened.ok()) {
      throw TrainingError(Kind::kData,
                          opened.status().ToString() + " (prepare it with `mgr-train prepare`)");
    }
    data.owned_cache = *std::move(opened);
    cache = data.owned_cache.get();
  }
  data.clips = cache;
  for (const Track& t : index->tracks) {
    if (!cache->Contains(t.id)) continue;
    std::vector<Example>& split = t.split == Split::kTraining     ? data.train
                                  : t.split == Split::kValidation ? data.val
                                                                  : data.test;
    split.push_back(Example{t.id, t.label});
  }
  if (data.train.empty() || data.val.empty()) {
    throw TrainingError(Kind::kData,
                        "the clip cache holds no training or no validation track "
                        "of the subset \"" +
                            spec.data.subset + "\"");
  }
  data.classes = index->classes;
  return data;
}

// Training batches: shuffled, random windows, waveform augmentation for the audio branch.
LoaderOptions TrainLoaderOptions(const TrainSpec& spec, const InputConfig& input) {
  LoaderOptions o;
  o.split = Split::kTraining;
  o.clip_samples = spec.clip_samples;
  o.batch_size = spec.params.batch_size;
  o.shuffle = true;
  o.seed = spec.seed;
  o.threads = std::max(1, spec.threads / 2);
  o.augment = input.audio;  // waveform augmentation feeds the audio branch
  // MixNet's feature branch is computed from the clean clip (BatchInputs).
  o.keep_clean = input.audio && input.features;
  o.augment_options = WaveformAugment(spec.params, spec.cache.sample_rate);
  return o;
}

// Validation and test batches: in order, the same windows every epoch, no augmentation.
LoaderOptions EvalLoaderOptions(const LoaderOptions& train, Split split) {
  LoaderOptions o = train;
  o.split = split;
  o.shuffle = false;
  o.fixed_windows = true;
  o.augment = false;
  return o;
}

// normalization "dataset": the statistics of the mid-point window of every training track,
// on the trial's device. The windows do not depend on the seed, so every trial on the same
// data and input settings gets the same statistics.
void ComputeDatasetStats(const TrialData& data, const LoaderOptions& train_options,
                         const Compute& compute, InputConfig* input) {
  LoaderOptions o = EvalLoaderOptions(train_options, Split::kTest);  // mid-point windows
  o.seed = 0;
  DataLoader loader(data.clips, data.train, o);
  InputConfig raw = *input;  // the features before any normalisation
  raw.normalization = "none";
  raw.feature_options.standardize = false;
  CoefficientMoments moments;
  torch::NoGradGuard no_grad;
  TranslateOutOfMemory(
      [&] {
        loader.StartEpoch(1);
        while (std::optional<Batch> batch = loader.Next()) {
          moments.Add(PrepareInputs(raw, compute.ToDevice(batch->clips)).features);
        }
      },
      compute.device, "dataset statistics", compute.batch_size);
  input->feature_mean = moments.Mean();
  input->feature_std = moments.Std();
}

// Model: the network, initialised from the spec's seed, on `device`, and its optimizer.
struct TrialModel {
  GenreNet net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};

TrialModel BuildTrialModel(const TrainSpec& spec, const InputConfig& input, int classes,
                           const torch::Device& device) {
  torch::manual_seed(spec.seed);
  Result<GenreNet> built = BuildModel(spec.family, spec.params, input, classes);
  if (!built.ok()) throw TrainingError(Kind::kSpec, built.status().message());
  TrialModel m;
  m.net = *built;
  if (spec.family == kFamilyMixNet) {
    Status init = LoadMixNetEncoders(m.net, spec.params, input);
    if (!init.ok()) throw TrainingError(Kind::kSpec, init.message());
  }
  m.net->to(device);
  m.optimizer = MakeOptimizer(m.net, spec.params);
  return m;
}

// What the epoch loop carries from one epoch to the next; a checkpoint saves it.
struct TrainState {
  int epoch_done = 0;
  int best_epoch = 0;  // the epoch with the lowest monitored loss (hp.monitor); 0 before any
  double best_monitored = std::numeric_limits<double>::infinity();
  double best_val_loss = std::numeric_limits<double>::infinity();  // val_loss at best_epoch
  double es_reference = std::numeric_limits<double>::infinity();   // early stopping's bar
  int wait = 0;  // epochs since the monitored loss last beat es_reference
  bool stopped_early = false;
  std::vector<EpochMetrics> history;
  CheckpointData checkpoint;  // the record last saved and the best epoch's weights
};

// Resume: creates the checkpoint directory and, when it holds this trial's checkpoint,
// restores the model, the optimizer and the state from it. A fresh state otherwise.
TrainState Resume(const TrainSpec& spec, TrialModel& m, const torch::Device& device,
                  GradScaler* scaler) {
  Status dirs = MakeDirectories(spec.checkpoint_dir);
  if (!dirs.ok()) throw TrainingError(Kind::kData, dirs.ToString());
  const std::string path = CheckpointPath(spec);
  TrainState state;
  Status loaded = LoadCheckpoint(path, *m.net, *m.optimizer, device, &state.checkpoint);
  if (loaded.code() == StatusCode::kNotFound) return state;
  if (!loaded.ok()) throw TrainingError(Kind::kData, loaded.ToString());
  const Json& r = state.checkpoint.record;
  if (r.value("trial", Json()) != TrialIdentity(spec)) {
    throw TrainingError(Kind::kSpec, path +
                                         " is the checkpoint of a different trial "
                                         "(family, hyperparameters, clip or seed differ): "
                                         "use another checkpoint_dir or delete it");
  }
  state.epoch_done = r.at("epoch").get<int>();
  state.best_epoch = r.at("best_epoch").get<int>();
  state.best_val_loss = r.at("best_val_loss").get<double>();
  // Checkpoints from before `monitor` followed val_loss.
  state.best_monitored = r.value("best_monitored", state.best_val_loss);
  state.es_reference = r.at("es_reference").get<double>();
  state.wait = r.at("es_wait").get<int>();
  state.stopped_early = r.at("stopped_early").get<bool>();
  for (const Json& m : r.at("history")) state.history.push_back(EpochFromJson(m));
  if (scaler != nullptr && r.contains("grad_scaler")) {
    Status restored = scaler->FromJson(r["grad_scaler"]);
    if (!restored.ok()) throw TrainingError(Kind::kData, path + ": " + restored.ToString());
  }
  return state;
}

// Everything the epoch loop works with (not owned).
struct EpochLoop {
  const TrainSpec& spec;
  const TrainCallbacks& callbacks;
  const std::vector<std::string>& classes;
  const InputConfig& input;
  const SpectrogramAugmentOptions& spec_augment;
  const Compute& compute;
  TrialModel& model;
  GradScaler* scaler;  // fp16 only
  DataLoader& train_loader;
  DataLoader& val_loader;
  const std::vector<TrackAudio>& val_tracks;  // for track-level validation

  bool ShouldStop() const { return callbacks.should_stop && callbacks.should_stop(); }
};

// Sums over one training pass.
struct TrainPass {
  double loss_sum = 0;  // per-clip losses
  int64_t correct = 0, seen = 0;
  double seconds = 0;  // wall time of the pass
};

// One pass over the training split; nullopt when should_stop interrupted it.
std::optional<TrainPass> TrainEpoch(const EpochLoop& loop, int epoch) {
  const TrainSpec& spec = loop.spec;
  const InputConfig& input = loop.input;
  GenreNet& model = loop.model.net;
  torch::manual_seed(MixSeed({spec.seed, kTorchStream, static_cast<uint64_t>(epoch)}));
  model->train();
  loop.train_loader.StartEpoch(epoch);
  TrainPass pass;
  const auto started = std::chrono::steady_clock::now();
  const int64_t batches = loop.train_loader.NumBatches();
  while (std::optional<Batch> batch = loop.train_loader.Next()) {
    if (loop.ShouldStop()) return std::nullopt;
    torch::Tensor x = loop.compute.ToDevice(batch->clips);
    torch::Tensor labels = loop.compute.ToDevice(batch->labels);
    std::mt19937_64 rng(MixSeed({spec.seed, kSpecStream, static_cast<uint64_t>(epoch),
                                 static_cast<uint64_t>(batch->index)}));
    // Features in float32; autocast covers the network and the loss (backward runs outside,
    // as torch.autocast recommends). The loss takes float32 logits whatever the device's
    // autocast op lists say: a per-clip loss sum in bf16 would keep 3 significant digits.
    const torch::Tensor clean =
        batch->clean.defined() ? loop.compute.ToDevice(batch->clean) : torch::Tensor();
    NetInputs in =
        BatchInputs(input, x, clean, input.features ? &loop.spec_augment : nullptr, &rng);
    torch::Tensor logits, loss;
    {
      AutocastGuard autocast(loop.compute.device, loop.compute.autocast);
      logits = model->forward(in.audio, in.features);
      loss = torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), labels);
    }
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      throw TrainingError(Kind::kNan, "training loss became " + std::to_string(value) +
                                          " at epoch " + std::to_string(epoch) + ", batch " +
                                          std::to_string(batch->index + 1) + ": lower lr (" +
                                          std::to_string(spec.params.lr) + ")");
    }
    loop.model.optimizer->zero_grad();
    if (loop.scaler != nullptr) {
      loop.scaler->Scale(loss).backward();
      loop.scaler->Step(*loop.model.optimizer);  // skipped when a gradient overflowed
      loop.scaler->Update();
    } else {
      loss.backward();
      loop.model.optimizer->step();
    }
    const int64_t n = labels.size(0);
    pass.loss_sum += value * static_cast<double>(n);
    pass.correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    pass.seen += n;
    if (loop.callbacks.on_progress) loop.callbacks.on_progress(epoch, batch->index + 1, batches);
  }
  pass.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return pass;
}

// Best weights: the lowest monitored loss (hp.monitor: val_loss or val_track_loss).
// Early stopping: Keras/Lightning's rule, an improvement is monitored < reference - min_delta;
// stop after `patience` epochs without one.
void TrackBestAndEarlyStopping(const HParams& hp, const EpochMetrics& m, GenreNet& model,
                               TrainState* state) {
  const double monitored = hp.monitor == "val_track_loss" ? m.val_track_loss : m.val_loss;
  const int epoch = m.epoch;
  if (!std::isfinite(monitored)) {
    throw TrainingError(Kind::kNan, hp.monitor + " is " + std::to_string(monitored) +
                                        " after epoch " + std::to_string(epoch));
  }
  if (monitored < state->best_monitored) {
    state->best_monitored = monitored;
    state->best_val_loss = m.val_loss;
    state->best_epoch = epoch;
    state->checkpoint.best_state = SnapshotState(*model);
  }
  if (monitored < state->es_reference - hp.min_delta) {
    state->es_reference = monitored;
    state->wait = 0;
  } else if (++state->wait >= hp.patience) {
    state->stopped_early = epoch < hp.max_epochs;
  }
}

// Checkpoint: the state after `state->epoch_done` epochs, with the model and optimizer.
void SaveTrialCheckpoint(const EpochLoop& loop, TrainState* state) {
  Json history = Json::array();
  for (const EpochMetrics& h : state->history) history.push_back(EpochMetricsToJson(h));
  state->checkpoint.record = {{"trial", TrialIdentity(loop.spec)},
                              {"classes", loop.classes},
                              {"epoch", state->epoch_done},
                              {"best_epoch", state->best_epoch},
                              {"best_val_loss", state->best_val_loss},
                              {"best_monitored", state->best_monitored},
                              {"es_reference", state->es_reference},
                              {"es_wait", state->wait},
                              {"stopped_early", state->stopped_early},
                              {"history", history}};
  if (loop.scaler != nullptr) state->checkpoint.record["grad_scaler"] = loop.scaler->ToJson();
  if (loop.input.NeedsDatasetStats()) {
    state->checkpoint.record["feature_stats"] = FeatureStatsToJson(loop.input);
  }
  Status saved = SaveCheckpoint(CheckpointPath(loop.spec), *loop.model.net, *loop.model.optimizer,
                                state->checkpoint);
  if (!saved.ok()) throw TrainingError(Kind::kData, saved.ToString());
}

// The epoch loop: epochs after state->epoch_done up to max_epochs or early stopping, each
// trained, validated and checkpointed. Returns true when should_stop ended it. An
// out-of-memory error in training or evaluation becomes TrainingError(kOom).
bool RunEpochs(const EpochLoop& loop, TrainState* state) {
  const HParams& hp = loop.spec.params;
  const int classes = static_cast<int>(loop.classes.size());
  const torch::Device& device = loop.compute.device;
  for (int epoch = state->epoch_done + 1; epoch <= hp.max_epochs && !state->stopped_early;
       ++epoch) {
    if (loop.ShouldStop()) return true;
    const auto started = std::chrono::steady_clock::now();
    ResetPeakMemory(device);
    std::optional<TrainPass> pass;
    TranslateOutOfMemory([&] { pass = TrainEpoch(loop, epoch); }, device, "training",
                         hp.batch_size);
    if (!pass) return true;

    EvalResult v =
        Evaluate(loop.model.net, loop.val_loader, epoch, loop.input, loop.compute, classes);
    if (!std::isfinite(v.loss)) {
      throw TrainingError(Kind::kNan, "validation loss is " + std::to_string(v.loss) +
                                          " after epoch " + std::to_string(epoch));
    }
    EpochMetrics m;
    m.epoch = epoch;
    m.max_epochs = hp.max_epochs;
    m.train_loss = pass->seen > 0 ? pass->loss_sum / static_cast<double>(pass->seen) : 0;
    m.train_accuracy =
        pass->seen > 0 ? static_cast<double>(pass->correct) / static_cast<double>(pass->seen) : 0;
    m.val_loss = v.loss;
    m.val_accuracy = v.confusion.Accuracy();
    m.val_macro_f1 = v.confusion.MacroF1();
    const SplitMetrics vt = EvaluateTracks(loop.model.net, loop.val_tracks, loop.input,
                                           loop.compute, loop.spec.clip_samples, classes);
    m.val_track_loss = vt.loss;
    m.val_track_accuracy = vt.accuracy;
    m.val_track_macro_f1 = vt.macro_f1;
    m.samples_per_second = pass->seconds > 0 ? static_cast<double>(pass->seen) / pass->seconds : 0;
    m.peak_memory_bytes = PeakMemoryBytes(device);
    TrackBestAndEarlyStopping(hp, m, loop.model.net, state);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    state->history.push_back(m);
    state->epoch_done = epoch;

    SaveTrialCheckpoint(loop, state);
    if (loop.callbacks.on_epoch) loop.callbacks.on_epoch(m);
  }
  return false;
}

// The test split with the best epoch's weights: mid-point windows, and whole tracks.
TestMetrics EvaluateTest(const EpochLoop& loop, const TrialData& data,
                         const LoaderOptions& test_options, const TrainState& state) {
  if (data.test.empty()) {
    throw TrainingError(Kind::kData, "evaluate_test: no test track in the cache");
  }
  RestoreState(*loop.model.net, state.checkpoint.best_state);
  DataLoader test_loader(data.clips, data.test, test_options);
  EvalResult t = Evaluate(loop.model.net, test_loader, 0, loop.input, loop.compute,
                          static_cast<int>(data.classes.size()));
  TestMetrics tm;
  static_cast<SplitMetrics&>(tm) = MetricsFromConfusion(t.confusion, t.loss);
  tm.classes = data.classes;
  tm.track =
      EvaluateTracks(loop.model.net, CachedTracks(*data.clips, data.test), loop.input, loop.compute,
                     loop.spec.clip_samples, static_cast<int>(data.classes.size()));
  return tm;
}

// RunTraining and RunTrainingOnCache: `cache` may be null (opened here).
TrainOutcome Train(const TrainSpec& spec, const TrainCallbacks& callbacks, const ClipCache* cache) {
  Compute compute;
  compute.device = ResolveDevice(spec.device);
  const torch::Device& device = compute.device;
  CheckPrecision(spec.params.precision, device);
  compute.autocast = PrecisionDtype(spec.params.precision);
  compute.transfer = HostTransferFor(device);
  compute.batch_size = spec.params.batch_size;
  torch::set_num_threads(spec.threads);
  // Fixed input shapes: cuDNN's autotuner picks the fastest algorithms once per shape.
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);

  const TrialData data = LoadTrialData(spec, cache);
  InputConfig input =
      MakeInputConfig(spec.family, spec.params, spec.clip_samples, spec.cache.sample_rate);
  LoaderOptions train_options = TrainLoaderOptions(spec, input);
  train_options.pin_memory = compute.transfer.pin_memory;
  if (input.NeedsDatasetStats()) ComputeDatasetStats(data, train_options, compute, &input);
  DataLoader train_loader(data.clips, data.train, train_options);
  DataLoader val_loader(data.clips, data.val, EvalLoaderOptions(train_options, Split::kValidation));

  TrialModel model = BuildTrialModel(spec, input, static_cast<int>(data.classes.size()), device);
  const SpectrogramAugmentOptions spec_augment = SpectrogramAugment(spec.params);

  // fp16's small range needs loss scaling; bf16 has float32's.
  std::optional<GradScaler> scaler;
  if (compute.autocast == torch::kFloat16) scaler.emplace();
  GradScaler* scaler_ptr = scaler ? &*scaler : nullptr;

  TrainState state = Resume(spec, model, device, scaler_ptr);
  if (callbacks.on_start) {
    TrainStart start;
    start.device = device.str();
    start.threads = spec.threads;
    start.resumed_from_epoch = state.epoch_done;
    start.max_epochs = spec.params.max_epochs;
    start.train_clips = train_loader.size();
    start.val_clips = val_loader.size();
    callbacks.on_start(start);
  }

  const std::vector<TrackAudio> val_tracks = CachedTracks(*data.clips, data.val);
  const EpochLoop loop{spec,  callbacks,  data.classes, input,      spec_augment, compute,
                       model, scaler_ptr, train_loader, val_loader, val_tracks};
  TrainOutcome outcome;
  outcome.stopped = RunEpochs(loop, &state);
  outcome.epochs_run = state.epoch_done;
  outcome.best_epoch = state.best_epoch;
  outcome.best_val_loss = state.best_epoch > 0 ? state.best_val_loss : 0;
  outcome.best_monitored = state.best_epoch > 0 ? state.best_monitored : 0;
  outcome.stopped_early = state.stopped_early;
  outcome.history = state.history;
  if (outcome.stopped || !spec.evaluate_test || state.best_epoch == 0) return outcome;
  outcome.test = EvaluateTest(loop, data, EvalLoaderOptions(train_options, Split::kTest), state);
  return outcome;
}

}  // namespace

nlohmann::json EpochMetricsToJson(const EpochMetrics& m) {
  return {{kFieldEpoch, m.epoch},
          {kFieldMaxEpochs, m.max_epochs},
          {kFieldTrainLoss, m.train_loss},
          {kFieldTrainAccuracy, m.train_accuracy},
          {kFieldValLoss, m.val_loss},
          {kFieldValAccuracy, m.val_accuracy},
          {kFieldValMacroF1, m.val_macro_f1},
          {kFieldValTrackLoss, m.val_track_loss},
          {kFieldValTrackAccuracy, m.val_track_accuracy},
          {kFieldValTrackMacroF1, m.val_track_macro_f1},
          {kFieldSeconds, m.seconds},
          {kFieldSamplesPerSecond, m.samples_per_second},
          {kFieldPeakMemoryBytes, m.peak_memory_bytes}};
}

c10::ScalarType PrecisionDtype(const std::string& precision) {
  if (precision == "fp32") return torch::kFloat32;
  if (precision == "bf16") return torch::kBFloat16;
  if (precision == "fp16") return torch::kFloat16;
  throw TrainingError(
      Kind::kSpec, "hparams.precision: must be one of fp32|bf16|fp16, got \"" + precision + "\"");
}

void CheckPrecision(const std::string& precision, const torch::Device& device) {
  const c10::ScalarType dtype = PrecisionDtype(precision);
  if (dtype == torch::kFloat32 || AutocastSupported(device, dtype)) return;
  throw TrainingError(Kind::kSpec, "hparams.precision: \"" + precision + "\" is not supported on " +
                                       device.str() + " by this libtorch (" + TORCH_VERSION +
                                       "): use \"fp32\"" +
                                       (dtype == torch::kFloat16 ? " or \"bf16\"" : ""));
}

void TranslateOutOfMemory(const std::function<void()>& body, const torch::Device& device,
                          const std::string& phase, int64_t batch_size) {
  try {
    body();
  } catch (const c10::Error& e) {
    if (!IsOutOfMemoryMessage(e.what_without_backtrace())) throw;
    throw TrainingError(Kind::kOom, "out of memory on " + device.str() + " in " + phase +
                                        " with batch_size " + std::to_string(batch_size) +
                                        ": lower batch_size (" + std::to_string(batch_size) +
                                        ") or the network's width");
  }
}

torch::Device ResolveDevice(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (device == "auto") return cuda ? torch::Device("cuda:0") : torch::Device(torch::kCPU);
  if (!cuda) {
    throw TrainingError(Kind::kSpec, "device \"" + device +
                                         "\": this libtorch has no CUDA or no GPU is visible "
                                         "(use \"auto\" or \"cpu\")");
  }
  return device == "cuda" ? torch::Device("cuda:0") : torch::Device(device);
}

std::string CheckpointPath(const TrainSpec& spec) { return spec.checkpoint_dir + "/checkpoint.pt"; }

TrainOutcome RunTraining(const TrainSpec& spec, const TrainCallbacks& callbacks) {
  return Train(spec, callbacks, nullptr);
}

TrainOutcome RunTrainingOnCache(const TrainSpec& spec, const ClipCache& cache,
                                const TrainCallbacks& callbacks) {
  return Train(spec, callbacks, &cache);
}

Result<LoadedModel> LoadBestModel(const TrainSpec& spec) {
  const std::string path = CheckpointPath(spec);
  nlohmann::json record;
  LoadedModel m;
  try {
    m.device = ResolveDevice(spec.device);
  } catch (const TrainingError& e) {
    return Status::InvalidArgument(e.what());
  }
  m.input = MakeInputConfig(spec.family, spec.params, spec.clip_samples, spec.cache.sample_rate);
  // The class count is in the checkpoint's record; read it with a throwaway model first.
  {
    torch::serialize::InputArchive archive;
    try {
      archive.load_from(path, torch::Device(torch::kCPU));
      c10::IValue text;
      if (!archive.try_read("record", text) || !text.isString()) {
        return Status::Corruption(path + ": not an mgr-tune checkpoint");
      }
      record = nlohmann::json::parse(text.toStringRef(), nullptr, false);
    } catch (const c10::Error& e) {
      if (!PathExists(path)) return Status::NotFound(path + ": no checkpoint");
      return Status::Corruption(path + ": " + e.what_without_backtrace());
    }
  }
  if (record.is_discarded() || !record.contains("classes")) {
    return Status::Corruption(path + ": checkpoint record without classes");
  }
  if (record.value("trial", Json()) != TrialIdentity(spec)) {
    return Status::FailedPrecondition(path + " is the checkpoint of a different trial");
  }
  m.classes = record["classes"].get<std::vector<std::string>>();
  if (m.input.NeedsDatasetStats()) {
    if (!record.contains("feature_stats")) {
      return Status::Corruption(path + ": no feature_stats for normalization \"dataset\"");
    }
    MGR_RETURN_IF_ERROR(SetFeatureStats(record["feature_stats"], &m.input).WithContext(path));
  }
  MGR_ASSIGN_OR_RETURN(m.model, BuildModel(spec.family, spec.params, m.input,
                                           static_cast<int64_t>(m.classes.size())));
  MGR_RETURN_IF_ERROR(LoadBestWeights(path, *m.model, nullptr));
  m.model->to(m.device);
  m.model->eval();
  m.best_epoch = record.value("best_epoch", 0);
  m.best_val_loss = record.value("best_val_loss", 0.0);
  return m;
}

torch::Tensor Forward(LoadedModel& m, const torch::Tensor& clips) {
  torch::NoGradGuard no_grad;
  m.model->eval();
  NetInputs in = PrepareInputs(m.input, clips.to(m.device, torch::kFloat32));
  return m.model->forward(in.audio, in.features);
}

}  // namespace mgr
