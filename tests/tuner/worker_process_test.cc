#include "tuner/worker_process.h"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "storage/distribution.h"  // Json

namespace mgr {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

struct WorkerRun {
  std::vector<Json> events;
  std::vector<std::pair<std::string, Status>> garbage;  // lines that are not events, and why
  std::optional<WorkerExit> exit;
};

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    dir_ = fs::temp_directory_path() /
           ("mgr_wp_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Spec(const Json& hparams) {
    Json spec = {{"version", 1},
                 {"trial", {{"study", "t/s"}, {"number", 0}, {"trial_id", 1}}},
                 {"checkpoint_dir", (dir_ / "ckpt").string()},
                 {"hparams", hparams}};
    const std::string path = (dir_ / "spec.json").string();
    std::ofstream(path) << spec.dump();
    return path;
  }

  // Starts the fake worker; `on_event` may talk back to it.
  std::unique_ptr<WorkerProcess> Start(
      boost::asio::io_context& io, const Json& hparams, WorkerRun* run,
      std::function<void(WorkerProcess*, const Json&)> on_event = {}) {
    WorkerProcess::Callbacks cb;
    WorkerProcess** self = new WorkerProcess*(nullptr);
    holders_.emplace_back(self);
    cb.on_event = [run, on_event, self](const WorkerEvent& e) {
      run->events.push_back(e.fields);
      if (on_event) on_event(*self, e.fields);
    };
    cb.on_garbage = [run](const std::string& line, const Status& why) {
      run->garbage.emplace_back(line, why);
    };
    cb.on_exit = [run](const WorkerExit& e) { run->exit = e; };
    auto p =
        WorkerProcess::Start(io, {MGR_FAKE_WORKER, "worker", Spec(hparams)},
                             {{"CUDA_VISIBLE_DEVICES", "3"}}, (dir_ / "stderr.log").string(), cb);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    *self = p->get();
    return std::move(*p);
  }

  fs::path dir_;
  std::vector<std::unique_ptr<WorkerProcess*>> holders_;
};

TEST_F(WorkerProcessTest, ReadsEveryEventAndTheExitCode) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"max_epochs", 3}, {"lr", 0.01}}, &run);
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->exit_code, 0);
  EXPECT_EQ(run.exit->signal, 0);
  ASSERT_EQ(run.events.size(), 5u);  // started, 3 epochs, final
  EXPECT_EQ(run.events[0]["event"], "started");
  EXPECT_EQ(run.events[0]["device"], "cuda");  // CUDA_VISIBLE_DEVICES=3 reached the child
  EXPECT_EQ(run.events[3]["epoch"], 3);
  EXPECT_DOUBLE_EQ(run.events[3]["val_loss"].get<double>(), 0.5 + 0.5 + 1.0 / 3);
  EXPECT_EQ(run.events[4]["event"], "final");
  EXPECT_TRUE(w->exited());
  // stderr went to the log file too.
  std::ifstream log(dir_ / "stderr.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_THAT(text, HasSubstr("fake_worker: trial"));
}

TEST_F(WorkerProcessTest, LinesThatAreNotEventsGoToOnGarbage) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"max_epochs", 1}, {"noise", true}}, &run);
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->exit_code, 0);
  ASSERT_EQ(run.garbage.size(), 2u);
  EXPECT_EQ(run.garbage[0].first, "fake_worker: not an event");
  EXPECT_EQ(run.garbage[0].second.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run.garbage[1].second.code(), StatusCode::kCorruption);  // {"epoch":"one"}
  EXPECT_THAT(run.garbage[1].second.message(), HasSubstr("field \"epoch\""));
  ASSERT_EQ(run.events.size(), 3u);  // the events around them still arrive: started, epoch, final
  EXPECT_EQ(run.events[0]["event"], "started");
  EXPECT_EQ(run.events[2]["event"], "final");
}

TEST_F(WorkerProcessTest, PruneStopsTheWorkerWithExitCode3) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"max_epochs", 50}, {"sleep_per_epoch", 0.05}}, &run,
                 [](WorkerProcess* p, const Json& e) {
                   if (e["event"] == "epoch" && e["epoch"] == 2) p->Send("prune");
                 });
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->exit_code, 3);
  EXPECT_EQ(run.events.back()["event"], "stopped");
  EXPECT_EQ(run.events.back()["reason"], "prune");
  EXPECT_LT(run.events.size(), 10u);
  // The checkpoint of the last epoch is kept: a restart resumes after it.
  WorkerRun again;
  auto w2 = Start(io, {{"max_epochs", 4}}, &again);
  io.restart();
  io.run();
  ASSERT_TRUE(again.exit.has_value());
  EXPECT_EQ(again.events[0]["resumed_from_epoch"], run.events.back()["epoch"]);
}

TEST_F(WorkerProcessTest, ClosingStdinStopsTheWorker) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"max_epochs", 1000}, {"sleep_per_epoch", 0.05}}, &run,
                 [](WorkerProcess* p, const Json& e) {
                   if (e["event"] == "epoch") p->CloseStdin();
                 });
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->exit_code, 3);
  EXPECT_EQ(run.events.back()["reason"], "stop");
}

TEST_F(WorkerProcessTest, CrashGivesTheSignalAndTheLastStderrLines) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"max_epochs", 5}, {"crash_at_epoch", 2}}, &run);
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->signal, SIGABRT);
  EXPECT_EQ(run.exit->exit_code, -1);
  EXPECT_THAT(run.exit->stderr_tail, HasSubstr("crashing at epoch 2"));
  EXPECT_THAT(run.exit->Describe(), HasSubstr("killed by signal 6"));
}

TEST_F(WorkerProcessTest, HungWorkerIsKilled) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"hang", true}}, &run, [](WorkerProcess* p, const Json& e) {
    if (e["event"] == "started") {
      p->Send("stop");  // ignored by a hung worker
      p->Kill();
    }
  });
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->signal, SIGKILL);
}

TEST_F(WorkerProcessTest, ErrorsAreValues) {
  boost::asio::io_context io;
  auto p = WorkerProcess::Start(io, {"/nonexistent/mgr-train", "worker", "x"}, {}, "", {});
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("/nonexistent/mgr-train does not exist"));
  auto q = WorkerProcess::Start(io, {"no-such-program-mgr"}, {}, "", {});
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(q.status().message(), HasSubstr("cannot find no-such-program-mgr in PATH"));
}

TEST_F(WorkerProcessTest, SpecErrorExitsWith2) {
  boost::asio::io_context io;
  WorkerRun run;
  auto w = Start(io, {{"spec_error", 1}}, &run);
  io.run();
  ASSERT_TRUE(run.exit.has_value());
  EXPECT_EQ(run.exit->exit_code, 2);
  EXPECT_EQ(run.events.back()["kind"], "spec");
}

}  // namespace
}  // namespace mgr
