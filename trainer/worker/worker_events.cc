#include "trainer/worker/worker_events.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "trainer/protocol/worker_protocol.h"

namespace mgr {

namespace {

using Json = nlohmann::json;

std::string Dump(const Json& value) {
  // replace: an exception message with invalid UTF-8 must not make the event unwritable.
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

std::string Trim(const std::string& s) {
  const char* kSpace = " \t\r\n\v\f";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

}  // namespace

std::string EventWriter::Format(const std::string& event, const Json& fields) {
  // "event" first, for people reading the stream; the rest in nlohmann's key order.
  std::string line = "{" + Dump(Json(kEventKey)) + ":" + Dump(Json(event));
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it.key() == kEventKey) continue;
      line += "," + Dump(Json(it.key())) + ":" + Dump(it.value());
    }
  }
  line += "}";
  return line;
}

bool EventWriter::Emit(const std::string& event, const Json& fields) {
  std::string line = Format(event, fields) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_) return false;
  if (!WriteAll(fd_, line.data(), line.size())) {
    broken_ = true;
    return false;
  }
  return true;
}

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kNone:
      return "none";
    case StopReason::kPrune:
      return kStopReasonPrune;
    case StopReason::kStop:
      return kStopReasonStop;
    case StopReason::kSignal:
      return kStopReasonSignal;
  }
  return "none";
}

CommandReader::CommandReader(int fd, StopToken* token, std::FILE* log)
    : fd_(fd), token_(token), log_(log) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("CommandReader: pipe: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { Run(); });
}

CommandReader::~CommandReader() {
  char byte = 1;
  // The pipe has room: it is written once.
  (void)!::write(wake_[1], &byte, 1);
  thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void CommandReader::Handle(const std::string& raw) {
  std::string line = Trim(raw);
  if (line.empty()) return;
  if (line == kCommandPrune) {
    token_->Request(StopReason::kPrune);
  } else if (line == kCommandStop) {
    token_->Request(StopReason::kStop);
  } else {
    std::fprintf(log_, "mgr-train worker: ignoring unknown command '%s' on stdin\n", line.c_str());
    std::fflush(log_);
    return;
  }
  std::fprintf(log_, "mgr-train worker: '%s' received, stopping at the next batch\n", line.c_str());
  std::fflush(log_);
}

void CommandReader::Run() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      token_->Request(StopReason::kStop);
      return;
    }
    if (fds[1].revents != 0) return;  // shutting down
    if (fds[0].revents == 0) continue;
    ssize_t got = ::read(fd_, buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      if (!pending.empty()) Handle(pending);
      std::fprintf(log_, "mgr-train worker: stdin closed, stopping at the next batch\n");
      std::fflush(log_);
      token_->Request(StopReason::kStop);
      return;
    }
    pending.append(buffer, static_cast<size_t>(got));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      Handle(pending.substr(0, newline));
      pending.erase(0, newline + 1);
    }
  }
}

namespace {

std::atomic<StopToken*> g_signal_token{nullptr};
std::atomic<int> g_signal_count{0};
static_assert(std::atomic<StopToken*>::is_always_lock_free, "signal handlers need lock-free");

extern "C" void StopSignalHandler(int sig) {
  if (g_signal_count.fetch_add(1) >= 1) {
    // Second signal: the user insists. Default action (terminate) right away.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  StopToken* token = g_signal_token.load();
  if (token != nullptr) token->Request(StopReason::kSignal);
}

}  // namespace

SignalStopScope::SignalStopScope(StopToken* token) {
  g_signal_count.store(0);
  g_signal_token.store(token);
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = StopSignalHandler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &action, &old_term_);
  ::sigaction(SIGINT, &action, &old_int_);
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &old_pipe_);
}

SignalStopScope::~SignalStopScope() {
  ::sigaction(SIGTERM, &old_term_, nullptr);
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGPIPE, &old_pipe_, nullptr);
  g_signal_token.store(nullptr);
}

}  // namespace mgr
