// A progress report for long loops: on a terminal, one bar redrawn in place with the rate
// and the time left; otherwise (a log file, a pipe) a plain line every 10% or 10 seconds.
// Thread-safe: workers may call Add (and any other method) concurrently.
#ifndef MGR_STORAGE_BASE_PROGRESS_H_
#define MGR_STORAGE_BASE_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace mgr {

class Progress {
 public:
  // Reports `total` units (e.g. "tracks") of work called `label` to `out` (not owned;
  // nullptr prints nothing).
  Progress(std::string label, int64_t total, std::string unit = "items", FILE* out = stderr);
  ~Progress();  // calls Finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Records n more units done.
  void Add(int64_t n = 1);
  // Prints the final line (once): count, elapsed seconds, rate.
  void Finish();
  // Ends the report without a final line (once); on a terminal, erases the bar so that
  // the caller's next line takes its place.
  void Dismiss();
  // Text appended to every line from now on (e.g. " | last: loss 0.812").
  void SetSuffix(std::string suffix);

 private:
  void Print(bool final);  // holds mu_

  std::mutex mu_;
  const std::string label_, unit_;
  std::string suffix_;
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

#endif  // MGR_STORAGE_BASE_PROGRESS_H_
