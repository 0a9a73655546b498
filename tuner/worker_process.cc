#include "tuner/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <deque>
#include <fstream>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>

namespace mgr {

namespace bp = boost::process;
namespace asio = boost::asio;

struct WorkerProcess::Impl : std::enable_shared_from_this<WorkerProcess::Impl> {
  explicit Impl(asio::io_context& io) : io(io), out(io), err(io), in(io), grace(io) {}

  asio::io_context& io;
  bp::async_pipe out, err, in;
  bp::child child;
  asio::streambuf out_buf, err_buf;
  std::deque<std::string> tail;
  std::ofstream log;
  Callbacks callbacks;
  std::deque<std::shared_ptr<std::string>> writes;
  bool in_closed = false;
  bool exited = false, out_done = false, err_done = false, reported = false;
  int pid = -1;
  WorkerExit exit;
  asio::steady_timer grace;  // bounds the wait for pipe EOF after the exit

  void ReadOut() {
    auto self = shared_from_this();
    asio::async_read_until(
        out, out_buf, '\n', [self](const boost::system::error_code& ec, size_t n) {
          if (ec) {
            self->out_done = true;
            self->MaybeReport();
            return;
          }
          std::string line(asio::buffers_begin(self->out_buf.data()),
                           asio::buffers_begin(self->out_buf.data()) + n - 1);
          self->out_buf.consume(n);
          if (!line.empty()) {
            Result<WorkerEvent> event = ParseWorkerEventLine(line);
            if (event.ok()) {
              if (self->callbacks.on_event) self->callbacks.on_event(*event);
            } else if (self->callbacks.on_garbage) {
              self->callbacks.on_garbage(line, event.status());
            }
          }
          self->ReadOut();
        });
  }

  void ReadErr() {
    auto self = shared_from_this();
    asio::async_read_until(err, err_buf, '\n',
                           [self](const boost::system::error_code& ec, size_t n) {
                             if (ec) {
                               // A last line without a newline still counts.
                               if (self->err_buf.size() > 0) {
                                 std::string rest(asio::buffers_begin(self->err_buf.data()),
                                                  asio::buffers_end(self->err_buf.data()));
                                 self->err_buf.consume(self->err_buf.size());
                                 self->AddErrLine(rest);
                               }
                               self->err_done = true;
                               self->MaybeReport();
                               return;
                             }
                             std::string line(asio::buffers_begin(self->err_buf.data()),
                                              asio::buffers_begin(self->err_buf.data()) + n - 1);
                             self->err_buf.consume(n);
                             self->AddErrLine(line);
                             self->ReadErr();
                           });
  }

  void AddErrLine(const std::string& line) {
    if (log.is_open()) log << line << '\n' << std::flush;
    tail.push_back(line);
    while (tail.size() > static_cast<size_t>(kStderrTailLines)) tail.pop_front();
  }

  void OnExit() {
    exited = true;
    const int status = child.native_exit_code();
    if (WIFSIGNALED(status)) {
      exit.signal = WTERMSIG(status);
      exit.exit_code = -1;
    } else {
      exit.exit_code = WEXITSTATUS(status);
    }
    // A grandchild could keep the pipes open: do not wait for their EOF forever.
    auto self = shared_from_this();
    grace.expires_after(std::chrono::seconds(3));
    grace.async_wait([self](const boost::system::error_code& ec) {
      if (ec) return;
      self->out_done = self->err_done = true;
      boost::system::error_code ignored;
      self->out.close(ignored);
      self->err.close(ignored);
      self->MaybeReport();
    });
    MaybeReport();
  }

  void MaybeReport() {
    if (reported || !exited || !out_done || !err_done) return;
    reported = true;
    grace.cancel();
    for (const auto& l : tail) exit.stderr_tail += l + "\n";
    boost::system::error_code ignored;
    in.close(ignored);
    auto cb = std::move(callbacks.on_exit);
    callbacks = Callbacks();
    if (cb) cb(exit);
  }

  void Write() {
    if (writes.empty() || in_closed) return;
    auto self = shared_from_this();
    auto data = writes.front();
    asio::async_write(in, asio::buffer(*data), [self](const boost::system::error_code& ec, size_t) {
      self->writes.pop_front();
      if (ec) {
        self->writes.clear();  // the worker is gone: nothing more to say to it
        return;
      }
      self->Write();
    });
  }
};

std::string WorkerExit::Describe() const {
  std::string s;
  if (signal != 0) {
    const char* name = strsignal(signal);
    s = "killed by signal " + std::to_string(signal) + (name ? std::string(" (") + name + ")" : "");
  } else {
    s = "exit code " + std::to_string(exit_code);
  }
  if (!stderr_tail.empty()) s += "; last stderr lines:\n" + stderr_tail;
  return s;
}

Result<std::string> FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) {
      return Status::NotFound("worker executable " + name + " does not exist or is not executable");
    }
    return name;
  }
  auto found = bp::search_path(name);
  if (found.empty()) {
    return Status::NotFound("cannot find " + name +
                            " in PATH (build it, or pass --worker /path/to/mgr-train)");
  }
  return found.string();
}

Result<std::unique_ptr<WorkerProcess>> WorkerProcess::Start(
    asio::io_context& io, const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env, const std::string& stderr_log,
    Callbacks callbacks) {
  if (argv.empty()) return Status::InvalidArgument("empty worker command");
  MGR_ASSIGN_OR_RETURN(std::string exe, FindExecutable(argv[0]));
  auto impl = std::make_shared<Impl>(io);
  impl->callbacks = std::move(callbacks);
  if (!stderr_log.empty()) {
    impl->log.open(stderr_log, std::ios::app);
    if (!impl->log) return Status::IoError("cannot write the worker log " + stderr_log);
  }
  // The child's environment: ours with `env` set on top, as KEY=VALUE strings. Built by
  // hand because bp::environment's lookup (Boost 1.74) compares past the end of shorter
  // entries (AddressSanitizer: heap-buffer-overflow).
  std::vector<std::string> env_entries;
  for (char** e = ::environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (!env.count(entry.substr(0, entry.find('=')))) env_entries.push_back(std::move(entry));
  }
  for (const auto& [k, v] : env) env_entries.push_back(k + "=" + v);
  std::vector<char*> env_pointers;
  for (std::string& e : env_entries) env_pointers.push_back(e.data());
  env_pointers.push_back(nullptr);
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  // Other workers started later must not inherit this worker's pipe ends: the worker's
  // stdin must reach end of file when the orchestrator dies. dup2 onto 0/1/2 in the child
  // clears the flag on the copies it uses.
  for (int fd : {impl->out.native_source(), impl->out.native_sink(), impl->err.native_source(),
                 impl->err.native_sink(), impl->in.native_source(), impl->in.native_sink()}) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  std::weak_ptr<Impl> weak = impl;
  try {
    impl->child = bp::child(
        bp::exe = exe, bp::args = args, bp::std_out > impl->out, bp::std_err > impl->err,
        bp::std_in < impl->in,
        bp::extend::on_setup = [&env_pointers](auto& exec) { exec.env = env_pointers.data(); }, io,
        // Posted, not run here: a child that has already exited makes Boost call this
        // inline, inside bp::child's constructor, before impl->child holds the new child,
        // and OnExit would read the old one's status ("exit code 1" for a worker that
        // exited 0).
        bp::on_exit = [weak, &io](int, const std::error_code&) {
          asio::post(io, [weak] {
            if (auto self = weak.lock()) self->OnExit();
          });
        });
  } catch (const bp::process_error& e) {
    return Status::Unavailable("cannot start " + exe + ": " + e.what());
  }
  impl->pid = impl->child.id();
  impl->ReadOut();
  impl->ReadErr();
  return std::unique_ptr<WorkerProcess>(new WorkerProcess(impl));
}

WorkerProcess::~WorkerProcess() {
  if (!impl_) return;
  impl_->callbacks = Callbacks();
  if (!impl_->exited && impl_->pid > 0) ::kill(impl_->pid, SIGKILL);
  boost::system::error_code ignored;
  impl_->in.close(ignored);
  impl_->in_closed = true;
}

void WorkerProcess::Send(const std::string& line) {
  if (impl_->in_closed) return;
  impl_->writes.push_back(std::make_shared<std::string>(line + "\n"));
  if (impl_->writes.size() == 1) impl_->Write();
}

void WorkerProcess::CloseStdin() {
  boost::system::error_code ignored;
  impl_->in.close(ignored);
  impl_->in_closed = true;
}

void WorkerProcess::Terminate() {
  if (!impl_->exited && impl_->pid > 0) ::kill(impl_->pid, SIGTERM);
}

void WorkerProcess::Kill() {
  if (!impl_->exited && impl_->pid > 0) ::kill(impl_->pid, SIGKILL);
}

int WorkerProcess::pid() const { return impl_->pid; }
bool WorkerProcess::exited() const { return impl_->exited; }

}  // namespace mgr
