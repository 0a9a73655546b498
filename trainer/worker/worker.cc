#include "trainer/worker/worker.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <new>
#include <optional>

#include <c10/util/Exception.h>

#include "storage/base/out_of_memory.h"
#include "trainer/models/training_error.h"
#include "trainer/training/export.h"

namespace mgr {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The first line of a (possibly multi-line, backtrace-carrying) message.
std::string FirstLines(const std::string& text, size_t max_chars = 2000) {
  std::string out = text.substr(0, max_chars);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Json SplitJson(const SplitMetrics& m) {
  return Json{{kTestLoss, m.loss},        {kTestAccuracy, m.accuracy},
              {kTestMacroF1, m.macro_f1}, {kTestPrecision, m.precision},
              {kTestRecall, m.recall},    {kTestConfusion, m.confusion}};
}

// The mid-point-window figures, the class names and, under "track", the track-level ones.
Json TestJson(const TestMetrics& t) {
  Json j = SplitJson(t);
  j[kTestClasses] = t.classes;
  if (t.track) j[kTestTrack] = SplitJson(*t.track);
  return j;
}

std::string TrialLabel(const Json& spec) {
  const Json* trial = spec.is_object() && spec.contains("trial") ? &spec["trial"] : nullptr;
  if (trial == nullptr || !trial->is_object()) return "trial";
  std::string label = "trial";
  if (trial->contains("study") && (*trial)["study"].is_string()) {
    label += " " + (*trial)["study"].get<std::string>();
  }
  if (trial->contains("number") && (*trial)["number"].is_number_integer()) {
    label += "#" + std::to_string((*trial)["number"].get<int64_t>());
  }
  return label;
}

int Fail(EventWriter* events, std::FILE* log, const std::string& label,
         const WorkerFailure& failure) {
  events->Emit(kEventError, {{kFieldKind, failure.kind}, {kFieldMessage, failure.message}});
  std::fprintf(log, "mgr-train worker: %s failed (%s): %s\n", label.c_str(), failure.kind.c_str(),
               failure.message.c_str());
  std::fflush(log);
  return failure.exit_code;
}

}  // namespace

WorkerFailure DescribeFailure(std::exception_ptr error) {
  WorkerFailure f;
  f.kind = "internal";
  f.exit_code = kExitFailed;
  try {
    std::rethrow_exception(error);
  } catch (const TrainingError& e) {
    f.kind = TrainingError::KindName(e.kind());
    f.message = FirstLines(e.what());
    if (e.kind() == TrainingError::Kind::kSpec) f.exit_code = kExitBadSpec;
  } catch (const c10::OutOfMemoryError& e) {
    f.kind = "oom";
    f.message = "out of memory: " + FirstLines(e.what_without_backtrace());
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    if (IsOutOfMemoryMessage(what)) {
      f.kind = "oom";
      f.message = "out of memory: " + FirstLines(what);
    } else {
      f.message = FirstLines(what);
    }
  } catch (const std::bad_alloc& e) {
    f.kind = "oom";
    f.message = std::string("out of memory (std::bad_alloc: ") + e.what() + ")";
  } catch (const std::exception& e) {
    f.message = FirstLines(e.what());
  } catch (...) {
    f.message = "unknown exception";
  }
  if (f.message.empty()) f.message = f.kind + " error";
  return f;
}

int RunWorker(const Json& spec_json, const WorkerHooks& hooks, EventWriter* events,
              const StopToken* stop, std::FILE* log, const WorkerOptions& options) {
  const std::string label = TrialLabel(spec_json);
  try {
    Result<TrainSpec> parsed = ParseTrainSpec(spec_json);
    if (!parsed.ok()) {
      return Fail(events, log, label, {kErrorKindSpec, parsed.status().message(), kExitBadSpec});
    }
    const TrainSpec& spec = *parsed;

    int last_epoch = 0;  // the last checkpointed epoch
    auto last_progress = Clock::now() - std::chrono::hours(1);
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options.progress_interval_seconds));

    TrainCallbacks callbacks;
    callbacks.on_start = [&](const TrainStart& s) {
      last_epoch = s.resumed_from_epoch;
      events->Emit(kEventStarted, {{kFieldPid, static_cast<int64_t>(::getpid())},
                                   {kFieldDevice, s.device},
                                   {kFieldThreads, s.threads},
                                   {kFieldResumedFromEpoch, s.resumed_from_epoch},
                                   {kFieldMaxEpochs, s.max_epochs},
                                   {kFieldTrainClips, s.train_clips},
                                   {kFieldValClips, s.val_clips}});
      std::fprintf(log,
                   "mgr-train worker: %s on %s (%d threads), %s, %lld train / %lld val clips\n",
                   label.c_str(), s.device.c_str(), s.threads,
                   s.resumed_from_epoch > 0
                       ? ("resuming after epoch " + std::to_string(s.resumed_from_epoch)).c_str()
                       : "fresh start",
                   static_cast<long long>(s.train_clips), static_cast<long long>(s.val_clips));
      std::fflush(log);
    };
    callbacks.on_progress = [&](int epoch, int64_t batch, int64_t batches) {
      auto now = Clock::now();
      if (now - last_progress < interval) return;
      last_progress = now;
      events->Emit(kEventProgress,
                   {{kFieldEpoch, epoch}, {kFieldBatch, batch}, {kFieldBatches, batches}});
    };
    callbacks.on_epoch = [&](const EpochMetrics& m) {
      last_epoch = m.epoch;
      events->Emit(kEventEpoch, EpochMetricsToJson(m));  // its keys are the kField* of `epoch`
      std::fprintf(log,
                   "mgr-train worker: %s epoch %d/%d train_loss %.4f acc %.3f | val_loss %.4f "
                   "acc %.3f f1 %.3f | %.1f s\n",
                   label.c_str(), m.epoch, m.max_epochs, m.train_loss, m.train_accuracy, m.val_loss,
                   m.val_accuracy, m.val_macro_f1, m.seconds);
      std::fflush(log);
    };
    callbacks.should_stop = [stop] { return stop != nullptr && stop->requested(); };

    TrainOutcome outcome = hooks.train(spec, callbacks);

    if (outcome.stopped) {
      StopReason reason = stop != nullptr ? stop->reason() : StopReason::kNone;
      if (reason == StopReason::kNone) reason = StopReason::kStop;
      int epoch = std::max(last_epoch, outcome.epochs_run);
      events->Emit(kEventStopped, {{kFieldReason, StopReasonName(reason)}, {kFieldEpoch, epoch}});
      std::fprintf(log, "mgr-train worker: %s stopped (%s) after epoch %d; checkpoint kept\n",
                   label.c_str(), StopReasonName(reason), epoch);
      std::fflush(log);
      return kExitStopped;
    }

    Json final_event = {
        {kFieldEpochsRun, outcome.epochs_run},         {kFieldBestEpoch, outcome.best_epoch},
        {kFieldBestValLoss, outcome.best_val_loss},    {kFieldMonitor, spec.params.monitor},
        {kFieldBestMonitored, outcome.best_monitored}, {kFieldStoppedEarly, outcome.stopped_early}};
    if (outcome.test) final_event[kFieldTest] = TestJson(*outcome.test);
    if (spec.export_dir) {
      if (!hooks.export_model) {
        return Fail(events, log, label, {kErrorKindInternal, "no export function", kExitFailed});
      }
      Result<std::string> model = hooks.export_model(spec, *spec.export_dir);
      if (!model.ok()) {
        return Fail(
            events, log, label,
            {kErrorKindInternal, "export failed: " + model.status().message(), kExitFailed});
      }
      final_event[kFieldModelPath] = *model;
      std::fprintf(log, "mgr-train worker: %s exported %s\n", label.c_str(), model->c_str());
    }
    events->Emit(kEventFinal, final_event);
    std::fprintf(log, "mgr-train worker: %s complete: %d epochs, best epoch %d %s %.4f\n",
                 label.c_str(), outcome.epochs_run, outcome.best_epoch, spec.params.monitor.c_str(),
                 outcome.best_monitored);
    std::fflush(log);
    return kExitComplete;
  } catch (...) {
    WorkerFailure failure = DescribeFailure(std::current_exception());
    try {
      return Fail(events, log, label, failure);
    } catch (...) {
      return failure.exit_code;  // even the report failed (e.g. out of memory again)
    }
  }
}

int RunWorkerFromFile(const std::string& spec_path, const WorkerHooks& hooks, EventWriter* events,
                      const StopToken* stop, std::FILE* log, const WorkerOptions& options) {
  Json spec;
  try {
    std::ifstream in(spec_path);
    if (!in) {
      return Fail(events, log, "trial",
                  {kErrorKindSpec, spec_path + ": cannot open", kExitBadSpec});
    }
    spec = Json::parse(in);
  } catch (const Json::exception& e) {
    return Fail(events, log, "trial",
                {kErrorKindSpec, spec_path + ": not valid JSON: " + e.what(), kExitBadSpec});
  } catch (...) {
    return Fail(events, log, "trial", DescribeFailure(std::current_exception()));
  }
  return RunWorker(spec, hooks, events, stop, log, options);
}

WorkerHooks DefaultWorkerHooks() {
  WorkerHooks hooks;
  hooks.train = RunTraining;
  hooks.export_model = ExportBestModel;
  return hooks;
}

int RunWorkerOnStdio(const std::string& spec_path) {
  // Events get a private copy of stdout; fd 1 becomes stderr, so stray output from
  // libraries (or std::cout anywhere) cannot corrupt the event stream.
  std::fflush(stdout);
  int events_fd = ::dup(STDOUT_FILENO);
  if (events_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::perror("mgr-train worker: dup");
    return kExitFailed;
  }
  EventWriter events(events_fd);
  StopToken stop;
  int code;
  try {
    SignalStopScope signals(&stop);
    CommandReader commands(STDIN_FILENO, &stop, stderr);
    code = RunWorkerFromFile(spec_path, DefaultWorkerHooks(), &events, &stop, stderr);
  } catch (...) {  // e.g. no thread or pipe for the command reader
    code = Fail(&events, stderr, "trial", DescribeFailure(std::current_exception()));
  }
  ::close(events_fd);
  return code;
}

}  // namespace mgr
