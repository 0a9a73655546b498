#include "trainer/protocol/worker_protocol.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <exception>

namespace mgr {

namespace {

using Json = nlohmann::json;

// Deeper lines are refused before parsing: nlohmann copies and prints values
// recursively, and no event nests deeper than final.test.confusion (4).
constexpr int kMaxDepth = 32;

// What a protocol field must hold.
enum class FieldKind {
  kCount,   // an integer in [0, INT_MAX]
  kNumber,  // a number, or null (a non-finite value on the worker's side)
  kString,
  kBool,
  kTest,  // final.test: the test-split metrics object
};

struct FieldSpec {
  const char* name;
  FieldKind kind;
};

constexpr int kMaxFields = 13;

struct EventSpec {
  const char* name;
  WorkerEventType type;
  FieldSpec fields[kMaxFields];  // the unused tail has name == nullptr
};

// The events and fields of docs/worker-protocol.md. Every field is optional on the
// reading side (the reader picks its own default); a field that is there must be of
// this kind.
constexpr EventSpec kEvents[] = {
    {kEventStarted,
     WorkerEventType::kStarted,
     {{kFieldPid, FieldKind::kCount},
      {kFieldDevice, FieldKind::kString},
      {kFieldThreads, FieldKind::kCount},
      {kFieldResumedFromEpoch, FieldKind::kCount},
      {kFieldMaxEpochs, FieldKind::kCount},
      {kFieldTrainClips, FieldKind::kCount},
      {kFieldValClips, FieldKind::kCount}}},
    {kEventProgress,
     WorkerEventType::kProgress,
     {{kFieldEpoch, FieldKind::kCount},
      {kFieldBatch, FieldKind::kCount},
      {kFieldBatches, FieldKind::kCount}}},
    {kEventEpoch,
     WorkerEventType::kEpoch,
     {{kFieldEpoch, FieldKind::kCount},
      {kFieldMaxEpochs, FieldKind::kCount},
      {kFieldTrainLoss, FieldKind::kNumber},
      {kFieldTrainAccuracy, FieldKind::kNumber},
      {kFieldValLoss, FieldKind::kNumber},
      {kFieldValAccuracy, FieldKind::kNumber},
      {kFieldValMacroF1, FieldKind::kNumber},
      {kFieldValTrackLoss, FieldKind::kNumber},
      {kFieldValTrackAccuracy, FieldKind::kNumber},
      {kFieldValTrackMacroF1, FieldKind::kNumber},
      {kFieldSeconds, FieldKind::kNumber},
      {kFieldSamplesPerSecond, FieldKind::kNumber},
      {kFieldPeakMemoryBytes, FieldKind::kNumber}}},
    {kEventFinal,
     WorkerEventType::kFinal,
     {{kFieldEpochsRun, FieldKind::kCount},
      {kFieldBestEpoch, FieldKind::kCount},
      {kFieldBestValLoss, FieldKind::kNumber},
      {kFieldMonitor, FieldKind::kString},
      {kFieldBestMonitored, FieldKind::kNumber},
      {kFieldStoppedEarly, FieldKind::kBool},
      {kFieldTest, FieldKind::kTest},
      {kFieldModelPath, FieldKind::kString}}},
    {kEventStopped,
     WorkerEventType::kStopped,
     {{kFieldReason, FieldKind::kString}, {kFieldEpoch, FieldKind::kCount}}},
    {kEventError,
     WorkerEventType::kError,
     {{kFieldKind, FieldKind::kString}, {kFieldMessage, FieldKind::kString}}},
};

bool IsNumberOrNull(const Json& v) { return v.is_number() || v.is_null(); }

bool IsCount(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX);
  if (v.is_number_integer()) {
    const int64_t n = v.get<int64_t>();
    return n >= 0 && n <= INT_MAX;
  }
  return false;
}

// `field "NAME" PROBLEM`, for error messages.
std::string Wrong(const std::string& name, const std::string& problem) {
  return "field \"" + name + "\" " + problem;
}

// Empty when `test` is a well-formed final.test (or its track-level part, `name`
// "test.track"), else what is wrong with it.
std::string CheckTest(const Json& test, const std::string& name = kFieldTest) {
  const std::string prefix = name + ".";
  if (!test.is_object()) return Wrong(name, "is not an object");
  for (const char* key : {kTestLoss, kTestAccuracy, kTestMacroF1}) {
    auto it = test.find(key);
    if (it != test.end() && !IsNumberOrNull(*it)) {
      return Wrong(prefix + key, "is not a number (or null)");
    }
  }
  for (const char* key : {kTestPrecision, kTestRecall}) {
    auto it = test.find(key);
    if (it == test.end()) continue;
    if (!it->is_array()) return Wrong(prefix + key, "is not an array");
    for (const Json& v : *it) {
      if (!IsNumberOrNull(v)) return Wrong(prefix + key, "holds a non-number");
    }
  }
  auto confusion = test.find(kTestConfusion);
  if (confusion != test.end()) {
    if (!confusion->is_array()) return Wrong(prefix + kTestConfusion, "is not an array");
    for (const Json& row : *confusion) {
      if (!row.is_array())
        return Wrong(prefix + kTestConfusion, "holds a row that is not an array");
      for (const Json& v : row) {
        if (!v.is_number()) return Wrong(prefix + kTestConfusion, "holds a non-number");
      }
    }
  }
  auto classes = test.find(kTestClasses);
  if (classes != test.end()) {
    if (!classes->is_array()) return Wrong(prefix + kTestClasses, "is not an array");
    for (const Json& v : *classes) {
      if (!v.is_string()) return Wrong(prefix + kTestClasses, "holds a non-string");
    }
  }
  auto track = test.find(kTestTrack);
  if (track != test.end() && name == kFieldTest) return CheckTest(*track, prefix + kTestTrack);
  return "";
}

// Empty when `value` is what `field` must hold, else what is wrong with it.
std::string CheckField(const Json& value, const FieldSpec& field) {
  switch (field.kind) {
    case FieldKind::kCount:
      return IsCount(value)
                 ? ""
                 : Wrong(field.name, "is not an integer in [0, " + std::to_string(INT_MAX) + "]");
    case FieldKind::kNumber:
      return IsNumberOrNull(value) ? "" : Wrong(field.name, "is not a number (or null)");
    case FieldKind::kString:
      return value.is_string() ? "" : Wrong(field.name, "is not a string");
    case FieldKind::kBool:
      return value.is_boolean() ? "" : Wrong(field.name, "is not true or false");
    case FieldKind::kTest:
      return CheckTest(value);
  }
  return Wrong(field.name, "has a kind this parser does not know");
}

// How deeply the JSON text nests arrays and objects, counting only brackets outside
// strings. Malformed text gets some number; the parser rejects it afterwards.
int NestingDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

// A short, printable excerpt of a line for error messages.
std::string Excerpt(std::string_view line) {
  constexpr size_t kMax = 80;
  std::string out;
  for (char c : line.substr(0, kMax)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (line.size() > kMax) out += "...";
  return out;
}

Result<WorkerEvent> Parse(std::string_view line) {
  // nlohmann stops at a NUL as if the text ended there; JSON text never holds a raw one.
  if (line.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("not an event line: holds a NUL byte");
  }
  if (NestingDepth(line) > kMaxDepth) {
    return Status::InvalidArgument("not an event line: JSON nested deeper than " +
                                   std::to_string(kMaxDepth) + " levels");
  }
  Json object = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) {
    return Status::InvalidArgument("not an event line: not JSON: '" + Excerpt(line) + "'");
  }
  if (!object.is_object()) {
    return Status::InvalidArgument("not an event line: not a JSON object: '" + Excerpt(line) + "'");
  }
  auto name = object.find(kEventKey);
  if (name == object.end() || !name->is_string()) {
    return Status::InvalidArgument(std::string("not an event line: no string \"") + kEventKey +
                                   "\" key: '" + Excerpt(line) + "'");
  }
  WorkerEvent event;
  event.name = name->get<std::string>();
  for (const EventSpec& spec : kEvents) {
    if (event.name != spec.name) continue;
    event.type = spec.type;
    for (const FieldSpec& field : spec.fields) {
      if (field.name == nullptr) break;
      auto it = object.find(field.name);
      if (it == object.end()) continue;
      std::string wrong = CheckField(*it, field);
      if (!wrong.empty()) return Status::Corruption("\"" + event.name + "\" event: " + wrong);
    }
    break;
  }
  event.fields = std::move(object);
  return event;
}

const Json& NullJson() {
  static const Json* const kNull = new Json();
  return *kNull;
}

}  // namespace

Result<WorkerEvent> ParseWorkerEventLine(std::string_view line) {
  try {
    return Parse(line);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc; the parser itself does not throw
    return Status::Internal(std::string("cannot parse a worker event line: ") + e.what());
  } catch (...) {
    return Status::Internal("cannot parse a worker event line");
  }
}

const Json& WorkerEvent::Field(const char* field) const {
  if (!fields.is_object()) return NullJson();
  auto it = fields.find(field);
  return it == fields.end() ? NullJson() : *it;
}

std::optional<int> WorkerEvent::Int(const char* field) const {
  const Json& v = Field(field);
  if (v.is_number_unsigned()) {
    const uint64_t n = v.get<uint64_t>();
    if (n <= static_cast<uint64_t>(INT_MAX)) return static_cast<int>(n);
  } else if (v.is_number_integer()) {
    const int64_t n = v.get<int64_t>();
    if (n >= INT_MIN && n <= INT_MAX) return static_cast<int>(n);
  }
  return std::nullopt;
}

double WorkerEvent::Number(const char* field) const {
  const Json& v = Field(field);
  return v.is_number() ? v.get<double>() : NAN;
}

std::optional<std::string> WorkerEvent::String(const char* field) const {
  const Json& v = Field(field);
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

const TrainerCommand* FindTrainerCommand(std::string_view name) {
  for (const TrainerCommand& command : kTrainerCommands) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

const char* TrainerCommandHelp(std::string_view name) {
  const TrainerCommand* command = FindTrainerCommand(name);
  return command != nullptr ? command->help : "";
}

}  // namespace mgr
