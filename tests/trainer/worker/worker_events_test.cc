#include "trainer/worker/worker_events.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace mgr {
namespace {

using Json = nlohmann::json;

// A pipe closed on destruction.
struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  void CloseRead() {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
  }
  void CloseWrite() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
  void Write(const std::string& s) {
    ASSERT_EQ(::write(fds[1], s.data(), s.size()), (ssize_t)s.size());
  }
  std::string ReadAvailable() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
      out.append(buf, n);
      if (n < (ssize_t)sizeof buf) break;
    }
    return out;
  }
};

// Polls `done` for up to 10 s (the reader thread runs asynchronously).
template <typename F>
bool WaitFor(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(EventWriterTest, FormatPutsEventFirstAndIsValidJson) {
  std::string line = EventWriter::Format("epoch", {{"epoch", 3}, {"val_loss", 1.5}});
  EXPECT_EQ(line.rfind("{\"event\":\"epoch\",", 0), 0u) << line;
  Json parsed = Json::parse(line);
  EXPECT_EQ(parsed["event"], "epoch");
  EXPECT_EQ(parsed["epoch"], 3);
  EXPECT_DOUBLE_EQ(parsed["val_loss"].get<double>(), 1.5);
  EXPECT_EQ(parsed.size(), 3u);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(EventWriterTest, NoFieldsAndEventKeyInFieldsIsNotDuplicated) {
  EXPECT_EQ(EventWriter::Format("final", Json()), "{\"event\":\"final\"}");
  EXPECT_EQ(EventWriter::Format("final", Json::object()), "{\"event\":\"final\"}");
  EXPECT_EQ(EventWriter::Format("x", {{"event", "y"}}), "{\"event\":\"x\"}");
}

TEST(EventWriterTest, NonFiniteNumbersBecomeNull) {
  Json fields = {{"a", std::numeric_limits<double>::quiet_NaN()},
                 {"b", std::numeric_limits<double>::infinity()}};
  Json parsed = Json::parse(EventWriter::Format("epoch", fields));
  EXPECT_TRUE(parsed["a"].is_null());
  EXPECT_TRUE(parsed["b"].is_null());
}

TEST(EventWriterTest, InvalidUtf8IsReplacedNotThrown) {
  std::string bad = "bad \xff\xfe byte";
  std::string line;
  ASSERT_NO_THROW(line = EventWriter::Format("error", {{"message", bad}}));
  Json parsed = Json::parse(line);
  EXPECT_NE(parsed["message"].get<std::string>().find("bad "), std::string::npos);
}

TEST(EventWriterTest, EmitsOneFlushedLinePerEvent) {
  Pipe pipe;
  EventWriter writer(pipe.fds[1]);
  ASSERT_TRUE(writer.Emit("started", {{"pid", 42}}));
  // No close, no flush call: the line must already be in the pipe.
  EXPECT_EQ(pipe.ReadAvailable(), "{\"event\":\"started\",\"pid\":42}\n");
}

TEST(EventWriterTest, ConcurrentEmitsNeverInterleave) {
  Pipe pipe;
  EventWriter writer(pipe.fds[1]);
  const int kThreads = 4, kEach = 200;
  std::string reader_out;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(pipe.fds[0], buf, sizeof buf)) > 0) reader_out.append(buf, n);
  });
  std::vector<std::thread> threads;
  std::string payload(300, 'x');  // long lines make torn writes likely if unguarded
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) writer.Emit("progress", {{"t", t}, {"i", i}, {"p", payload}});
    });
  }
  for (auto& t : threads) t.join();
  pipe.CloseWrite();
  reader.join();
  std::vector<int> next(kThreads, 0);
  size_t pos = 0, lines = 0;
  while (pos < reader_out.size()) {
    size_t nl = reader_out.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    Json j = Json::parse(reader_out.substr(pos, nl - pos));
    int t = j["t"];
    EXPECT_EQ(j["i"].get<int>(), next[t]++);  // per-thread order preserved
    pos = nl + 1;
    ++lines;
  }
  EXPECT_EQ(lines, static_cast<size_t>(kThreads * kEach));
}

TEST(EventWriterTest, ClosedReaderIsReportedNotFatal) {
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  Pipe pipe;
  pipe.CloseRead();
  EventWriter writer(pipe.fds[1]);
  EXPECT_FALSE(writer.Emit("epoch", {{"epoch", 1}}));
  EXPECT_FALSE(writer.Emit("epoch", {{"epoch", 2}}));
  ::sigaction(SIGPIPE, &old, nullptr);
}

TEST(StopTokenTest, FirstRequestWins) {
  StopToken token;
  EXPECT_FALSE(token.requested());
  EXPECT_EQ(token.reason(), StopReason::kNone);
  token.Request(StopReason::kPrune);
  token.Request(StopReason::kSignal);
  EXPECT_TRUE(token.requested());
  EXPECT_EQ(token.reason(), StopReason::kPrune);
  EXPECT_STREQ(StopReasonName(token.reason()), "prune");
  EXPECT_STREQ(StopReasonName(StopReason::kStop), "stop");
  EXPECT_STREQ(StopReasonName(StopReason::kSignal), "signal");
}

TEST(CommandReaderTest, PruneLine) {
  Pipe pipe;
  StopToken token;
  CommandReader reader(pipe.fds[0], &token, stderr);
  pipe.Write("  prune \r\n");
  EXPECT_TRUE(WaitFor([&] { return token.requested(); }));
  EXPECT_EQ(token.reason(), StopReason::kPrune);
}

TEST(CommandReaderTest, StopLineAfterUnknownAndBlankLines) {
  Pipe pipe;
  StopToken token;
  CommandReader reader(pipe.fds[0], &token, stderr);
  pipe.Write("\nhello\n");
  // Unknown commands are ignored: give the reader time to (not) react.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(token.requested());
  pipe.Write("st");  // a command split across writes
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(token.requested());
  pipe.Write("op\n");
  EXPECT_TRUE(WaitFor([&] { return token.requested(); }));
  EXPECT_EQ(token.reason(), StopReason::kStop);
}

TEST(CommandReaderTest, EndOfFileMeansStop) {
  Pipe pipe;
  StopToken token;
  CommandReader reader(pipe.fds[0], &token, stderr);
  pipe.CloseWrite();
  EXPECT_TRUE(WaitFor([&] { return token.requested(); }));
  EXPECT_EQ(token.reason(), StopReason::kStop);
}

TEST(CommandReaderTest, PruneWithoutNewlineBeforeEofIsPrune) {
  Pipe pipe;
  StopToken token;
  CommandReader reader(pipe.fds[0], &token, stderr);
  pipe.Write("prune");
  pipe.CloseWrite();
  EXPECT_TRUE(WaitFor([&] { return token.requested(); }));
  EXPECT_EQ(token.reason(), StopReason::kPrune);
}

TEST(CommandReaderTest, DestructorReturnsWhileInputStaysOpen) {
  Pipe pipe;
  StopToken token;
  { CommandReader reader(pipe.fds[0], &token, stderr); }
  // Reaching this line is the test (a blocking read would hang); no stop was requested.
  EXPECT_FALSE(token.requested());
}

TEST(SignalStopScopeTest, SigtermAndSigintRequestSignalStop) {
  for (int sig : {SIGTERM, SIGINT}) {
    StopToken token;
    {
      SignalStopScope scope(&token);
      ::raise(sig);  // handled synchronously in this thread
      EXPECT_EQ(token.reason(), StopReason::kSignal) << sig;
    }
  }
}

TEST(SignalStopScopeTest, RestoresPreviousHandler) {
  struct sigaction before {};
  ::sigaction(SIGTERM, nullptr, &before);
  {
    StopToken token;
    SignalStopScope scope(&token);
    struct sigaction during {};
    ::sigaction(SIGTERM, nullptr, &during);
    EXPECT_NE(during.sa_handler, before.sa_handler);
  }
  struct sigaction after {};
  ::sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

TEST(SignalStopScopeTest, SecondSignalTerminates) {
  // In a child: the first SIGTERM is absorbed, the second kills it with SIGTERM.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    StopToken token;
    SignalStopScope scope(&token);
    ::raise(SIGTERM);
    if (token.reason() != StopReason::kSignal) ::_exit(10);
    ::raise(SIGTERM);
    ::_exit(11);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit code " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

}  // namespace
}  // namespace mgr
