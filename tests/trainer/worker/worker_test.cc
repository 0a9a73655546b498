// The trial worker against docs/worker-protocol.md: in-process with injected fake training
// functions (event order, stop handling, error mapping, exit codes), and the real
// mgr-train binary on the tiny generated dataset.
#include "trainer/worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/trainer/worker_test_util.h"
#include "trainer/models/training_error.h"

namespace mgr {
namespace {

using worker_test::Child;
using worker_test::Json;
using worker_test::TempDir;

const char* const kClasses[] = {"Electronic",   "Experimental",  "Folk", "Hip-Hop",
                                "Instrumental", "International", "Pop",  "Rock"};

// The protocol's field lists (docs/worker-protocol.md, "Events").
const std::vector<std::string> kStartedFields = {
    "pid", "device", "threads", "resumed_from_epoch", "max_epochs", "train_clips", "val_clips"};
const std::vector<std::string> kEpochFields = {
    "epoch",        "max_epochs",   "train_loss", "train_accuracy",     "val_loss",
    "val_accuracy", "val_macro_f1", "seconds",    "samples_per_second", "peak_memory_bytes"};
const std::vector<std::string> kFinalFields = {"epochs_run", "best_epoch",     "best_val_loss",
                                               "monitor",    "best_monitored", "stopped_early"};

void ExpectFields(const Json& event, const std::vector<std::string>& fields) {
  for (const auto& f : fields) EXPECT_TRUE(event.contains(f)) << f << " missing in " << event;
}

// Collects the event lines an in-process RunWorker writes.
class EventSink {
 public:
  EventSink() {
    EXPECT_EQ(::pipe(fds_), 0);
    writer_ = std::make_unique<EventWriter>(fds_[1]);
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fds_[0], buf, sizeof buf)) > 0) text_.append(buf, n);
    });
  }
  ~EventSink() { Close(); }
  EventWriter* writer() { return writer_.get(); }
  // Closes the pipe and returns the events.
  std::vector<Json> Close() {
    if (fds_[1] >= 0) {
      ::close(fds_[1]);
      fds_[1] = -1;
      reader_.join();
      ::close(fds_[0]);
    }
    std::vector<Json> events;
    std::istringstream in(text_);
    std::string line;
    while (std::getline(in, line)) events.push_back(Json::parse(line));
    return events;
  }

 private:
  int fds_[2] = {-1, -1};
  std::unique_ptr<EventWriter> writer_;
  std::thread reader_;
  std::string text_;
};

std::vector<std::string> Names(const std::vector<Json>& events) {
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e["event"]);
  return names;
}

// A valid spec (ParseTrainSpec does not touch the files; fakes do not either).
Json FakeSpec() { return worker_test::TinySpec("/nonexistent", "/nonexistent/ckpt", 2); }

EpochMetrics Metrics(int epoch, int max_epochs, double val_loss) {
  EpochMetrics m;
  m.epoch = epoch;
  m.max_epochs = max_epochs;
  m.train_loss = 2.0 - 0.1 * epoch;
  m.train_accuracy = 0.1 * epoch;
  m.val_loss = val_loss;
  m.val_accuracy = 0.2;
  m.val_macro_f1 = 0.15;
  m.seconds = 1.5;
  return m;
}

// A fake that runs `epochs` epochs of `batches` batches, polling should_stop.
TrainOutcome FakeTrain(const TrainCallbacks& cb, int epochs, int batches,
                       const std::function<void(int)>& after_epoch = nullptr) {
  TrainStart start;
  start.device = "cpu";
  start.threads = 1;
  start.max_epochs = epochs;
  start.train_clips = 80;
  start.val_clips = 24;
  cb.on_start(start);
  TrainOutcome out;
  double losses[] = {1.9, 1.7, 1.8, 1.6};
  for (int e = 1; e <= epochs; ++e) {
    for (int b = 1; b <= batches; ++b) {
      if (cb.should_stop()) {
        out.stopped = true;
        return out;
      }
      cb.on_progress(e, b, batches);
    }
    cb.on_epoch(Metrics(e, epochs, losses[(e - 1) % 4]));
    out.epochs_run = e;
    if (after_epoch) after_epoch(e);
  }
  out.best_epoch = 2;
  out.best_val_loss = 1.7;
  out.best_monitored = 1.7;
  return out;
}

TEST(DescribeFailureTest, MapsExceptionsToKindsAndExitCodes) {
  auto describe = [](auto thrower) {
    try {
      thrower();
    } catch (...) {
      return DescribeFailure(std::current_exception());
    }
    return WorkerFailure{};
  };
  using K = TrainingError::Kind;
  struct Case {
    K kind;
    const char* name;
    int code;
  } cases[] = {{K::kSpec, "spec", 2},
               {K::kData, "data", 1},
               {K::kOom, "oom", 1},
               {K::kNan, "nan", 1},
               {K::kInternal, "internal", 1}};
  for (const auto& c : cases) {
    WorkerFailure f = describe([&] { throw TrainingError(c.kind, "what happened"); });
    EXPECT_EQ(f.kind, c.name);
    EXPECT_EQ(f.exit_code, c.code) << c.name;
    EXPECT_EQ(f.message, "what happened");
  }
  // A real allocation failure in libtorch (128 TiB).
  WorkerFailure oom = describe([] { (void)torch::empty({int64_t{1} << 45}, torch::kFloat32); });
  EXPECT_EQ(oom.kind, "oom") << oom.message;
  EXPECT_EQ(oom.exit_code, 1);
  WorkerFailure bad_alloc = describe([] { throw std::bad_alloc(); });
  EXPECT_EQ(bad_alloc.kind, "oom");
  WorkerFailure c10 = describe([] { (void)torch::ones({2, 3}).matmul(torch::ones({2, 3})); });
  EXPECT_EQ(c10.kind, "internal");
  EXPECT_NE(c10.message.find("shapes cannot be multiplied"), std::string::npos) << c10.message;
  EXPECT_EQ(c10.message.find("Exception raised from"), std::string::npos);  // no backtrace
  WorkerFailure other = describe([] { throw std::runtime_error("boom"); });
  EXPECT_EQ(other.kind, "internal");
  EXPECT_EQ(other.message, "boom");
  EXPECT_EQ(describe([] { throw 42; }).kind, "internal");
}

TEST(RunWorkerTest, CompleteRunEmitsEventsInOrder) {
  EventSink sink;
  WorkerHooks hooks;
  hooks.train = [](const TrainSpec& spec, const TrainCallbacks& cb) {
    EXPECT_EQ(spec.family, "nnet2");
    TrainOutcome out = FakeTrain(cb, 2, 3);
    TestMetrics t;
    t.loss = 1.6;
    t.accuracy = 0.5;
    t.macro_f1 = 0.4;
    t.precision = {0.5, 0.5};
    t.recall = {0.25, 0.75};
    t.confusion = {{1, 3}, {1, 3}};
    t.classes = {"A", "B"};
    out.test = t;
    return out;
  };
  StopToken stop;
  WorkerOptions options;
  options.progress_interval_seconds = 0;  // every progress callback becomes an event
  int code = RunWorker(FakeSpec(), hooks, sink.writer(), &stop, stderr, options);
  EXPECT_EQ(code, 0);
  std::vector<Json> events = sink.Close();
  std::vector<std::string> want = {"started",  "progress", "progress", "progress", "epoch",
                                   "progress", "progress", "progress", "epoch",    "final"};
  EXPECT_EQ(Names(events), want);
  ExpectFields(events[0], kStartedFields);
  EXPECT_EQ(events[0]["pid"], ::getpid());
  EXPECT_EQ(events[1]["batch"], 1);
  EXPECT_EQ(events[1]["batches"], 3);
  ExpectFields(events[4], kEpochFields);
  EXPECT_EQ(events[4]["epoch"], 1);
  EXPECT_EQ(events[8]["epoch"], 2);
  EXPECT_DOUBLE_EQ(events[8]["val_loss"].get<double>(), 1.7);
  const Json& final_event = events.back();
  ExpectFields(final_event, kFinalFields);
  EXPECT_EQ(final_event["epochs_run"], 2);
  EXPECT_EQ(final_event["best_epoch"], 2);
  EXPECT_FALSE(final_event.contains("model_path"));  // export_dir is null
  EXPECT_EQ(final_event["test"]["confusion"], Json::parse("[[1,3],[1,3]]"));
  EXPECT_EQ(final_event["test"]["classes"], Json::parse("[\"A\",\"B\"]"));
  EXPECT_DOUBLE_EQ(final_event["test"]["recall"][1].get<double>(), 0.75);
}

TEST(RunWorkerTest, ProgressIsThrottled) {
  EventSink sink;
  WorkerHooks hooks;
  hooks.train = [](const TrainSpec&, const TrainCallbacks& cb) { return FakeTrain(cb, 1, 50); };
  StopToken stop;
  WorkerOptions options;
  options.progress_interval_seconds = 3600;
  EXPECT_EQ(RunWorker(FakeSpec(), hooks, sink.writer(), &stop, stderr, options), 0);
  std::vector<Json> events = sink.Close();
  // 50 batches within far less than an hour: only the first is reported.
  EXPECT_EQ(Names(events), (std::vector<std::string>{"started", "progress", "epoch", "final"}));
}

TEST(RunWorkerTest, PruneCommandStopsAtBatchBoundary) {
  EventSink sink;
  int commands[2];
  ASSERT_EQ(::pipe(commands), 0);
  StopToken stop;
  CommandReader reader(commands[0], &stop, stderr);
  WorkerHooks hooks;
  hooks.train = [&](const TrainSpec&, const TrainCallbacks& cb) {
    return FakeTrain(cb, 3, 4, [&](int epoch) {
      if (epoch != 1) return;
      ASSERT_EQ(::write(commands[1], "prune\n", 6), 6);
      // Wait for the reader thread so the outcome does not depend on scheduling.
      for (int i = 0; i < 1000 && !stop.requested(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  };
  int code = RunWorker(FakeSpec(), hooks, sink.writer(), &stop, stderr);
  EXPECT_EQ(code, 3);
  std::vector<Json> events = sink.Close();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "stopped");
  EXPECT_EQ(events.back()["reason"], "prune");
  EXPECT_EQ(events.back()["epoch"], 1);  // the last checkpointed epoch
  for (const auto& e : events) EXPECT_NE(e["event"], "final");
  ::close(commands[1]);
  ::close(commands[0]);
}

TEST(RunWorkerTest, SignalReasonIsReported) {
  EventSink sink;
  StopToken stop;
  WorkerHooks hooks;
  hooks.train = [&](const TrainSpec&, const TrainCallbacks& cb) {
    SignalStopScope scope(&stop);
    ::raise(SIGTERM);
    return FakeTrain(cb, 2, 2);
  };
  EXPECT_EQ(RunWorker(FakeSpec(), hooks, sink.writer(), &stop, stderr), 3);
  std::vector<Json> events = sink.Close();
  EXPECT_EQ(Names(events), (std::vector<std::string>{"started", "stopped"}));
  EXPECT_EQ(events.back()["reason"], "signal");
  EXPECT_EQ(events.back()["epoch"], 0);
}

TEST(RunWorkerTest, NanLossFailsWithKindNan) {
  EventSink sink;
  StopToken stop;
  WorkerHooks hooks;
  hooks.train = [](const TrainSpec&, const TrainCallbacks& cb) -> TrainOutcome {
    cb.on_start(TrainStart{});
    throw TrainingError(TrainingError::Kind::kNan, "training loss is nan at epoch 1 batch 3");
  };
  EXPECT_EQ(RunWorker(FakeSpec(), hooks, sink.writer(), &stop, stderr), 1);
  std::vector<Json> events = sink.Close();
  EXPECT_EQ(Names(events), (std::vector<std::string>{"started", "error"}));
  EXPECT_EQ(events.back()["kind"], "nan");
  EXPECT_EQ(events.back()["message"], "training loss is nan at epoch 1 batch 3");
}

TEST(RunWorkerTest, OutOfMemoryInTrainingFailsWithKindOom) {
  EventSink sink;
  StopToken stop;
  WorkerHooks hooks;
  hooks.train = [](const TrainSpec&, const TrainCallbacks&) -> TrainOutcome {
    torch::Tensor huge = torch::empty({int64_t{1} << 45});
    return TrainOutcome{};
  };
  EXPECT_EQ(RunWorker(FakeSpec(), hooks, sink.writer(), &stop, stderr), 1);
  std::vector<Json> events = sink.Close();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["kind"], "oom");
}

TEST(RunWorkerTest, BadSpecNeverTrains) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string path_in_message;
  } cases[] = {
      {[](Json& s) { s["hparams"]["dense_unitz_0"] = 3; }, "hparams.dense_unitz_0"},
      {[](Json& s) { s.erase("checkpoint_dir"); }, "checkpoint_dir"},
      {[](Json& s) { s["data"].erase("cache_dir"); }, "data.cache_dir"},
      {[](Json& s) { s["hparams"]["lr"] = "fast"; }, "hparams.lr"},
      {[](Json& s) { s["model"]["family"] = "nnet9"; }, "model.family"},
  };
  for (const auto& c : cases) {
    EventSink sink;
    StopToken stop;
    bool trained = false;
    WorkerHooks hooks;
    hooks.train = [&](const TrainSpec&, const TrainCallbacks&) {
      trained = true;
      return TrainOutcome{};
    };
    Json spec = FakeSpec();
    c.edit(spec);
    EXPECT_EQ(RunWorker(spec, hooks, sink.writer(), &stop, stderr), 2) << c.path_in_message;
    EXPECT_FALSE(trained);
    std::vector<Json> events = sink.Close();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0]["event"], "error");
    EXPECT_EQ(events[0]["kind"], "spec");
    EXPECT_NE(events[0]["message"].get<std::string>().find(c.path_in_message), std::string::npos)
        << events[0]["message"];
  }
}

TEST(RunWorkerTest, ExportPathInFinalAndExportFailureFails) {
  Json spec = FakeSpec();
  spec["export_dir"] = "/somewhere/export";
  for (bool export_ok : {true, false}) {
    EventSink sink;
    StopToken stop;
    std::string export_dir_seen;
    WorkerHooks hooks;
    hooks.train = [](const TrainSpec&, const TrainCallbacks& cb) { return FakeTrain(cb, 1, 1); };
    hooks.export_model = [&](const TrainSpec&, const std::string& dir) -> Result<std::string> {
      export_dir_seen = dir;
      if (!export_ok) return Status::IoError("disk full");
      return dir + "/model.pt";
    };
    int code = RunWorker(spec, hooks, sink.writer(), &stop, stderr);
    std::vector<Json> events = sink.Close();
    EXPECT_EQ(export_dir_seen, "/somewhere/export");
    if (export_ok) {
      EXPECT_EQ(code, 0);
      EXPECT_EQ(events.back()["event"], "final");
      EXPECT_EQ(events.back()["model_path"], "/somewhere/export/model.pt");
    } else {
      EXPECT_EQ(code, 1);
      EXPECT_EQ(events.back()["event"], "error");
      EXPECT_NE(events.back()["message"].get<std::string>().find("disk full"), std::string::npos);
    }
  }
}

TEST(RunWorkerFromFileTest, MissingAndInvalidSpecFiles) {
  TempDir tmp;
  std::string bad = tmp.path() + "/bad.json";
  worker_test::WriteText(bad, "{\"version\": 1,");
  for (const std::string& path : {tmp.path() + "/missing.json", bad}) {
    EventSink sink;
    StopToken stop;
    WorkerHooks hooks;
    EXPECT_EQ(RunWorkerFromFile(path, hooks, sink.writer(), &stop, stderr), 2);
    std::vector<Json> events = sink.Close();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0]["kind"], "spec");
    EXPECT_NE(events[0]["message"].get<std::string>().find(path), std::string::npos);
  }
}

// --- the real binary on the tiny dataset ---------------------------------------------------

class WorkerBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = worker_test::TinyDataset();
    ASSERT_FALSE(data_.empty()) << "could not build the tiny dataset (see " << MGR_BINARY_DIR
                                << "/tests/trainer/worker-tiny/*.log)";
  }
  std::string WriteSpec(const Json& spec, const std::string& name = "spec.json") {
    std::string path = tmp_.path() + "/" + name;
    worker_test::WriteText(path, spec.dump(2));
    return path;
  }
  std::unique_ptr<Child> Start(const std::string& spec_path) {
    return std::make_unique<Child>(std::vector<std::string>{MGR_TRAIN_BINARY, "worker", spec_path},
                                   tmp_.path() + "/stderr-" + std::to_string(++runs_) + ".log");
  }

  std::string data_;
  TempDir tmp_;
  int runs_ = 0;
};

TEST_F(WorkerBinaryTest, FullRunWithTestAndExport) {
  Json spec = worker_test::TinySpec(data_, tmp_.path() + "/ckpt", 2);
  spec["evaluate_test"] = true;
  spec["export_dir"] = tmp_.path() + "/export";
  auto child = Start(WriteSpec(spec));
  std::vector<Json> events = child->Rest();
  int code = child->Wait();
  ASSERT_EQ(code, 0) << child->Stderr();
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front()["event"], "started");
  ExpectFields(events.front(), kStartedFields);
  EXPECT_EQ(events.front()["pid"], child->pid());
  EXPECT_EQ(events.front()["device"], "cpu");
  EXPECT_EQ(events.front()["resumed_from_epoch"], 0);
  EXPECT_EQ(events.front()["max_epochs"], 2);
  // The generator's tiny size: 10 training and 3 validation tracks per genre, all usable.
  EXPECT_EQ(events.front()["train_clips"], 80);
  EXPECT_EQ(events.front()["val_clips"], 24);

  std::vector<Json> epochs;
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    const std::string name = events[i]["event"];
    ASSERT_TRUE(name == "progress" || name == "epoch") << events[i];
    if (name == "progress") {
      EXPECT_GE(events[i]["batch"].get<int>(), 1);
      EXPECT_LE(events[i]["batch"].get<int>(), events[i]["batches"].get<int>());
      EXPECT_EQ(events[i]["epoch"].get<int>(), static_cast<int>(epochs.size()) + 1);
    } else {
      epochs.push_back(events[i]);
    }
  }
  ASSERT_EQ(epochs.size(), 2u);
  double best = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  for (size_t i = 0; i < epochs.size(); ++i) {
    ExpectFields(epochs[i], kEpochFields);
    EXPECT_EQ(epochs[i]["epoch"], static_cast<int>(i) + 1);
    EXPECT_EQ(epochs[i]["max_epochs"], 2);
    double v = epochs[i]["val_loss"];
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_GE(epochs[i]["val_accuracy"].get<double>(), 0.0);
    EXPECT_LE(epochs[i]["val_accuracy"].get<double>(), 1.0);
    if (v < best) best = v, best_epoch = static_cast<int>(i) + 1;
  }
  const Json& fin = events.back();
  ASSERT_EQ(fin["event"], "final") << fin;
  ExpectFields(fin, kFinalFields);
  EXPECT_EQ(fin["epochs_run"], 2);
  EXPECT_EQ(fin["best_epoch"], best_epoch);
  EXPECT_DOUBLE_EQ(fin["best_val_loss"].get<double>(), best);
  EXPECT_EQ(fin["monitor"], "val_loss");  // the default
  EXPECT_DOUBLE_EQ(fin["best_monitored"].get<double>(), best);
  ASSERT_TRUE(fin.contains("test"));
  const Json& test = fin["test"];
  EXPECT_EQ(test["classes"].size(), 8u);
  for (int c = 0; c < 8; ++c) EXPECT_EQ(test["classes"][c], kClasses[c]);
  int64_t total = 0, diagonal = 0;
  for (int r = 0; r < 8; ++r) {
    int64_t row = 0;
    for (int c = 0; c < 8; ++c) row += test["confusion"][r][c].get<int64_t>();
    EXPECT_EQ(row, 3) << "3 test tracks per genre";
    total += row;
    diagonal += test["confusion"][r][r].get<int64_t>();
  }
  EXPECT_EQ(total, 24);
  EXPECT_NEAR(test["accuracy"].get<double>(), static_cast<double>(diagonal) / total, 1e-9);
  ASSERT_TRUE(fin.contains("model_path"));
  EXPECT_TRUE(worker_test::Exists(fin["model_path"].get<std::string>()));
  EXPECT_TRUE(worker_test::Exists(tmp_.path() + "/export/model.json"));
}

TEST_F(WorkerBinaryTest, PruneKeepsCheckpointAndRerunResumes) {
  const std::string ckpt = tmp_.path() + "/ckpt";
  std::string spec_path = WriteSpec(worker_test::TinySpec(data_, ckpt, 4));
  int stopped_epoch = 0;
  {
    auto child = Start(spec_path);
    auto first = child->WaitFor("epoch");
    ASSERT_TRUE(first.has_value()) << child->Stderr();
    ASSERT_EQ((*first)["event"], "epoch") << *first;
    ASSERT_EQ((*first)["epoch"], 1);
    child->Send("prune");
    int last_epoch = 1;
    std::optional<Json> end;
    while (auto e = child->NextEvent()) {
      if ((*e)["event"] == "epoch") last_epoch = (*e)["epoch"];
      if ((*e)["event"] == "stopped" || (*e)["event"] == "final" || (*e)["event"] == "error") {
        end = e;
      }
    }
    EXPECT_EQ(child->Wait(), 3) << child->Stderr();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ((*end)["event"], "stopped") << *end;
    EXPECT_EQ((*end)["reason"], "prune");
    EXPECT_EQ((*end)["epoch"], last_epoch);
    stopped_epoch = last_epoch;
    ASSERT_LT(stopped_epoch, 4) << "the prune came too late to test resuming";
  }
  EXPECT_TRUE(worker_test::Exists(ckpt + "/checkpoint.pt"));

  auto child = Start(spec_path);
  std::vector<Json> events = child->Rest();
  ASSERT_EQ(child->Wait(), 0) << child->Stderr();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["event"], "started");
  EXPECT_EQ(events.front()["resumed_from_epoch"], stopped_epoch);
  int expected = stopped_epoch + 1;
  for (const auto& e : events) {
    if (e["event"] == "epoch") {
      EXPECT_EQ(e["epoch"], expected++);
    }
  }
  EXPECT_EQ(expected, 5);
  EXPECT_EQ(events.back()["event"], "final");
  EXPECT_EQ(events.back()["epochs_run"], 4);
}

TEST_F(WorkerBinaryTest, SigtermStopsWithExitCode3) {
  auto child = Start(WriteSpec(worker_test::TinySpec(data_, tmp_.path() + "/ckpt", 50)));
  auto started = child->WaitFor("started");
  ASSERT_TRUE(started.has_value()) << child->Stderr();
  ASSERT_EQ((*started)["event"], "started") << *started;
  child->Signal(SIGTERM);
  std::vector<Json> rest = child->Rest();
  EXPECT_EQ(child->Wait(), 3) << child->Stderr();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back()["event"], "stopped");
  EXPECT_EQ(rest.back()["reason"], "signal");
}

TEST_F(WorkerBinaryTest, EndOfStdinStops) {
  auto child = Start(WriteSpec(worker_test::TinySpec(data_, tmp_.path() + "/ckpt", 50)));
  child->CloseStdin();
  std::vector<Json> events = child->Rest();
  EXPECT_EQ(child->Wait(), 3) << child->Stderr();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "stopped");
  EXPECT_EQ(events.back()["reason"], "stop");
}

TEST_F(WorkerBinaryTest, BadSpecExitsWith2AndNamesThePath) {
  Json spec = worker_test::TinySpec(data_, tmp_.path() + "/ckpt", 2);
  spec["hparams"]["dense_unitz_0"] = 4;
  auto child = Start(WriteSpec(spec));
  std::vector<Json> events = child->Rest();
  EXPECT_EQ(child->Wait(), 2);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "error");
  EXPECT_EQ(events[0]["kind"], "spec");
  EXPECT_NE(events[0]["message"].get<std::string>().find("hparams.dense_unitz_0"),
            std::string::npos);

  spec = worker_test::TinySpec(data_, tmp_.path() + "/ckpt", 2);
  spec["data"].erase("metadata");
  child = Start(WriteSpec(spec, "spec2.json"));
  events = child->Rest();
  EXPECT_EQ(child->Wait(), 2);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["kind"], "spec");
  EXPECT_NE(events[0]["message"].get<std::string>().find("data.metadata"), std::string::npos);
}

TEST_F(WorkerBinaryTest, MissingDataFailsWithExitCode1) {
  Json spec = worker_test::TinySpec(data_, tmp_.path() + "/ckpt", 2);
  spec["data"]["metadata"] = tmp_.path() + "/no/tracks.csv";
  auto child = Start(WriteSpec(spec));
  std::vector<Json> events = child->Rest();
  EXPECT_EQ(child->Wait(), 1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "error");
  EXPECT_EQ(events.back()["kind"], "data");
  EXPECT_NE(events.back()["message"].get<std::string>().find("tracks.csv"), std::string::npos);
}

}  // namespace
}  // namespace mgr
