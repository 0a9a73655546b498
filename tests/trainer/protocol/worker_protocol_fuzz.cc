// Fuzz target: the worker's event lines (trainer/protocol/worker_protocol.h
// ParseWorkerEventLine), what the orchestrator reads from a worker's stdout. The input is one
// line. Checks, besides the sanitizers, what the header promises: no exception (one caught
// inside shows as Internal), errors are InvalidArgument or Corruption, a parsed event has its
// line's `event` name and the type of that name, every protocol field it has is of the
// documented kind, the accessors never throw, and the event re-written as JSON parses the same.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/protocol/worker_protocol.h"

namespace {

using mgr::WorkerEventType;

void Check(bool ok, const char* what, std::string_view line) {
  if (ok) return;
  std::fprintf(stderr, "worker_protocol_fuzz: %s: '%.*s'\n", what,
               static_cast<int>(std::min<size_t>(line.size(), 200)), line.data());
  std::abort();
}

// docs/worker-protocol.md's table: each event's fields, by the kind a reader may rely on.
struct EventFields {
  const char* name;
  WorkerEventType type;
  std::vector<const char*> counts, numbers, strings;
};

const std::vector<EventFields>& Events() {
  static const auto* events = new std::vector<EventFields>{
      {mgr::kEventStarted,
       WorkerEventType::kStarted,
       {mgr::kFieldPid, mgr::kFieldThreads, mgr::kFieldResumedFromEpoch, mgr::kFieldMaxEpochs,
        mgr::kFieldTrainClips, mgr::kFieldValClips},
       {},
       {mgr::kFieldDevice}},
      {mgr::kEventProgress,
       WorkerEventType::kProgress,
       {mgr::kFieldEpoch, mgr::kFieldBatch, mgr::kFieldBatches},
       {},
       {}},
      {mgr::kEventEpoch,
       WorkerEventType::kEpoch,
       {mgr::kFieldEpoch, mgr::kFieldMaxEpochs},
       {mgr::kFieldTrainLoss, mgr::kFieldTrainAccuracy, mgr::kFieldValLoss, mgr::kFieldValAccuracy,
        mgr::kFieldValMacroF1, mgr::kFieldSeconds},
       {}},
      {mgr::kEventFinal,
       WorkerEventType::kFinal,
       {mgr::kFieldEpochsRun, mgr::kFieldBestEpoch},
       {mgr::kFieldBestValLoss},
       {mgr::kFieldModelPath}},
      {mgr::kEventStopped, WorkerEventType::kStopped, {mgr::kFieldEpoch}, {}, {mgr::kFieldReason}},
      {mgr::kEventError, WorkerEventType::kError, {}, {}, {mgr::kFieldKind, mgr::kFieldMessage}},
  };
  return *events;
}

const EventFields* Find(const std::string& name) {
  for (const EventFields& e : Events()) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto parsed = mgr::ParseWorkerEventLine(line);
  if (!parsed.ok()) {
    const mgr::StatusCode code = parsed.status().code();
    Check(code == mgr::StatusCode::kInvalidArgument || code == mgr::StatusCode::kCorruption,
          ("unexpected error: " + parsed.status().ToString()).c_str(), line);
    return 0;
  }
  const mgr::WorkerEvent& event = *parsed;
  Check(event.fields.is_object(), "fields is not an object", line);
  Check(event.fields.value(mgr::kEventKey, nlohmann::json()) == event.name, "name is not `event`",
        line);
  const EventFields* spec = Find(event.name);
  Check(event.type == (spec ? spec->type : WorkerEventType::kOther), "type does not match the name",
        line);

  // A defined event's fields are of their kind (an absent one reads as null / NaN / nullopt).
  if (spec != nullptr) {
    for (const char* field : spec->counts) {
      const auto n = event.Int(field);
      Check(event.Field(field).is_null() || (n.has_value() && *n >= 0),
            "a count field that is not a count", line);
    }
    for (const char* field : spec->numbers) {
      const nlohmann::json& v = event.Field(field);
      Check(v.is_null() || v.is_number(), "a number field that is not a number", line);
      Check(!v.is_null() || std::isnan(event.Number(field)), "null does not read as NaN", line);
    }
    for (const char* field : spec->strings) {
      Check(event.Field(field).is_null() || event.String(field).has_value(),
            "a string field that is not a string", line);
    }
    if (event.type == WorkerEventType::kFinal) {
      const nlohmann::json& early = event.Field(mgr::kFieldStoppedEarly);
      Check(early.is_null() || early.is_boolean(), "stopped_early is not a boolean", line);
      const nlohmann::json& test = event.Field(mgr::kFieldTest);
      Check(test.is_null() || test.is_object(), "test is not an object", line);
    }
  }
  // No accessor throws, whatever the field holds.
  for (auto it = event.fields.begin(); it != event.fields.end(); ++it) {
    (void)event.Field(it.key().c_str());
    (void)event.Int(it.key().c_str());
    (void)event.Number(it.key().c_str());
    (void)event.String(it.key().c_str());
  }

  const std::string again = event.fields.dump();
  auto reparsed = mgr::ParseWorkerEventLine(again);
  Check(reparsed.ok(), "the re-written event does not parse", again);
  Check(reparsed->type == event.type && reparsed->name == event.name,
        "the re-written event parses differently", again);
  return 0;
}
