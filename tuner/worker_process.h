// One worker process (`mgr-train worker SPEC.json`, docs/worker-protocol.md) driven from
// a Boost.Asio event loop: its stdout lines are parsed into events (ParseWorkerEventLine,
// trainer/protocol/worker_protocol.h), its stderr is appended to a log file and its last
// lines kept for the failure reason, commands go to its stdin.
//
// Ownership: the WorkerProcess owns the child. Destroying it while the child runs kills
// the child (SIGKILL) and suppresses further callbacks. Not thread-safe: use it from the
// thread that runs the io_context; callbacks run there too.
#ifndef MGR_TUNER_WORKER_PROCESS_H_
#define MGR_TUNER_WORKER_PROCESS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "storage/base/status.h"
#include "trainer/protocol/worker_protocol.h"

namespace mgr {

// How a worker ended.
struct WorkerExit {
  int exit_code = -1;       // the process's exit status when it exited; -1 when killed by a signal
  int signal = 0;           // the signal that killed it, 0 if it exited
  std::string stderr_tail;  // its last stderr lines (at most kStderrTailLines)

  // "exit code 1" / "killed by signal 6 (Aborted)", then the stderr tail.
  std::string Describe() const;
};

class WorkerProcess {
 public:
  static constexpr int kStderrTailLines = 12;

  struct Callbacks {
    std::function<void(const WorkerEvent& event)> on_event;  // one per event line
    // A non-empty stdout line that is not a well-formed event, and why (the Status of
    // ParseWorkerEventLine: InvalidArgument for a line that is not an event at all).
    std::function<void(const std::string& line, const Status& why)> on_garbage;
    // Once, after the process ended and its stdout and stderr were read to the end.
    std::function<void(const WorkerExit& exit)> on_exit;
  };

  // Starts argv[0] (a path, or a name looked up in PATH) with argv[1..]. `env` entries are
  // set on top of this process's environment (an empty value sets the variable to "").
  // stderr is appended to `stderr_log` when it is not empty.
  static Result<std::unique_ptr<WorkerProcess>> Start(boost::asio::io_context& io,
                                                      const std::vector<std::string>& argv,
                                                      const std::map<std::string, std::string>& env,
                                                      const std::string& stderr_log,
                                                      Callbacks callbacks);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Writes `line` and a newline to the worker's stdin (kCommandPrune, kCommandStop).
  void Send(const std::string& line);
  // Closes stdin: the worker reads end of file, which it treats as `stop`.
  void CloseStdin();
  void Terminate();  // SIGTERM
  void Kill();       // SIGKILL
  int pid() const;
  bool exited() const;

  struct Impl;

 private:
  explicit WorkerProcess(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// Finds an executable: `name` itself if it contains a '/', else the first match in PATH.
Result<std::string> FindExecutable(const std::string& name);

}  // namespace mgr

#endif  // MGR_TUNER_WORKER_PROCESS_H_
