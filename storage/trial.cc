#include "storage/trial.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace mgr {

const char* TrialStateName(TrialState state) {
  switch (state) {
    case TrialState::kRunning: return "RUNNING";
    case TrialState::kComplete: return "COMPLETE";
    case TrialState::kPruned: return "PRUNED";
    case TrialState::kFail: return "FAIL";
    case TrialState::kWaiting: return "WAITING";
  }
  return "FAIL";
}

Result<TrialState> ParseTrialState(const std::string& name) {
  for (TrialState s : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned,
                       TrialState::kFail, TrialState::kWaiting}) {
    if (name == TrialStateName(s)) return s;
  }
  return Status::InvalidArgument("unknown trial state '" + name +
                                 "' (expected RUNNING, COMPLETE, PRUNED, FAIL or WAITING)");
}

const char* StudyDirectionName(StudyDirection direction) {
  switch (direction) {
    case StudyDirection::kNotSet: return "NOT_SET";
    case StudyDirection::kMinimize: return "MINIMIZE";
    case StudyDirection::kMaximize: return "MAXIMIZE";
  }
  return "NOT_SET";
}

Result<StudyDirection> ParseStudyDirection(const std::string& name) {
  std::string upper;
  for (char c : name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (StudyDirection d : {StudyDirection::kNotSet, StudyDirection::kMinimize, StudyDirection::kMaximize}) {
    if (upper == StudyDirectionName(d)) return d;
  }
  return Status::InvalidArgument("unknown direction '" + name + "' (expected minimize or maximize)");
}

std::string FormatDatetime(TimePoint t) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(us / 1000000);
  long frac = static_cast<long>(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

Result<TimePoint> ParseDatetime(const std::string& text) {
  std::tm tm{};
  int year, mon, day, hour, min, sec;
  char frac_buf[16] = {0};
  int n = std::sscanf(text.c_str(), "%d-%d-%d%*[ T]%d:%d:%d.%9[0-9]", &year, &mon, &day, &hour,
                      &min, &sec, frac_buf);
  if (n < 6) return Status::InvalidArgument("bad datetime '" + text + "'");
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t secs = timegm(&tm);
  long micros = 0;
  if (n == 7) {
    std::string f(frac_buf);
    f.resize(6, '0');
    micros = std::stol(f);
  }
  return TimePoint(std::chrono::seconds(secs)) + std::chrono::microseconds(micros);
}

double FrozenTrial::value() const {
  return values.empty() ? std::numeric_limits<double>::quiet_NaN() : values[0];
}

Json FrozenTrial::Param(const std::string& name) const {
  auto p = params.find(name);
  auto d = distributions.find(name);
  if (p == params.end() || d == distributions.end()) return nullptr;
  return ToExternal(d->second, p->second);
}

std::optional<int64_t> FrozenTrial::LastStep() const {
  if (intermediate_values.empty()) return std::nullopt;
  return intermediate_values.rbegin()->first;
}

}  // namespace mgr
