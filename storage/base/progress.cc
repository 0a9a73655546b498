#include "storage/base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "storage/base/strings.h"

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

void Progress::Dismiss() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (out_ != nullptr && terminal_) {
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
  }
}

void Progress::SetSuffix(std::string suffix) {
  std::lock_guard<std::mutex> lock(mu_);
  suffix_ = std::move(suffix);
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
                  (long long)total_, unit_.c_str(), FormatDuration(elapsed).c_str(), rate);
  } else {
    const std::string eta = rate > 0 ? FormatDuration((total_ - done_) / rate) : std::string("?");
    std::snprintf(tail, sizeof(tail), "%lld/%lld %s, %.1f/s, ETA %s", (long long)done_,
                  (long long)total_, unit_.c_str(), rate, eta.c_str());
  }
  if (terminal_) {
    const int width = 30;
    const int filled =
        total_ > 0 ? static_cast<int>(width * std::min<int64_t>(done_, total_) / total_) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(out_, "\r\033[K%s [%s] %s%s%s", label_.c_str(), bar.c_str(), tail,
                 suffix_.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(out_, "%s: %s%s\n", label_.c_str(), tail, suffix_.c_str());
  }
  std::fflush(out_);
}

}  // namespace mgr
