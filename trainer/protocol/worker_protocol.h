// The worker protocol (docs/worker-protocol.md): the one contract between mgr-tune's
// orchestrator and `mgr-train worker`. Both sides include this header: the worker writes
// the names below and the orchestrator reads its lines with ParseWorkerEventLine, so a
// renamed event, field or command is a compile error on both sides, not a line that one
// side silently ignores. Links no libtorch or FFmpeg.
#ifndef MGR_TRAINER_PROTOCOL_WORKER_PROTOCOL_H_
#define MGR_TRAINER_PROTOCOL_WORKER_PROTOCOL_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "storage/base/status.h"

namespace mgr {

// --- The trial spec (SPEC.json) ---------------------------------------------------------

// The spec's `version`: the protocol version this build speaks.
inline constexpr int kWorkerSpecVersion = 1;

// --- Exit codes ---------------------------------------------------------------------------

inline constexpr int kExitComplete = 0;  // `final` printed
inline constexpr int kExitFailed = 1;    // failed; `error` printed when the worker could say why
inline constexpr int kExitBadSpec = 2;   // bad spec or usage; `error` with kind `spec`
inline constexpr int kExitStopped = 3;   // stopped or pruned, checkpoint kept; `stopped` printed

// --- Commands (stdin, one per line; end of file counts as `stop`) -------------------------

inline constexpr char kCommandPrune[] = "prune";  // the pruner stopped the trial
inline constexpr char kCommandStop[] = "stop";    // the orchestrator is shutting down

// --- Events (stdout, one JSON object per line) --------------------------------------------

inline constexpr char kEventKey[] = "event";  // the key whose value names the event

inline constexpr char kEventStarted[] = "started";
inline constexpr char kEventProgress[] = "progress";
inline constexpr char kEventEpoch[] = "epoch";
inline constexpr char kEventFinal[] = "final";      // terminal, exit kExitComplete
inline constexpr char kEventStopped[] = "stopped";  // terminal, exit kExitStopped
inline constexpr char kEventError[] = "error";      // terminal, exit kExitFailed/kExitBadSpec

// Fields, by the event that introduces them (`epoch` and `max_epochs` recur).
// started
inline constexpr char kFieldPid[] = "pid";
inline constexpr char kFieldDevice[] = "device";
inline constexpr char kFieldThreads[] = "threads";
inline constexpr char kFieldResumedFromEpoch[] = "resumed_from_epoch";  // 0: a fresh start
inline constexpr char kFieldMaxEpochs[] = "max_epochs";
inline constexpr char kFieldTrainClips[] = "train_clips";
inline constexpr char kFieldValClips[] = "val_clips";
// progress
inline constexpr char kFieldEpoch[] = "epoch";  // 1-based
inline constexpr char kFieldBatch[] = "batch";
inline constexpr char kFieldBatches[] = "batches";
// epoch (non-finite values are written as null)
inline constexpr char kFieldTrainLoss[] = "train_loss";
inline constexpr char kFieldTrainAccuracy[] = "train_accuracy";
inline constexpr char kFieldValLoss[] = "val_loss";
inline constexpr char kFieldValAccuracy[] = "val_accuracy";
inline constexpr char kFieldValMacroF1[] = "val_macro_f1";
// The same over whole tracks: each track's prediction is the mean logits of all its windows.
inline constexpr char kFieldValTrackLoss[] = "val_track_loss";
inline constexpr char kFieldValTrackAccuracy[] = "val_track_accuracy";
inline constexpr char kFieldValTrackMacroF1[] = "val_track_macro_f1";
inline constexpr char kFieldSeconds[] = "seconds";
inline constexpr char kFieldSamplesPerSecond[] = "samples_per_second";  // training clips/s
// CUDA: peak bytes allocated on the device in the epoch; CPU: the worker's peak RSS so far.
inline constexpr char kFieldPeakMemoryBytes[] = "peak_memory_bytes";
// final
inline constexpr char kFieldEpochsRun[] = "epochs_run";
inline constexpr char kFieldBestEpoch[] = "best_epoch";
inline constexpr char kFieldBestValLoss[] = "best_val_loss";
// The loss that chose best_epoch (hparams `monitor`: val_loss or val_track_loss) and its
// value there. Optional: workers before them sent best_val_loss only.
inline constexpr char kFieldMonitor[] = "monitor";
inline constexpr char kFieldBestMonitored[] = "best_monitored";
inline constexpr char kFieldStoppedEarly[] = "stopped_early";
inline constexpr char kFieldTest[] = "test";             // optional: test-split metrics
inline constexpr char kFieldModelPath[] = "model_path";  // optional: the exported model
// final.test
inline constexpr char kTestLoss[] = "loss";
inline constexpr char kTestAccuracy[] = "accuracy";
inline constexpr char kTestMacroF1[] = "macro_f1";
inline constexpr char kTestPrecision[] = "precision";  // per class
inline constexpr char kTestRecall[] = "recall";        // per class
inline constexpr char kTestConfusion[] = "confusion";  // rows: true class, columns: predicted
inline constexpr char kTestClasses[] = "classes";      // class names, in row order
// Optional: the metrics above (but classes) with each track's prediction from all its windows.
inline constexpr char kTestTrack[] = "track";
// stopped
inline constexpr char kFieldReason[] = "reason";  // a kStopReason*
// error
inline constexpr char kFieldKind[] = "kind";  // a kErrorKind*
inline constexpr char kFieldMessage[] = "message";

// `stopped.reason`.
inline constexpr char kStopReasonPrune[] = "prune";    // `prune` on stdin
inline constexpr char kStopReasonStop[] = "stop";      // `stop` on stdin, or its end of file
inline constexpr char kStopReasonSignal[] = "signal";  // SIGTERM or SIGINT

// `error.kind`.
inline constexpr char kErrorKindSpec[] = "spec";  // unreadable/invalid spec (exit kExitBadSpec)
inline constexpr char kErrorKindData[] = "data";  // a missing or unprepared dataset
inline constexpr char kErrorKindOom[] = "oom";    // out of memory (host or GPU)
inline constexpr char kErrorKindNan[] = "nan";    // a non-finite training loss
inline constexpr char kErrorKindInternal[] = "internal";  // anything else

// --- Reading events -----------------------------------------------------------------------

enum class WorkerEventType { kStarted, kProgress, kEpoch, kFinal, kStopped, kError, kOther };

// One event line, parsed. ParseWorkerEventLine has checked the type of every field this
// protocol version defines for the event (see the .cc's table), so a field that is there
// has the documented type; fields it does not know (a later version's) are kept as they
// were, and none of the accessors throws.
struct WorkerEvent {
  WorkerEventType type = WorkerEventType::kOther;
  std::string name;       // the `event` value, also for kOther (an event this side ignores)
  nlohmann::json fields;  // the line's whole object, `event` included

  // The field, or null when the line does not have it.
  const nlohmann::json& Field(const char* field) const;
  // An integer field; nullopt when absent, null, or not an integer that fits an int.
  std::optional<int> Int(const char* field) const;
  // A number field (any name, e.g. a study's objective metric); NaN when absent, null
  // (non-finite on the worker's side) or not a number.
  double Number(const char* field) const;
  // A string field; nullopt when absent or not a string.
  std::optional<std::string> String(const char* field) const;
};

// Parses one stdout line of a worker (without its newline). Never throws, for any bytes.
// Errors (the message says what is wrong, naming the field):
//   InvalidArgument: not an event line: not JSON, not an object, no string `event`, or
//                    nested too deeply;
//   Corruption: an event this version defines whose field has the wrong type (a `final`
//               whose `best_val_loss` is a string, an `epoch` with a negative `epoch`, ...).
// An event of unknown name is not an error: it parses as kOther.
Result<WorkerEvent> ParseWorkerEventLine(std::string_view line);

// --- The mgr-train sub-commands mgr-tune forwards ------------------------------------------

// `mgr-tune NAME ...` runs `mgr-train NAME ...` (tuner/trainer_forwarding.cc); mgr-train
// registers each one (trainer/cli/) with this help text, and checks at start that its
// commands are exactly these.
struct TrainerCommand {
  const char* name;
  const char* help;  // one line for --help
};

// The two the orchestrator runs itself: `mgr-train worker SPEC.json` (one trial, this
// protocol) and `mgr-train prepare --data FILE` (the clip cache, before the first trial).
inline constexpr char kWorkerCommand[] = "worker";
inline constexpr char kPrepareCommand[] = "prepare";

inline constexpr TrainerCommand kTrainerCommands[] = {
    {kPrepareCommand, "Decode every track of an FMA subset once into the shared clip cache"},
    {"features", "Decode one audio file and write what a network sees (raw clip, log-Mel or MFCC)"},
    {"train", "Train one configuration (no study): progress, test metrics, exported model"},
    {"predict", "Genre probabilities of audio files with an exported model (model.pt)"},
    {kWorkerCommand, "Run one trial from a JSON spec, speaking docs/worker-protocol.md"},
};

// The entry of kTrainerCommands named `name`, or nullptr.
const TrainerCommand* FindTrainerCommand(std::string_view name);
// Its help text; "" for a name that is not a trainer command.
const char* TrainerCommandHelp(std::string_view name);

}  // namespace mgr

#endif  // MGR_TRAINER_PROTOCOL_WORKER_PROTOCOL_H_
