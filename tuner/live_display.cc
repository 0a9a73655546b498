#include "tuner/live_display.h"

#include <cmath>
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

std::string FormatValue(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream out;
  out.precision(4);
  out << v;
  return out.str();
}

}  // namespace mgr
