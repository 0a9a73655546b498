#include "trainer/protocol/worker_protocol.h"

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mgr {
namespace {

using ::testing::HasSubstr;

// Lines exactly as `mgr-train worker` writes them (EventWriter::Format: "event" first,
// then the fields in key order; non-finite numbers as null).
constexpr char kStartedLine[] =
    R"({"event":"started","device":"cuda:0","max_epochs":20,"pid":4242,)"
    R"("resumed_from_epoch":3,"threads":2,"train_clips":6400,"val_clips":800})";
constexpr char kProgressLine[] = R"({"event":"progress","batch":17,"batches":100,"epoch":4})";
constexpr char kEpochLine[] =
    R"({"event":"epoch","epoch":4,"max_epochs":20,"seconds":41.2,"train_accuracy":0.41,)"
    R"("train_loss":null,"val_accuracy":0.38,"val_loss":1.71,"val_macro_f1":0.35})";
constexpr char kFinalLine[] =
    R"({"event":"final","best_epoch":2,"best_val_loss":1.25,"epochs_run":3,)"
    R"("model_path":"/run/final/model/model.pt","stopped_early":false,)"
    R"("test":{"accuracy":0.75,"classes":["Rock","Pop"],"confusion":[[3,1],[1,3]],)"
    R"("loss":1.1,"macro_f1":0.7,"precision":[0.8,0.7],"recall":[0.75,0.65]}})";
constexpr char kStoppedLine[] = R"({"event":"stopped","epoch":5,"reason":"prune"})";
constexpr char kErrorLine[] =
    R"({"event":"error","kind":"oom","message":"out of memory: CUDA out of memory."})";

WorkerEvent MustParse(const std::string& line) {
  Result<WorkerEvent> event = ParseWorkerEventLine(line);
  EXPECT_TRUE(event.ok()) << line << ": " << event.status().ToString();
  return event.ok() ? *event : WorkerEvent();
}

TEST(WorkerProtocolTest, ParsesStarted) {
  WorkerEvent e = MustParse(kStartedLine);
  EXPECT_EQ(e.type, WorkerEventType::kStarted);
  EXPECT_EQ(e.name, kEventStarted);
  EXPECT_EQ(e.Int(kFieldPid), 4242);
  EXPECT_EQ(e.String(kFieldDevice), "cuda:0");
  EXPECT_EQ(e.Int(kFieldThreads), 2);
  EXPECT_EQ(e.Int(kFieldResumedFromEpoch), 3);
  EXPECT_EQ(e.Int(kFieldMaxEpochs), 20);
  EXPECT_EQ(e.Int(kFieldTrainClips), 6400);
  EXPECT_EQ(e.Int(kFieldValClips), 800);
  EXPECT_EQ(e.fields[kEventKey], "started");  // the whole object is kept
}

TEST(WorkerProtocolTest, ParsesProgressAndEpoch) {
  WorkerEvent p = MustParse(kProgressLine);
  EXPECT_EQ(p.type, WorkerEventType::kProgress);
  EXPECT_EQ(p.Int(kFieldEpoch), 4);
  EXPECT_EQ(p.Int(kFieldBatch), 17);
  EXPECT_EQ(p.Int(kFieldBatches), 100);

  WorkerEvent e = MustParse(kEpochLine);
  EXPECT_EQ(e.type, WorkerEventType::kEpoch);
  EXPECT_EQ(e.Int(kFieldEpoch), 4);
  EXPECT_EQ(e.Int(kFieldMaxEpochs), 20);
  EXPECT_DOUBLE_EQ(e.Number(kFieldValLoss), 1.71);
  EXPECT_DOUBLE_EQ(e.Number(kFieldValMacroF1), 0.35);
  EXPECT_DOUBLE_EQ(e.Number(kFieldSeconds), 41.2);
  EXPECT_TRUE(std::isnan(e.Number(kFieldTrainLoss)));  // null: non-finite in the worker
  EXPECT_TRUE(std::isnan(e.Number("no_such_metric")));
}

TEST(WorkerProtocolTest, ParsesTheTerminalEvents) {
  WorkerEvent f = MustParse(kFinalLine);
  EXPECT_EQ(f.type, WorkerEventType::kFinal);
  EXPECT_EQ(f.Int(kFieldEpochsRun), 3);
  EXPECT_EQ(f.Int(kFieldBestEpoch), 2);
  EXPECT_DOUBLE_EQ(f.Number(kFieldBestValLoss), 1.25);
  EXPECT_EQ(f.Field(kFieldStoppedEarly), false);
  EXPECT_EQ(f.String(kFieldModelPath), "/run/final/model/model.pt");
  const nlohmann::json& test = f.Field(kFieldTest);
  ASSERT_TRUE(test.is_object());
  EXPECT_EQ(test[kTestClasses], nlohmann::json({"Rock", "Pop"}));
  EXPECT_EQ(test[kTestConfusion][0][1], 1);

  WorkerEvent s = MustParse(kStoppedLine);
  EXPECT_EQ(s.type, WorkerEventType::kStopped);
  EXPECT_EQ(s.String(kFieldReason), kStopReasonPrune);
  EXPECT_EQ(s.Int(kFieldEpoch), 5);

  WorkerEvent e = MustParse(kErrorLine);
  EXPECT_EQ(e.type, WorkerEventType::kError);
  EXPECT_EQ(e.String(kFieldKind), kErrorKindOom);
  EXPECT_EQ(e.String(kFieldMessage), "out of memory: CUDA out of memory.");
}

TEST(WorkerProtocolTest, AnyKeyOrderAndSurroundingWhitespace) {
  // The fake worker (and other writers) put "event" anywhere; a \r may end the line.
  WorkerEvent e = MustParse(" {\"reason\":\"stop\",\"epoch\":0,\"event\":\"stopped\"}\r");
  EXPECT_EQ(e.type, WorkerEventType::kStopped);
  EXPECT_EQ(e.String(kFieldReason), kStopReasonStop);
  EXPECT_EQ(e.Int(kFieldEpoch), 0);
}

TEST(WorkerProtocolTest, UnknownEventsAndFieldsAreKept) {
  WorkerEvent e = MustParse(R"({"event":"checkpoint","epoch":"three","path":"/x"})");
  EXPECT_EQ(e.type, WorkerEventType::kOther);  // a later version's event: not checked
  EXPECT_EQ(e.name, "checkpoint");
  EXPECT_EQ(e.String("path"), "/x");
  EXPECT_EQ(e.Int(kFieldEpoch), std::nullopt);  // wrong type: the accessor does not throw

  WorkerEvent f = MustParse(R"({"event":"epoch","epoch":2,"val_top5":0.9,"note":[1]})");
  EXPECT_EQ(f.type, WorkerEventType::kEpoch);
  EXPECT_DOUBLE_EQ(f.Number("val_top5"), 0.9);
  EXPECT_TRUE(std::isnan(f.Number("note")));
  EXPECT_EQ(f.String("note"), std::nullopt);
}

TEST(WorkerProtocolTest, MissingFieldsAreLeftToTheReader) {
  WorkerEvent e = MustParse(R"({"event":"epoch"})");
  EXPECT_EQ(e.type, WorkerEventType::kEpoch);
  EXPECT_EQ(e.Int(kFieldEpoch), std::nullopt);
  EXPECT_TRUE(std::isnan(e.Number(kFieldValLoss)));
  EXPECT_TRUE(e.Field(kFieldTest).is_null());
}

TEST(WorkerProtocolTest, RejectsLinesThatAreNotEvents) {
  const std::vector<std::string> lines = {
      "",
      "hello from a library",
      "Epoch 3/20 loss 1.7",
      "42",
      "[1,2,3]",
      R"("event")",
      "{}",
      R"({"type":"epoch"})",
      R"({"event":5})",
      R"({"event":null})",
      R"({"event":["epoch"]})",
      R"({"event":"epoch")",              // cut short
      R"({"event":"epoch","epoch":1}})",  // trailing garbage
      R"({"event":"epoch","val_loss":NaN})",
      R"({"event":"epoch","val_loss":1e999})",
      std::string("{\"event\":\"err\xff\"}"),  // invalid UTF-8
      std::string("{\"event\":\"epoch\"}\0{}", 20),
      std::string(100000, '[') + std::string(100000, ']'),
      R"({"event":"epoch","x":)" + std::string(5000, '{'),
  };
  for (const std::string& line : lines) {
    Result<WorkerEvent> e = ParseWorkerEventLine(line);
    ASSERT_FALSE(e.ok()) << line.substr(0, 60);
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << line.substr(0, 60);
    EXPECT_THAT(e.status().message(), HasSubstr("not an event line")) << line.substr(0, 60);
  }
}

TEST(WorkerProtocolTest, RejectsEventsWithMalformedFields) {
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"event":"epoch","epoch":"three"})", R"("epoch" event: field "epoch" is not an integer)"},
      {R"({"event":"epoch","epoch":-1})", R"(field "epoch" is not an integer in [0, )"},
      {R"({"event":"epoch","epoch":2.5})", R"(field "epoch" is not an integer)"},
      {R"({"event":"progress","batch":99999999999})", R"(field "batch" is not an integer)"},
      // Integers are never non-finite: null is not one.
      {R"({"event":"started","max_epochs":null})", R"(field "max_epochs" is not an integer)"},
      {R"({"event":"epoch","val_loss":"low"})", R"(field "val_loss" is not a number)"},
      {R"({"event":"started","device":0})", R"("started" event: field "device" is not a string)"},
      {R"({"event":"final","stopped_early":1})", R"(field "stopped_early" is not true or false)"},
      {R"({"event":"final","best_val_loss":[1]})", R"(field "best_val_loss" is not a number)"},
      {R"({"event":"final","model_path":{}})", R"(field "model_path" is not a string)"},
      {R"({"event":"final","test":[]})", R"(field "test" is not an object)"},
      {R"({"event":"final","test":{"accuracy":"high"}})",
       R"(field "test.accuracy" is not a number)"},
      {R"({"event":"final","test":{"classes":["Rock",2]}})",
       R"(field "test.classes" holds a non-string)"},
      {R"({"event":"final","test":{"confusion":[1,2]}})",
       R"(field "test.confusion" holds a row that is not an array)"},
      {R"({"event":"final","test":{"confusion":[["1"]]}})",
       R"(field "test.confusion" holds a non-number)"},
      {R"({"event":"final","test":{"recall":0.5}})", R"(field "test.recall" is not an array)"},
      {R"({"event":"final","test":{"track":[]}})", R"(field "test.track" is not an object)"},
      {R"({"event":"final","test":{"track":{"macro_f1":"x"}}})",
       R"(field "test.track.macro_f1" is not a number)"},
      {R"({"event":"epoch","val_track_accuracy":"high"})",
       R"(field "val_track_accuracy" is not a number)"},
      {R"({"event":"stopped","reason":1})", R"("stopped" event: field "reason" is not a string)"},
      {R"({"event":"error","kind":"oom","message":null})",
       R"("error" event: field "message" is not a string)"},
  };
  for (const Case& c : cases) {
    Result<WorkerEvent> e = ParseWorkerEventLine(c.line);
    ASSERT_FALSE(e.ok()) << c.line;
    EXPECT_EQ(e.status().code(), StatusCode::kCorruption) << c.line;
    EXPECT_THAT(e.status().message(), HasSubstr(c.message)) << c.line;
  }
}

// The parser is pointed at a fuzzer; here a cheap deterministic stand-in: mutated real
// lines and random bytes must give a value or a Status, never an exception or a crash.
TEST(WorkerProtocolTest, NeverThrowsOnMutatedLines) {
  const std::vector<std::string> seeds = {kStartedLine, kProgressLine, kEpochLine,
                                          kFinalLine,   kStoppedLine,  kErrorLine};
  std::mt19937 rng(10);
  const std::string alphabet = "{}[]\",:0123456789.-+eE\\u nulltruefalse\xff\x00\n";
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !line.empty(); ++k) {
      const size_t at = rng() % line.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          line[at] = c;
          break;
        case 1:
          line.insert(line.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          line.erase(at, 1 + rng() % 8);
      }
    }
    if (i % 10 == 0) {  // now and then pure noise
      line.resize(rng() % 64);
      for (char& c : line) c = static_cast<char>(rng());
    }
    Result<WorkerEvent> e = [&] {
      try {
        return ParseWorkerEventLine(line);
      } catch (...) {
        ADD_FAILURE() << "threw on: " << line;
        return Result<WorkerEvent>(Status::Internal("threw"));
      }
    }();
    if (e.ok()) {
      ++parsed;
      (void)e->Int(kFieldEpoch);  // the accessors hold on what was accepted
      (void)e->Number(kFieldValLoss);
      (void)e->String(kFieldReason);
    } else {
      ++rejected;
      EXPECT_NE(e.status().code(), StatusCode::kInternal) << e.status().ToString();
    }
  }
  EXPECT_GT(parsed, 100);  // the mutations exercise both outcomes
  EXPECT_GT(rejected, 100);
}

TEST(WorkerProtocolTest, ExitCodesAreTheDocumentedOnes) {
  // docs/worker-protocol.md "Exit codes"; scripts and older orchestrators rely on them.
  EXPECT_EQ(kExitComplete, 0);
  EXPECT_EQ(kExitFailed, 1);
  EXPECT_EQ(kExitBadSpec, 2);
  EXPECT_EQ(kExitStopped, 3);
  EXPECT_EQ(kWorkerSpecVersion, 1);
}

TEST(WorkerProtocolTest, TrainerCommands) {
  std::set<std::string> names;
  for (const TrainerCommand& c : kTrainerCommands) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
    EXPECT_STRNE(c.help, "") << c.name;
    EXPECT_EQ(FindTrainerCommand(c.name), &c);
  }
  EXPECT_EQ(names, (std::set<std::string>{"prepare", "features", "train", "predict", "worker"}));
  EXPECT_EQ(FindTrainerCommand("run"), nullptr);  // mgr-tune's own
  EXPECT_EQ(FindTrainerCommand("Worker"), nullptr);
  EXPECT_STREQ(TrainerCommandHelp("studies"), "");
  EXPECT_THAT(TrainerCommandHelp("worker"), HasSubstr("docs/worker-protocol.md"));
}

}  // namespace
}  // namespace mgr
