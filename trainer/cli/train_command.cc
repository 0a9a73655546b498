// `mgr-train train [SPEC.json] [flags]`: one configuration without a study. Prepares the
// clip cache if needed, trains with a progress bar (terminal) or per-epoch lines (log),
// evaluates the test split and exports the best model. Ctrl-C stops at the next batch
// boundary keeping the last epoch's checkpoint; the same command resumes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "storage/base/progress.h"
#include "trainer/cli/commands.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"
#include "trainer/training/export.h"
#include "trainer/training/train_spec.h"
#include "trainer/training/training.h"
#include "trainer/worker/worker.h"
#include "trainer/worker/worker_events.h"

namespace mgr {

namespace {

using Json = nlohmann::json;

struct TrainArgs {
  std::string spec_path;
  std::string data_json;  // a file with the "data" block
  std::string metadata, audio_dir, subset, cache_dir;
  int sample_rate = 0;
  int64_t clip_samples = 0;
  std::string family, preset, hparams_json;
  std::string checkpoint_dir, export_dir, device;
  int64_t seed = -1;
  int threads = 0;
  bool no_test = false, no_export = false;
};

// The spec: SPEC.json if given, then every flag on top of it.
Result<Json> BuildSpec(const TrainArgs& a) {
  Json spec = Json::object();
  try {
    if (!a.spec_path.empty()) {
      std::ifstream in(a.spec_path);
      if (!in) return Status::NotFound(a.spec_path + ": cannot open");
      spec = Json::parse(in);
    }
    if (!a.data_json.empty()) {
      std::ifstream in(a.data_json);
      if (!in) return Status::NotFound(a.data_json + ": cannot open");
      Json data = Json::parse(in);
      spec["data"] = data.contains("data") ? data["data"] : data;
    }
    if (!a.hparams_json.empty()) {
      Json h = Json::parse(a.hparams_json);
      if (!h.is_object()) return Status::InvalidArgument("--hparams: must be a JSON object");
      if (!spec.contains("hparams") || !spec["hparams"].is_object())
        spec["hparams"] = Json::object();
      for (auto it = h.begin(); it != h.end(); ++it) spec["hparams"][it.key()] = it.value();
    }
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("not valid JSON: ") + e.what());
  }
  if (!spec.contains("version")) spec["version"] = kWorkerSpecVersion;
  if (!spec.contains("data")) spec["data"] = Json::object();
  Json& data = spec["data"];
  if (!a.metadata.empty()) data["metadata"] = a.metadata;
  if (!a.audio_dir.empty()) data["audio_dir"] = a.audio_dir;
  if (!a.subset.empty()) data["subset"] = a.subset;
  if (!a.cache_dir.empty()) data["cache_dir"] = a.cache_dir;
  if (a.sample_rate > 0) data["sample_rate"] = a.sample_rate;
  if (a.clip_samples > 0) data["clip_samples"] = a.clip_samples;
  if (!spec.contains("model")) spec["model"] = Json::object();
  if (!a.family.empty()) spec["model"]["family"] = a.family;
  if (!a.preset.empty()) spec["model"]["preset"] = a.preset;
  if (!a.device.empty()) spec["device"] = a.device;
  if (a.seed >= 0) spec["seed"] = a.seed;
  if (a.threads > 0) spec["threads"] = a.threads;
  if (!spec.contains("threads")) {
    spec["threads"] = std::max(1u, std::thread::hardware_concurrency());
  }
  std::string family = spec["model"].value("family", "model");
  if (!a.checkpoint_dir.empty()) spec["checkpoint_dir"] = a.checkpoint_dir;
  if (!spec.contains("checkpoint_dir")) spec["checkpoint_dir"] = "runs/train-" + family;
  if (!a.export_dir.empty()) spec["export_dir"] = a.export_dir;
  if (!spec.contains("export_dir") || spec["export_dir"].is_null()) {
    spec["export_dir"] = spec["checkpoint_dir"].get<std::string>() + "/model";
  }
  if (a.no_export) spec["export_dir"] = nullptr;
  if (!spec.contains("evaluate_test")) spec["evaluate_test"] = true;
  if (a.no_test) spec["evaluate_test"] = false;
  return spec;
}

// Opens the cache, preparing it first if it is missing.
Result<std::unique_ptr<ClipCache>> OpenOrPrepareCache(const TrainSpec& spec) {
  Result<std::unique_ptr<ClipCache>> cache = ClipCache::Open(spec.data, spec.cache);
  if (cache.ok() || cache.status().code() != StatusCode::kNotFound) return cache;
  std::fprintf(stderr, "train: the clip cache is not prepared; decoding the dataset once\n");
  MGR_ASSIGN_OR_RETURN(FmaIndex index, LoadFmaIndex(spec.data));
  MGR_ASSIGN_OR_RETURN(PrepareSummary summary, PrepareClipCache(spec.data, index, spec.cache));
  std::fprintf(stderr, "train: cache ready (decoded %lld, reused %lld, skipped %lld tracks)\n",
               static_cast<long long>(summary.decoded), static_cast<long long>(summary.reused),
               static_cast<long long>(summary.skipped));
  return ClipCache::Open(spec.data, spec.cache);
}

// On a terminal, one Progress bar per epoch ("epoch 3/20 [###...] 40/125 batches, ...")
// ending with the previous epoch's losses; erased when the epoch's line is printed.
// Elsewhere nothing: the per-epoch lines are the log.
class EpochBar {
 public:
  explicit EpochBar(bool terminal) : terminal_(terminal) {}
  ~EpochBar() {
    if (bar_) bar_->Dismiss();
  }

  void Update(int epoch, int max_epochs, int64_t batch, int64_t batches) {
    if (!terminal_) return;
    if (epoch != epoch_ || !bar_) {
      if (bar_) bar_->Dismiss();
      epoch_ = epoch;
      done_ = 0;
      bar_ = std::make_unique<Progress>(
          "epoch " + std::to_string(epoch) + "/" + std::to_string(max_epochs), batches, "batches",
          stderr);
      bar_->SetSuffix(last_losses_);
    }
    bar_->Add(batch - done_);
    done_ = batch;
  }

  void EndEpoch(const EpochMetrics& m) {
    if (bar_) bar_->Dismiss();
    bar_.reset();
    char buf[160];
    std::snprintf(buf, sizeof buf, " | last: loss %.3f val %.3f", m.train_loss, m.val_loss);
    last_losses_ = buf;
  }

 private:
  const bool terminal_;
  int epoch_ = 0;
  int64_t done_ = 0;  // batches reported to bar_
  std::unique_ptr<Progress> bar_;
  std::string last_losses_;
};

void PrintTest(const TestMetrics& t) {
  std::fprintf(stderr, "test: loss %.4f  accuracy %.4f  macro F1 %.4f\n", t.loss, t.accuracy,
               t.macro_f1);
  std::fprintf(stderr, "%-14s %9s %9s\n", "class", "precision", "recall");
  for (size_t c = 0; c < t.classes.size(); ++c) {
    std::fprintf(stderr, "%-14s %9.3f %9.3f\n", t.classes[c].c_str(),
                 c < t.precision.size() ? t.precision[c] : 0.0,
                 c < t.recall.size() ? t.recall[c] : 0.0);
  }
  std::fprintf(stderr, "confusion (rows: true, columns: predicted)\n%-14s", "");
  for (size_t c = 0; c < t.classes.size(); ++c)
    std::fprintf(stderr, " %5.5s", t.classes[c].c_str());
  std::fprintf(stderr, "\n");
  for (size_t r = 0; r < t.confusion.size(); ++r) {
    std::fprintf(stderr, "%-14s", r < t.classes.size() ? t.classes[r].c_str() : "?");
    for (int64_t v : t.confusion[r]) std::fprintf(stderr, " %5lld", static_cast<long long>(v));
    std::fprintf(stderr, "\n");
  }
}

int RunTrain(const TrainArgs& args) {
  Result<Json> spec_json = BuildSpec(args);
  if (!spec_json.ok()) {
    std::fprintf(stderr, "mgr-train train: %s\n", spec_json.status().message().c_str());
    return kExitBadSpec;
  }
  Result<TrainSpec> spec = ParseTrainSpec(*spec_json);
  if (!spec.ok()) {
    std::fprintf(stderr, "mgr-train train: bad configuration: %s\n",
                 spec.status().message().c_str());
    return kExitBadSpec;
  }
  StopToken stop;
  SignalStopScope signals(&stop);
  try {
    Result<std::unique_ptr<ClipCache>> cache = OpenOrPrepareCache(*spec);
    if (!cache.ok()) {
      std::fprintf(stderr, "mgr-train train: %s\n", cache.status().message().c_str());
      return kExitFailed;
    }
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    EpochBar bar(terminal);
    int max_epochs = 0;
    TrainCallbacks cb;
    cb.on_start = [&](const TrainStart& s) {
      max_epochs = s.max_epochs;
      std::fprintf(stderr, "train: %s %s on %s (%d threads), %lld train / %lld val clips%s\n",
                   spec->family.c_str(), spec->preset.empty() ? "" : spec->preset.c_str(),
                   s.device.c_str(), s.threads, static_cast<long long>(s.train_clips),
                   static_cast<long long>(s.val_clips),
                   s.resumed_from_epoch > 0
                       ? (", resuming after epoch " + std::to_string(s.resumed_from_epoch)).c_str()
                       : "");
    };
    cb.on_progress = [&](int epoch, int64_t batch, int64_t batches) {
      bar.Update(epoch, max_epochs, batch, batches);
    };
    cb.on_epoch = [&](const EpochMetrics& m) {
      bar.EndEpoch(m);
      std::fprintf(stderr,
                   "epoch %d/%d  train loss %.4f acc %.3f  val loss %.4f acc %.3f F1 %.3f  "
                   "(%.1f s, %.1f clips/s, peak %.0f MiB)\n",
                   m.epoch, m.max_epochs, m.train_loss, m.train_accuracy, m.val_loss,
                   m.val_accuracy, m.val_macro_f1, m.seconds, m.samples_per_second,
                   static_cast<double>(m.peak_memory_bytes) / (1024.0 * 1024.0));
      std::fflush(stderr);
    };
    cb.should_stop = [&] { return stop.requested(); };
    TrainOutcome out = RunTrainingOnCache(*spec, **cache, cb);
    if (out.stopped) {
      std::fprintf(stderr,
                   "\ntrain: stopped after epoch %d; checkpoint kept in %s (run the same "
                   "command to resume)\n",
                   out.epochs_run, spec->checkpoint_dir.c_str());
      return kExitStopped;
    }
    std::fprintf(stderr, "train: %d epochs%s, best epoch %d with validation loss %.4f\n",
                 out.epochs_run, out.stopped_early ? " (early stopping)" : "", out.best_epoch,
                 out.best_val_loss);
    if (out.test) PrintTest(*out.test);
    if (spec->export_dir) {
      Result<std::string> model = ExportBestModel(*spec, *spec->export_dir);
      if (!model.ok()) {
        std::fprintf(stderr, "mgr-train train: export failed: %s\n",
                     model.status().message().c_str());
        return kExitFailed;
      }
      std::fprintf(stderr, "train: model exported to %s\n", model->c_str());
      std::printf("%s\n", model->c_str());
    }
    return kExitComplete;
  } catch (...) {
    WorkerFailure f = DescribeFailure(std::current_exception());
    std::fprintf(stderr, "\nmgr-train train: failed (%s): %s\n", f.kind.c_str(), f.message.c_str());
    return f.exit_code;
  }
}

}  // namespace

void RegisterTrainCommand(CLI::App& app, CommandRunner* run) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", TrainerCommandHelp("train"));
  cmd->add_option("SPEC", a->spec_path, "a trial spec (docs/worker-protocol.md); flags override");
  cmd->add_option("--data", a->data_json, "JSON file with the \"data\" block (or a whole spec)");
  cmd->add_option("--metadata", a->metadata, "fma_metadata/tracks.csv");
  cmd->add_option("--audio-dir", a->audio_dir, "audio directory, e.g. fma_small");
  cmd->add_option("--subset", a->subset, "small, medium or large");
  cmd->add_option("--cache-dir", a->cache_dir, "clip cache directory");
  cmd->add_option("--sample-rate", a->sample_rate, "Hz (default 22050)");
  cmd->add_option("--clip-samples", a->clip_samples, "clip length (default 262144)");
  cmd->add_option("--family", a->family, "nnet1, nnet2 or mixnet");
  cmd->add_option("--preset", a->preset, "paper (default)");
  cmd->add_option("--hparams", a->hparams_json, "JSON object of hyperparameters (override)");
  cmd->add_option("--checkpoint-dir", a->checkpoint_dir, "default runs/train-<family>");
  cmd->add_option("--export-dir", a->export_dir, "default <checkpoint-dir>/model");
  cmd->add_option("--device", a->device, "auto, cpu or cuda[:N]");
  cmd->add_option("--seed", a->seed, "random seed (default 0)");
  cmd->add_option("--threads", a->threads, "CPU threads (default: all cores)");
  cmd->add_flag("--no-test", a->no_test, "skip the test split evaluation");
  cmd->add_flag("--no-export", a->no_export, "do not export the model");
  cmd->callback([a, run] { *run = [a] { return RunTrain(*a); }; });
}

}  // namespace mgr
