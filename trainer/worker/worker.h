// The trial worker: `mgr-train worker SPEC.json` runs one trial and speaks the protocol of
// docs/worker-protocol.md (events on stdout, commands on stdin, exit codes; the names and
// codes are in trainer/protocol/worker_protocol.h). This is the one place where trainer/'s
// exceptions become a failed trial.
#ifndef MGR_TRAINER_WORKER_WORKER_H_
#define MGR_TRAINER_WORKER_WORKER_H_

#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/base/status.h"
#include "trainer/protocol/worker_protocol.h"
#include "trainer/training/train_spec.h"
#include "trainer/training/training.h"
#include "trainer/worker/worker_events.h"

namespace mgr {

// A failure as the `error` event reports it.
struct WorkerFailure {
  std::string kind;             // kErrorKindSpec, kErrorKindData, kErrorKindOom, ...
  std::string message;          // one line for people; names the JSON path / file / tensor op
  int exit_code = kExitFailed;  // kExitBadSpec for "spec", else kExitFailed
};

// Classifies an exception thrown by training or export: TrainingError by its kind;
// c10::OutOfMemoryError, a c10::Error about an allocation ("out of memory", "can't
// allocate memory") and std::bad_alloc as oom; any other exception as internal.
WorkerFailure DescribeFailure(std::exception_ptr error);

// What the worker runs; tests inject fakes.
struct WorkerHooks {
  std::function<TrainOutcome(const TrainSpec&, const TrainCallbacks&)> train;  // RunTraining
  // Exports the best model to `dir` and returns the model file (ExportBestModel).
  std::function<Result<std::string>(const TrainSpec&, const std::string& dir)> export_model;
};

// The real hooks: RunTraining and ExportBestModel.
WorkerHooks DefaultWorkerHooks();

struct WorkerOptions {
  double progress_interval_seconds = 1.0;  // at most one `progress` event per interval
};

// Runs one trial from a spec (already read as JSON) and returns the exit code. Emits
// exactly one terminal event (`final`, `stopped` or `error`) after `started` and the
// `epoch`/`progress` events. `stop` is polled between batches (the caller wires it to
// stdin commands and signals). Logs for people go to `log`. Never throws.
int RunWorker(const nlohmann::json& spec, const WorkerHooks& hooks, EventWriter* events,
              const StopToken* stop, std::FILE* log, const WorkerOptions& options = {});

// Reads SPEC.json; on failure reports a spec error and returns kExitBadSpec, otherwise
// RunWorker. Never throws.
int RunWorkerFromFile(const std::string& spec_path, const WorkerHooks& hooks, EventWriter* events,
                      const StopToken* stop, std::FILE* log, const WorkerOptions& options = {});

// `mgr-train worker SPEC.json`: events on stdout (stdout itself is redirected to stderr
// so that stray library output cannot corrupt them), commands on stdin, SIGTERM/SIGINT as
// `stop`. Returns the exit code. Never throws.
int RunWorkerOnStdio(const std::string& spec_path);

}  // namespace mgr

#endif  // MGR_TRAINER_WORKER_WORKER_H_
