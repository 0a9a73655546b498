// A progress report for long loops: on a terminal, one bar redrawn in place with the rate
// and the time left; otherwise (a log file, a pipe) a plain line every 10% or 10 seconds.
// Thread-safe: workers may call Add concurrently.
#ifndef MGR_TRAINER_PROGRESS_H_
#define MGR_TRAINER_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace mgr {

class Progress {
 public:
  // Reports `total` units (e.g. "tracks") of work called `label` to `out` (not owned).
  Progress(std::string label, int64_t total, std::string unit = "items", FILE* out = stderr);
  ~Progress();  // calls Finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Records n more units done.
  void Add(int64_t n = 1);
  // Prints the final line (once): count, elapsed seconds, rate.
  void Finish();

  // "1h02m", "3m05s", "42s".
  static std::string FormatSeconds(double seconds);

 private:
  void Print(bool final);  // holds mu_

  std::mutex mu_;
  const std::string label_, unit_;
  const int64_t total_;
  FILE* out_;
  const bool terminal_;
  const std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  int64_t done_ = 0;
  int64_t last_printed_done_ = 0;
  bool finished_ = false;
};

}  // namespace mgr

#endif  // MGR_TRAINER_PROGRESS_H_
