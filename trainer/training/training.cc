#include "trainer/training/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include "storage/base/files.h"
#include "storage/base/out_of_memory.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"
#include "trainer/training/checkpoint.h"
#include "trainer/training/data_loader.h"
#include "trainer/training/metrics.h"

namespace mgr {
namespace {

using Json = nlohmann::json;
using Kind = TrainingError::Kind;

// Stream tags for MixSeed, so that no two random streams share a seed.
constexpr uint64_t kTorchStream = 0x544f524348;  // dropout and torch's generator
constexpr uint64_t kSpecStream = 0x53504543;     // spectrogram augmentation

EpochMetrics EpochFromJson(const Json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int>();
  m.max_epochs = j.at("max_epochs").get<int>();
  m.train_loss = j.at("train_loss").get<double>();
  m.train_accuracy = j.at("train_accuracy").get<double>();
  m.val_loss = j.at("val_loss").get<double>();
  m.val_accuracy = j.at("val_accuracy").get<double>();
  m.val_macro_f1 = j.at("val_macro_f1").get<double>();
  m.seconds = j.at("seconds").get<double>();
  return m;
}

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
        model->parameters(),
        torch::optim::SGDOptions(hp.lr).momentum(hp.momentum).weight_decay(hp.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(model->parameters(),
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
EvalResult Evaluate(GenreNet& model, DataLoader& loader, int epoch, const InputConfig& input,
                    const torch::Device& device, int classes) {
  torch::NoGradGuard no_grad;
  model->eval();
  EvalResult r(classes);
  double loss_sum = 0;
  loader.StartEpoch(epoch);
  while (std::optional<Batch> batch = loader.Next()) {
    torch::Tensor clips = batch->clips.to(device);
    torch::Tensor labels = batch->labels.to(device);
    NetInputs in = PrepareInputs(input, clips);
    torch::Tensor logits = model->forward(in.audio, in.features);
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    r.confusion.Add(labels, logits.argmax(1));
  }
  const int64_t n = r.confusion.total();
  r.loss = n > 0 ? loss_sum / static_cast<double>(n) : 0;
  return r;
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
  m.net->to(device);
  m.optimizer = MakeOptimizer(m.net, spec.params);
  return m;
}

// What the epoch loop carries from one epoch to the next; a checkpoint saves it.
struct TrainState {
  int epoch_done = 0;
  int best_epoch = 0;  // the epoch with the lowest validation loss; 0 before any
  double best_val_loss = std::numeric_limits<double>::infinity();
  double es_reference = std::numeric_limits<double>::infinity();  // early stopping's bar
  int wait = 0;  // epochs since val_loss last beat es_reference
  bool stopped_early = false;
  std::vector<EpochMetrics> history;
  CheckpointData checkpoint;  // the record last saved and the best epoch's weights
};

// Resume: creates the checkpoint directory and, when it holds this trial's checkpoint,
// restores the model, the optimizer and the state from it. A fresh state otherwise.
TrainState Resume(const TrainSpec& spec, TrialModel& m, const torch::Device& device) {
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
  state.es_reference = r.at("es_reference").get<double>();
  state.wait = r.at("es_wait").get<int>();
  state.stopped_early = r.at("stopped_early").get<bool>();
  for (const Json& m : r.at("history")) state.history.push_back(EpochFromJson(m));
  return state;
}

// Everything the epoch loop works with (not owned).
struct EpochLoop {
  const TrainSpec& spec;
  const TrainCallbacks& callbacks;
  const std::vector<std::string>& classes;
  const InputConfig& input;
  const SpectrogramAugmentOptions& spec_augment;
  const torch::Device& device;
  TrialModel& model;
  DataLoader& train_loader;
  DataLoader& val_loader;

  bool ShouldStop() const { return callbacks.should_stop && callbacks.should_stop(); }
};

// Sums over one training pass.
struct TrainPass {
  double loss_sum = 0;  // per-clip losses
  int64_t correct = 0, seen = 0;
};

// One pass over the training split; nullopt when should_stop interrupted it.
std::optional<TrainPass> TrainEpoch(const EpochLoop& loop, int epoch) {
  const TrainSpec& spec = loop.spec;
  const InputConfig& input = loop.input;
  GenreNet& model = loop.model.net;
  torch::manual_seed(MixSeed(spec.seed, kTorchStream, static_cast<uint64_t>(epoch)));
  model->train();
  loop.train_loader.StartEpoch(epoch);
  TrainPass pass;
  const int64_t batches = loop.train_loader.NumBatches();
  while (std::optional<Batch> batch = loop.train_loader.Next()) {
    if (loop.ShouldStop()) return std::nullopt;
    torch::Tensor x = batch->clips.to(loop.device);
    torch::Tensor labels = batch->labels.to(loop.device);
    std::mt19937_64 rng(MixSeed(spec.seed, kSpecStream, static_cast<uint64_t>(epoch),
                                static_cast<uint64_t>(batch->index)));
    NetInputs in = PrepareInputs(input, x, input.features ? &loop.spec_augment : nullptr, &rng);
    torch::Tensor logits = model->forward(in.audio, in.features);
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      throw TrainingError(Kind::kNan, "training loss became " + std::to_string(value) +
                                          " at epoch " + std::to_string(epoch) + ", batch " +
                                          std::to_string(batch->index + 1) + ": lower lr (" +
                                          std::to_string(spec.params.lr) + ")");
    }
    loop.model.optimizer->zero_grad();
    loss.backward();
    loop.model.optimizer->step();
    const int64_t n = labels.size(0);
    pass.loss_sum += value * static_cast<double>(n);
    pass.correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    pass.seen += n;
    if (loop.callbacks.on_progress) loop.callbacks.on_progress(epoch, batch->index + 1, batches);
  }
  return pass;
}

// Best weights: the lowest validation loss. Early stopping: Keras/Lightning's rule, an
// improvement is val_loss < reference - min_delta; stop after `patience` epochs without one.
void TrackBestAndEarlyStopping(const HParams& hp, int epoch, double val_loss, GenreNet& model,
                               TrainState* state) {
  if (val_loss < state->best_val_loss) {
    state->best_val_loss = val_loss;
    state->best_epoch = epoch;
    state->checkpoint.best_state = SnapshotState(*model);
  }
  if (val_loss < state->es_reference - hp.min_delta) {
    state->es_reference = val_loss;
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
                              {"es_reference", state->es_reference},
                              {"es_wait", state->wait},
                              {"stopped_early", state->stopped_early},
                              {"history", history}};
  Status saved = SaveCheckpoint(CheckpointPath(loop.spec), *loop.model.net, *loop.model.optimizer,
                                state->checkpoint);
  if (!saved.ok()) throw TrainingError(Kind::kData, saved.ToString());
}

// The epoch loop: epochs after state->epoch_done up to max_epochs or early stopping, each
// trained, validated and checkpointed. Returns true when should_stop ended it. Turns a
// libtorch out-of-memory error into TrainingError(kOom).
bool RunEpochs(const EpochLoop& loop, TrainState* state) {
  const HParams& hp = loop.spec.params;
  const int classes = static_cast<int>(loop.classes.size());
  try {
    for (int epoch = state->epoch_done + 1; epoch <= hp.max_epochs && !state->stopped_early;
         ++epoch) {
      if (loop.ShouldStop()) return true;
      const auto started = std::chrono::steady_clock::now();
      const std::optional<TrainPass> pass = TrainEpoch(loop, epoch);
      if (!pass) return true;

      EvalResult v =
          Evaluate(loop.model.net, loop.val_loader, epoch, loop.input, loop.device, classes);
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
      TrackBestAndEarlyStopping(hp, epoch, v.loss, loop.model.net, state);
      m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      state->history.push_back(m);
      state->epoch_done = epoch;

      SaveTrialCheckpoint(loop, state);
      if (loop.callbacks.on_epoch) loop.callbacks.on_epoch(m);
    }
  } catch (const c10::Error& e) {
    if (IsOutOfMemoryMessage(e.what_without_backtrace())) {
      throw TrainingError(Kind::kOom, std::string("out of memory on ") + loop.device.str() +
                                          ": lower batch_size (" + std::to_string(hp.batch_size) +
                                          ") or the network's width");
    }
    throw;
  }
  return false;
}

// The test split with the best epoch's weights.
TestMetrics EvaluateTest(const EpochLoop& loop, const TrialData& data,
                         const LoaderOptions& test_options, const TrainState& state) {
  if (data.test.empty()) {
    throw TrainingError(Kind::kData, "evaluate_test: no test track in the cache");
  }
  RestoreState(*loop.model.net, state.checkpoint.best_state);
  DataLoader test_loader(data.clips, data.test, test_options);
  EvalResult t = Evaluate(loop.model.net, test_loader, 0, loop.input, loop.device,
                          static_cast<int>(data.classes.size()));
  TestMetrics tm;
  tm.loss = t.loss;
  tm.accuracy = t.confusion.Accuracy();
  tm.macro_f1 = t.confusion.MacroF1();
  tm.precision = t.confusion.Precision();
  tm.recall = t.confusion.Recall();
  tm.confusion = t.confusion.counts();
  tm.classes = data.classes;
  return tm;
}

// RunTraining and RunTrainingOnCache: `cache` may be null (opened here).
TrainOutcome Train(const TrainSpec& spec, const TrainCallbacks& callbacks, const ClipCache* cache) {
  const torch::Device device = ResolveDevice(spec.device);
  torch::set_num_threads(spec.threads);

  const TrialData data = LoadTrialData(spec, cache);
  const InputConfig input =
      MakeInputConfig(spec.family, spec.params, spec.clip_samples, spec.cache.sample_rate);
  const LoaderOptions train_options = TrainLoaderOptions(spec, input);
  DataLoader train_loader(data.clips, data.train, train_options);
  DataLoader val_loader(data.clips, data.val, EvalLoaderOptions(train_options, Split::kValidation));

  TrialModel model = BuildTrialModel(spec, input, static_cast<int>(data.classes.size()), device);
  const SpectrogramAugmentOptions spec_augment = SpectrogramAugment(spec.params);

  TrainState state = Resume(spec, model, device);
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

  const EpochLoop loop{spec,   callbacks, data.classes, input,     spec_augment,
                       device, model,     train_loader, val_loader};
  TrainOutcome outcome;
  outcome.stopped = RunEpochs(loop, &state);
  outcome.epochs_run = state.epoch_done;
  outcome.best_epoch = state.best_epoch;
  outcome.best_val_loss = state.best_epoch > 0 ? state.best_val_loss : 0;
  outcome.stopped_early = state.stopped_early;
  outcome.history = state.history;
  if (outcome.stopped || !spec.evaluate_test || state.best_epoch == 0) return outcome;
  outcome.test = EvaluateTest(loop, data, EvalLoaderOptions(train_options, Split::kTest), state);
  return outcome;
}

}  // namespace

nlohmann::json EpochMetricsToJson(const EpochMetrics& m) {
  return {{"epoch", m.epoch},
          {"max_epochs", m.max_epochs},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"val_loss", m.val_loss},
          {"val_accuracy", m.val_accuracy},
          {"val_macro_f1", m.val_macro_f1},
          {"seconds", m.seconds}};
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
