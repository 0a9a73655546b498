#include "trainer/progress.h"

#include <unistd.h>

#include <algorithm>

namespace mgr {

Progress::Progress(std::string label, int64_t total, std::string unit, FILE* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      terminal_(out != nullptr && isatty(fileno(out))),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() { Finish(); }

std::string Progress::FormatSeconds(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char buf[64];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s / 60) % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lds", s);
  }
  return buf;
}

void Progress::Add(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ += n;
  if (finished_ || out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  bool due;
  if (terminal_) {
    due = since >= 0.1;
  } else {
    const int64_t step = std::max<int64_t>(1, total_ / 10);
    due = since >= 10.0 || done_ / step != last_printed_done_ / step;
  }
  if (due && done_ < total_) Print(false);
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (out_ != nullptr) Print(true);
}

void Progress::Print(bool final) {
  const auto now = std::chrono::steady_clock::now();
  last_print_ = now;
  last_printed_done_ = done_;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0;
  char tail[128];
  if (final) {
    std::snprintf(tail, sizeof(tail), "%lld/%lld %s in %s (%.1f/s)", (long long)done_,
                  (long long)total_, unit_.c_str(), FormatSeconds(elapsed).c_str(), rate);
  } else {
    const std::string eta = rate > 0 ? FormatSeconds((total_ - done_) / rate) : std::string("?");
    std::snprintf(tail, sizeof(tail), "%lld/%lld %s, %.1f/s, ETA %s", (long long)done_,
                  (long long)total_, unit_.c_str(), rate, eta.c_str());
  }
  if (terminal_) {
    const int width = 30;
    const int filled =
        total_ > 0 ? static_cast<int>(width * std::min<int64_t>(done_, total_) / total_) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(out_, "\r\033[K%s [%s] %s%s", label_.c_str(), bar.c_str(), tail,
                 final ? "\n" : "");
  } else {
    std::fprintf(out_, "%s: %s\n", label_.c_str(), tail);
  }
  std::fflush(out_);
}

}  // namespace mgr
