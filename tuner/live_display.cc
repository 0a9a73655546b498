#include "tuner/live_display.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace mgr {

void LiveDisplay::Erase() {
  if (drawn_ == 0) return;
  // Up to the block's first line, then clear to the end of the screen.
  out_ << "\x1b[" << drawn_ << "F\x1b[J";
  drawn_ = 0;
}

void LiveDisplay::Draw() {
  for (const auto& l : status_) out_ << "\x1b[2K" << l << "\n";
  drawn_ = status_.size();
  out_.flush();
}

void LiveDisplay::Log(const std::string& line) {
  if (interactive_) Erase();
  out_ << line << "\n";
  if (interactive_) {
    Draw();
  } else {
    out_.flush();
  }
}

void LiveDisplay::SetStatus(std::vector<std::string> lines) {
  if (!interactive_) return;
  status_ = std::move(lines);
  Erase();
  Draw();
}

void LiveDisplay::Finish() {
  if (!interactive_) return;
  Erase();
  status_.clear();
  out_.flush();
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t < 60) {
    snprintf(buf, sizeof(buf), "%lds", t);
  } else if (t < 3600) {
    snprintf(buf, sizeof(buf), "%ldm%02lds", t / 60, t % 60);
  } else {
    snprintf(buf, sizeof(buf), "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  }
  return buf;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream out;
  out.precision(4);
  out << v;
  return out.str();
}

}  // namespace mgr
