#include "trainer/training.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "trainer/checkpoint.h"
#include "trainer/clip_cache.h"
#include "trainer/data_loader.h"
#include "trainer/fma_metadata.h"
#include "trainer/metrics.h"

namespace mgr {
namespace {

using Json = nlohmann::json;
using Kind = TrainingError::Kind;

// Stream tags for MixSeed, so that no two random streams share a seed.
constexpr uint64_t kTorchStream = 0x544f524348;  // dropout and torch's generator
constexpr uint64_t kSpecStream = 0x53504543;     // spectrogram augmentation

Status MakeDirs(const std::string& path) {
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create directory " + prefix + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

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

bool IsOom(const c10::Error& e) {
  std::string what = e.what_without_backtrace();
  return what.find("out of memory") != std::string::npos ||
         what.find("Out of memory") != std::string::npos;
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
  const HParams& hp = spec.params;
  const torch::Device device = ResolveDevice(spec.device);
  torch::set_num_threads(spec.threads);

  // Data.
  Result<FmaIndex> index = LoadFmaIndex(spec.data);
  if (!index.ok()) throw TrainingError(Kind::kData, index.status().ToString());
  Result<std::unique_ptr<ClipCache>> cache = ClipCache::Open(spec.data, spec.cache);
  if (!cache.ok()) {
    throw TrainingError(Kind::kData,
                        cache.status().ToString() + " (prepare it with `mgr-train prepare`)");
  }
  const ClipCache* clips = cache->get();
  std::vector<Example> train, val, test;
  for (const Track& t : index->tracks) {
    if (!clips->Contains(t.id)) continue;
    Example e{t.id, t.label};
    (t.split == Split::kTraining ? train : t.split == Split::kValidation ? val : test).push_back(e);
  }
  if (train.empty() || val.empty()) {
    throw TrainingError(Kind::kData,
                        "the clip cache holds no training or no validation track "
                        "of the subset \"" +
                            spec.data.subset + "\"");
  }
  const int classes = static_cast<int>(index->classes.size());
  const int loader_threads = std::max(1, spec.threads / 2);

  LoaderOptions train_options;
  train_options.split = Split::kTraining;
  train_options.clip_samples = spec.clip_samples;
  train_options.batch_size = hp.batch_size;
  train_options.shuffle = true;
  train_options.seed = spec.seed;
  train_options.threads = loader_threads;
  const InputConfig input =
      MakeInputConfig(spec.family, hp, spec.clip_samples, spec.cache.sample_rate);
  train_options.augment = input.audio;  // waveform augmentation feeds the audio branch
  train_options.augment_options = WaveformAugment(hp, spec.cache.sample_rate);
  LoaderOptions val_options = train_options;
  val_options.split = Split::kValidation;
  val_options.shuffle = false;
  val_options.fixed_windows = true;
  val_options.augment = false;
  DataLoader train_loader(clips, train, train_options);
  DataLoader val_loader(clips, val, val_options);

  // Model and optimizer.
  torch::manual_seed(spec.seed);
  Result<GenreNet> built = BuildModel(spec.family, hp, input, classes);
  if (!built.ok()) throw TrainingError(Kind::kSpec, built.status().message());
  GenreNet model = *built;
  model->to(device);
  std::unique_ptr<torch::optim::Optimizer> optimizer = MakeOptimizer(model, hp);
  const SpectrogramAugmentOptions spec_augment = SpectrogramAugment(hp);

  // State, possibly from a checkpoint.
  Status dirs = MakeDirs(spec.checkpoint_dir);
  if (!dirs.ok()) throw TrainingError(Kind::kData, dirs.ToString());
  const std::string path = CheckpointPath(spec);
  CheckpointData state;
  int epoch_done = 0, best_epoch = 0, wait = 0;
  double best_val_loss = std::numeric_limits<double>::infinity();
  double es_reference = std::numeric_limits<double>::infinity();
  bool stopped_early = false;
  std::vector<EpochMetrics> history;
  Status loaded = LoadCheckpoint(path, *model, *optimizer, device, &state);
  if (loaded.ok()) {
    const Json& r = state.record;
    if (r.value("trial", Json()) != TrialIdentity(spec)) {
      throw TrainingError(Kind::kSpec, path +
                                           " is the checkpoint of a different trial "
                                           "(family, hyperparameters, clip or seed differ): "
                                           "use another checkpoint_dir or delete it");
    }
    epoch_done = r.at("epoch").get<int>();
    best_epoch = r.at("best_epoch").get<int>();
    best_val_loss = r.at("best_val_loss").get<double>();
    es_reference = r.at("es_reference").get<double>();
    wait = r.at("es_wait").get<int>();
    stopped_early = r.at("stopped_early").get<bool>();
    for (const Json& m : r.at("history")) history.push_back(EpochFromJson(m));
  } else if (loaded.code() != StatusCode::kNotFound) {
    throw TrainingError(Kind::kData, loaded.ToString());
  }

  TrainOutcome outcome;
  if (callbacks.on_start) {
    TrainStart start;
    start.device = device.str();
    start.threads = spec.threads;
    start.resumed_from_epoch = epoch_done;
    start.max_epochs = hp.max_epochs;
    start.train_clips = train_loader.size();
    start.val_clips = val_loader.size();
    callbacks.on_start(start);
  }
  auto should_stop = [&] { return callbacks.should_stop && callbacks.should_stop(); };

  try {
    for (int epoch = epoch_done + 1; epoch <= hp.max_epochs && !stopped_early; ++epoch) {
      if (should_stop()) {
        outcome.stopped = true;
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      torch::manual_seed(MixSeed(spec.seed, kTorchStream, static_cast<uint64_t>(epoch)));
      model->train();
      train_loader.StartEpoch(epoch);
      double loss_sum = 0;
      int64_t correct = 0, seen = 0;
      const int64_t batches = train_loader.NumBatches();
      while (std::optional<Batch> batch = train_loader.Next()) {
        if (should_stop()) {
          outcome.stopped = true;
          break;
        }
        torch::Tensor x = batch->clips.to(device);
        torch::Tensor labels = batch->labels.to(device);
        std::mt19937_64 rng(MixSeed(spec.seed, kSpecStream, static_cast<uint64_t>(epoch),
                                    static_cast<uint64_t>(batch->index)));
        NetInputs in = PrepareInputs(input, x, input.features ? &spec_augment : nullptr, &rng);
        torch::Tensor logits = model->forward(in.audio, in.features);
        torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          throw TrainingError(Kind::kNan, "training loss became " + std::to_string(value) +
                                              " at epoch " + std::to_string(epoch) + ", batch " +
                                              std::to_string(batch->index + 1) + ": lower lr (" +
                                              std::to_string(hp.lr) + ")");
        }
        optimizer->zero_grad();
        loss.backward();
        optimizer->step();
        const int64_t n = labels.size(0);
        loss_sum += value * static_cast<double>(n);
        correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
        seen += n;
        if (callbacks.on_progress) callbacks.on_progress(epoch, batch->index + 1, batches);
      }
      if (outcome.stopped) break;

      EvalResult v = Evaluate(model, val_loader, epoch, input, device, classes);
      if (!std::isfinite(v.loss)) {
        throw TrainingError(Kind::kNan, "validation loss is " + std::to_string(v.loss) +
                                            " after epoch " + std::to_string(epoch));
      }
      EpochMetrics m;
      m.epoch = epoch;
      m.max_epochs = hp.max_epochs;
      m.train_loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0;
      m.train_accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0;
      m.val_loss = v.loss;
      m.val_accuracy = v.confusion.Accuracy();
      m.val_macro_f1 = v.confusion.MacroF1();

      // Best weights: the lowest validation loss. Early stopping: Keras/Lightning's rule,
      // an improvement is val_loss < reference - min_delta; stop after `patience` epochs
      // without one.
      if (v.loss < best_val_loss) {
        best_val_loss = v.loss;
        best_epoch = epoch;
        state.best_state = SnapshotState(*model);
      }
      if (v.loss < es_reference - hp.min_delta) {
        es_reference = v.loss;
        wait = 0;
      } else if (++wait >= hp.patience) {
        stopped_early = epoch < hp.max_epochs;
      }
      m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      history.push_back(m);
      epoch_done = epoch;

      Json history_json = Json::array();
      for (const EpochMetrics& h : history) history_json.push_back(EpochMetricsToJson(h));
      state.record = {{"trial", TrialIdentity(spec)},
                      {"classes", index->classes},
                      {"epoch", epoch_done},
                      {"best_epoch", best_epoch},
                      {"best_val_loss", best_val_loss},
                      {"es_reference", es_reference},
                      {"es_wait", wait},
                      {"stopped_early", stopped_early},
                      {"history", history_json}};
      Status saved = SaveCheckpoint(path, *model, *optimizer, state);
      if (!saved.ok()) throw TrainingError(Kind::kData, saved.ToString());
      if (callbacks.on_epoch) callbacks.on_epoch(m);
    }
  } catch (const c10::Error& e) {
    if (IsOom(e)) {
      throw TrainingError(Kind::kOom, std::string("out of memory on ") + device.str() +
                                          ": lower batch_size (" + std::to_string(hp.batch_size) +
                                          ") or the network's width");
    }
    throw;
  }

  outcome.epochs_run = epoch_done;
  outcome.best_epoch = best_epoch;
  outcome.best_val_loss = best_epoch > 0 ? best_val_loss : 0;
  outcome.stopped_early = stopped_early;
  outcome.history = history;
  if (outcome.stopped || !spec.evaluate_test || best_epoch == 0) return outcome;
  if (test.empty()) throw TrainingError(Kind::kData, "evaluate_test: no test track in the cache");

  RestoreState(*model, state.best_state);
  LoaderOptions test_options = val_options;
  test_options.split = Split::kTest;
  DataLoader test_loader(clips, test, test_options);
  EvalResult t = Evaluate(model, test_loader, 0, input, device, classes);
  TestMetrics tm;
  tm.loss = t.loss;
  tm.accuracy = t.confusion.Accuracy();
  tm.macro_f1 = t.confusion.MacroF1();
  tm.precision = t.confusion.Precision();
  tm.recall = t.confusion.Recall();
  tm.confusion = t.confusion.counts();
  tm.classes = index->classes;
  outcome.test = tm;
  return outcome;
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
      if (::access(path.c_str(), F_OK) != 0) return Status::NotFound(path + ": no checkpoint");
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
