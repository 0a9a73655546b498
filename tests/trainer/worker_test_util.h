// Helpers for the worker, export and predict tests: a child process with pipes, the tiny
// generated dataset (built once per build tree and shared between test processes) and
// trial specs for it.
#ifndef MGR_TESTS_TRAINER_WORKER_TEST_UTIL_H_
#define MGR_TESTS_TRAINER_WORKER_TEST_UTIL_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace mgr {
namespace worker_test {

using Json = nlohmann::json;

using testing_util::Exists;
using testing_util::Shell;
using testing_util::TempDir;
inline std::string ReadText(const std::string& path) { return testing_util::ReadFile(path); }
inline void WriteText(const std::string& path, const std::string& text) {
  testing_util::WriteFile(path, text);
}

// A child process with stdin and stdout on pipes and stderr in a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& stderr_path)
      : stderr_path_(stderr_path) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0) ::dup2(err, 2);
      ::close(in[1]);
      ::close(out[0]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~Child() {
    CloseStdin();
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) ::close(stdout_);
  }

  pid_t pid() const { return pid_; }
  void Send(const std::string& line) {
    std::string s = line + "\n";
    (void)!::write(stdin_, s.data(), s.size());
  }
  void CloseStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  void Signal(int sig) { ::kill(pid_, sig); }

  // The next stdout line, or nullopt at end of file or after `timeout_s`.
  std::optional<std::string> NextLine(double timeout_s = 300) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        lines_.push_back(line);
        return line;
      }
      if (eof_) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return std::nullopt;
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) {
        eof_ = true;
      } else {
        buffer_.append(buf, static_cast<size_t>(n));
      }
    }
  }
  // The next event (a parsed line); fails the test on a line that is not JSON.
  std::optional<Json> NextEvent(double timeout_s = 300) {
    auto line = NextLine(timeout_s);
    if (!line) return std::nullopt;
    Json j = Json::parse(*line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event")) {
      return Json{{"event", "NOT-AN-EVENT"}, {"line", *line}};
    }
    return j;
  }
  // Reads events until one named `name` (or a terminal one) arrives.
  std::optional<Json> WaitFor(const std::string& name, std::vector<Json>* seen = nullptr) {
    while (auto e = NextEvent()) {
      if (seen) seen->push_back(*e);
      const std::string ev = (*e)["event"];
      if (ev == name) return e;
      if (ev == "final" || ev == "stopped" || ev == "error" || ev == "NOT-AN-EVENT") return e;
    }
    return std::nullopt;
  }
  // All remaining events until end of file.
  std::vector<Json> Rest() {
    std::vector<Json> out;
    while (auto e = NextEvent()) out.push_back(*e);
    return out;
  }
  // Exit code, or 128 + signal number.
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    waited_ = true;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }
  std::string Stderr() const { return ReadText(stderr_path_); }

 private:
  std::string stderr_path_;
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::string buffer_;
  std::vector<std::string> lines_;
  bool eof_ = false, waited_ = false;
};

constexpr int64_t kTinyClipSamples = 65536;  // the tiny tracks are ~4 s at 22.05 kHz

// The tiny dataset and its prepared clip cache, created once per build tree (under a lock,
// so parallel test processes share it). Returns the directory, "" on failure.
inline std::string TinyDataset() {
  const std::string dir = std::string(MGR_BINARY_DIR) + "/tests/trainer/worker-tiny";
  const std::string done = dir + "/READY";
  if (Exists(done)) return dir;
  ::mkdir((std::string(MGR_BINARY_DIR) + "/tests").c_str(), 0755);
  ::mkdir((std::string(MGR_BINARY_DIR) + "/tests/trainer").c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  int lock = ::open((dir + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ::flock(lock, LOCK_EX);
  if (!Exists(done)) {
    std::string cmd =
        std::string(MGR_MAKE_DATASET) + " --size tiny --out '" + dir + "/data' --seed 1 >'" + dir +
        "/make.log' 2>&1 && " + MGR_TRAIN_BINARY + " prepare --metadata '" + dir +
        "/data/fma_metadata/tracks.csv' --audio-dir '" + dir + "/data/fma_small' --cache-dir '" +
        dir + "/cache' --sample-rate 22050 " + "--clip-samples " +
        std::to_string(kTinyClipSamples) + " >'" + dir + "/prepare.log' 2>&1";
    if (Shell(cmd) == 0) WriteText(done, "ok\n");
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return Exists(done) ? dir : "";
}

// A trial spec of a small NNET2 on the tiny dataset.
inline Json TinySpec(const std::string& data_dir, const std::string& checkpoint_dir,
                     int max_epochs) {
  return Json{{"version", 1},
              {"trial", {{"study", "test/worker"}, {"number", 0}, {"trial_id", 1}}},
              {"seed", 0},
              {"device", "cpu"},
              {"threads", 1},
              {"checkpoint_dir", checkpoint_dir},
              {"export_dir", nullptr},
              {"evaluate_test", false},
              {"data",
               {{"metadata", data_dir + "/data/fma_metadata/tracks.csv"},
                {"audio_dir", data_dir + "/data/fma_small"},
                {"subset", "small"},
                {"sample_rate", 22050},
                {"clip_samples", kTinyClipSamples},
                {"cache_dir", data_dir + "/cache"}}},
              {"model", {{"family", "nnet2"}, {"preset", "paper"}}},
              {"hparams",
               {{"lr", 0.001},
                {"batch_size", 16},
                {"max_epochs", max_epochs},
                {"res_channels", 8},
                {"dense_layers", 1},
                {"dense_units_0", 16}}}};
}

}  // namespace worker_test
}  // namespace mgr

#endif  // MGR_TESTS_TRAINER_WORKER_TEST_UTIL_H_
