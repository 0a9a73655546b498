// The I/O side of the worker protocol (docs/worker-protocol.md): the JSON event stream on
// stdout, the command lines on stdin, and SIGTERM/SIGINT. Independent of training so that
// it can be tested with fakes. The names it writes and reads (events, commands, stop
// reasons) are those of trainer/protocol/worker_protocol.h.
#ifndef MGR_TRAINER_WORKER_WORKER_EVENTS_H_
#define MGR_TRAINER_WORKER_WORKER_EVENTS_H_

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace mgr {

// Writes one JSON object per line, {"event": name, fields...}, to a file descriptor with
// one write(2) per line, so every event is flushed as soon as it is written.
// Thread-safe: concurrent Emit calls never interleave. Does not own the descriptor.
// A closed reader (EPIPE; SIGPIPE must be ignored) is remembered and later events are
// dropped: the orchestrator is gone and stdin EOF will stop the trial.
class EventWriter {
 public:
  explicit EventWriter(int fd) : fd_(fd) {}
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // `fields` must be a JSON object (or null for none). Non-finite numbers become null and
  // invalid UTF-8 in strings is replaced, so the line is always valid JSON.
  // Returns false if the line could not be written.
  bool Emit(const std::string& event, const nlohmann::json& fields);

  // The line Emit writes, without the newline.
  static std::string Format(const std::string& event, const nlohmann::json& fields);

 private:
  std::mutex mu_;
  const int fd_;
  bool broken_ = false;  // guarded by mu_
};

// Why a trial stops before its end.
enum class StopReason { kNone = 0, kPrune, kStop, kSignal };

// "none", or the `reason` of the `stopped` event: kStopReasonPrune, kStopReasonStop,
// kStopReasonSignal.
const char* StopReasonName(StopReason reason);

// A stop request shared by the command reader thread, signal handlers and the training
// loop. The first request wins; later ones are ignored. Lock-free, so Request may be
// called from a signal handler.
class StopToken {
 public:
  void Request(StopReason reason) {
    int expected = 0;
    reason_.compare_exchange_strong(expected, static_cast<int>(reason));
  }
  StopReason reason() const { return static_cast<StopReason>(reason_.load()); }
  bool requested() const { return reason_.load() != 0; }

 private:
  std::atomic<int> reason_{0};
  static_assert(std::atomic<int>::is_always_lock_free, "signal handlers need lock-free atomics");
};

// Reads command lines from `fd` on a background thread: kCommandPrune requests kPrune,
// kCommandStop and end of file (or a read error) request kStop. Blank lines are ignored;
// unknown commands are logged to `log` and ignored. Leading/trailing whitespace (and \r)
// is trimmed. The destructor wakes the thread (self-pipe) and joins it, even if `fd` never
// becomes readable. Does not own `fd`; `token` and `log` must outlive the reader.
class CommandReader {
 public:
  CommandReader(int fd, StopToken* token, std::FILE* log);
  ~CommandReader();
  CommandReader(const CommandReader&) = delete;
  CommandReader& operator=(const CommandReader&) = delete;

 private:
  void Run();
  void Handle(const std::string& line);

  const int fd_;
  StopToken* const token_;
  std::FILE* const log_;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

// While alive, SIGTERM and SIGINT request kSignal on `token` (the handler only touches
// lock-free atomics); a second such signal restores the default action and re-raises it,
// so a stuck process can still be interrupted. SIGPIPE is ignored (EventWriter sees
// EPIPE). The destructor restores the previous actions. One scope at a time per process.
class SignalStopScope {
 public:
  explicit SignalStopScope(StopToken* token);
  ~SignalStopScope();
  SignalStopScope(const SignalStopScope&) = delete;
  SignalStopScope& operator=(const SignalStopScope&) = delete;

 private:
  struct sigaction old_term_, old_int_, old_pipe_;
};

}  // namespace mgr

#endif  // MGR_TRAINER_WORKER_WORKER_EVENTS_H_
