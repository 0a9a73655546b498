#include "storage/storage_internal.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

namespace mgr {
namespace storage_internal {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Fast path for "YYYY-MM-DD HH:MM:SS[.ffffff]", the only form Optuna and we write; reading
// 10,000 trials calls this 20,000 times.
std::optional<TimePoint> ParseDatetimeFast(const std::string& s) {
  auto digits = [&](size_t pos, size_t n, int64_t* out) {
    int64_t v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int64_t y, mo, d, h, mi, sec, us = 0;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':' || !digits(0, 4, &y) || !digits(5, 2, &mo) ||
      !digits(8, 2, &d) || !digits(11, 2, &h) || !digits(14, 2, &mi) || !digits(17, 2, &sec)) {
    return std::nullopt;
  }
  if (s.size() > 19) {
    if (s[19] != '.' || s.size() > 26 || !digits(20, s.size() - 20, &us)) return std::nullopt;
    for (size_t i = s.size(); i < 26; ++i) us *= 10;
  }
  const int64_t secs = ((DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::microseconds(secs * 1000000 + us)));
}

}  // namespace

std::string DescribeTrial(int64_t trial_id, const std::string& study_name, int64_t number) {
  return "trial " + std::to_string(trial_id) + " (study '" + study_name + "', number " +
         std::to_string(number) + ")";
}

Status CheckUpdatable(const std::string& trial_desc, TrialState state) {
  if (IsFinished(state)) {
    return Status::FailedPrecondition(trial_desc + " is already finished (" +
                                      TrialStateName(state) + ") and cannot be modified");
  }
  return Status::Ok();
}

Status CheckStateValues(const std::string& trial_desc, TrialState state,
                        const std::vector<double>& values, size_t n_objectives) {
  if (state == TrialState::kWaiting) {
    return Status::InvalidArgument(trial_desc +
                                   ": a trial cannot be set back to WAITING (enqueue a new one)");
  }
  if (!values.empty()) {
    if (!IsFinished(state)) {
      return Status::InvalidArgument(trial_desc +
                                     ": values can only be set with a finished state"
                                     " (got " +
                                     TrialStateName(state) + ")");
    }
    if (values.size() != n_objectives) {
      return Status::InvalidArgument(trial_desc + ": got " + std::to_string(values.size()) +
                                     " values but the study has " + std::to_string(n_objectives) +
                                     " objectives");
    }
    for (double v : values) {
      if (std::isnan(v)) {
        return Status::InvalidArgument(trial_desc +
                                       ": an objective value is NaN (report the trial as FAIL)");
      }
    }
  }
  if (state == TrialState::kComplete && values.empty()) {
    return Status::InvalidArgument(trial_desc + ": a COMPLETE trial needs its objective values");
  }
  return Status::Ok();
}

Status CheckParam(const std::string& trial_desc, const std::string& name, double internal,
                  const Distribution& dist) {
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, dist).WithContext(trial_desc));
  if (!Contains(dist, internal)) {
    return Status::InvalidArgument(trial_desc + ": parameter '" + name + "' value " +
                                   std::to_string(internal) + " is not in " +
                                   DistributionToString(dist));
  }
  return Status::Ok();
}

Status CheckCompatible(const std::string& trial_desc, const std::string& name,
                       const Distribution& existing, const Distribution& dist) {
  if (!Compatible(existing, dist)) {
    return Status::InvalidArgument(trial_desc + ": parameter '" + name + "' has distribution " +
                                   DistributionToString(dist) + " but the study already uses " +
                                   DistributionToString(existing) + " for it");
  }
  return Status::Ok();
}

Status PrepareTemplate(const std::string& desc, size_t n_objectives, FrozenTrial* t) {
  if (!t->values.empty() || t->state == TrialState::kComplete) {
    if (!IsFinished(t->state)) {
      return Status::InvalidArgument(desc + ": only a finished trial can carry values (got " +
                                     TrialStateName(t->state) + ")");
    }
    MGR_RETURN_IF_ERROR(CheckStateValues(desc, t->state, t->values, n_objectives));
  }
  for (const auto& [name, value] : t->params) {
    auto d = t->distributions.find(name);
    if (d == t->distributions.end()) {
      return Status::InvalidArgument(desc + ": parameter '" + name + "' has no distribution");
    }
    MGR_RETURN_IF_ERROR(CheckParam(desc, name, value, d->second));
  }
  if (t->distributions.size() != t->params.size()) {
    return Status::InvalidArgument(desc + ": every distribution needs a parameter value");
  }
  const TimePoint now = std::chrono::system_clock::now();
  if (t->state == TrialState::kWaiting) {
    t->datetime_start.reset();
    t->datetime_complete.reset();
  } else {
    if (!t->datetime_start) t->datetime_start = now;
    if (IsFinished(t->state) && !t->datetime_complete) t->datetime_complete = now;
    if (!IsFinished(t->state)) t->datetime_complete.reset();
  }
  return Status::Ok();
}

Status CheckDirections(const std::string& study_name, const std::vector<StudyDirection>& dirs) {
  if (dirs.empty()) {
    return Status::InvalidArgument("study '" + study_name + "': needs at least one direction");
  }
  return Status::Ok();
}

// Attribute values are JSON. Python's json module may write NaN / Infinity / -Infinity,
// which strict JSON (and nlohmann's parser, which refuses even 1e999) lacks. NaN is read as
// null. +-Infinity are swapped for strings no JSON text spells without the escape \u0000
// (they start with U+0000), then for the numbers; a text that has that escape keeps them
// unreadable (the whole text is then kept as a string).
namespace {

constexpr std::string_view kPosInf("\0+Infinity", 10);
constexpr std::string_view kNegInf("\0-Infinity", 10);

void ReplaceInfinities(Json* j) {
  if (j->is_string()) {
    const std::string& s = j->get_ref<const std::string&>();
    if (s == kPosInf) {
      *j = kInf;
    } else if (s == kNegInf) {
      *j = -kInf;
    }
  } else if (j->is_structured()) {
    for (Json& v : *j) ReplaceInfinities(&v);
  }
}

}  // namespace

Json ParseJsonLenient(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  const bool may_hold_nul = text.find("\\u0000") != std::string::npos;
  std::string fixed;
  fixed.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      fixed.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        fixed.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      fixed.push_back(c);
    } else if (text.compare(i, 3, "NaN") == 0) {
      fixed += "null";
      i += 2;
    } else if (!may_hold_nul && text.compare(i, 9, "-Infinity") == 0) {
      fixed += "\"\\u0000-Infinity\"";
      i += 8;
    } else if (!may_hold_nul && text.compare(i, 8, "Infinity") == 0) {
      fixed += "\"\\u0000+Infinity\"";
      i += 7;
    } else {
      fixed.push_back(c);
    }
  }
  j = Json::parse(fixed, nullptr, false);
  if (j.is_discarded()) return Json(text);  // keep what we cannot parse, as text
  ReplaceInfinities(&j);
  return j;
}

namespace {

bool HasNonFinite(const Json& j) {
  if (j.is_number_float()) return !std::isfinite(j.get<double>());
  if (j.is_structured()) {
    for (const Json& v : j) {
      if (HasNonFinite(v)) return true;
    }
  }
  return false;
}

void AppendLenient(const Json& j, std::string* out) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    const double v = j.get<double>();
    *out += std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  } else if (j.is_array()) {
    out->push_back('[');
    for (size_t i = 0; i < j.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendLenient(j[i], out);
    }
    out->push_back(']');
  } else if (j.is_object()) {
    out->push_back('{');
    bool first = true;
    for (const auto& [key, v] : j.items()) {
      if (!first) out->push_back(',');
      first = false;
      *out += Json(key).dump();
      out->push_back(':');
      AppendLenient(v, out);
    }
    out->push_back('}');
  } else {
    *out += j.dump();
  }
}

}  // namespace

std::string DumpJsonLenient(const Json& value) {
  if (!HasNonFinite(value)) return value.dump();
  std::string out;
  AppendLenient(value, &out);
  return out;
}

std::string StatesSql(const std::vector<TrialState>& states) {
  if (states.empty()) return "";
  std::string s = " AND t.state IN (";
  for (size_t i = 0; i < states.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::string("'") + TrialStateName(states[i]) + "'";
  }
  return s + ")";
}

Result<TrialState> ParseState(const std::string& text, int64_t trial_id) {
  Result<TrialState> s = ParseTrialState(text);
  if (!s.ok()) {
    return Status::Corruption("trial " + std::to_string(trial_id) + ": " + s.status().message());
  }
  return s;
}

Result<double> StoredToValue(bool is_null, double value, std::string_view type,
                             const std::string& what) {
  if (type == "FINITE" && !is_null) return value;
  if (type == "INF_POS") return kInf;
  if (type == "INF_NEG") return -kInf;
  if (type == "NAN") return std::numeric_limits<double>::quiet_NaN();
  return Status::Corruption(what + ": bad stored value (type '" + std::string(type) + "')");
}

Result<std::optional<TimePoint>> ParseOptionalDatetime(const std::optional<std::string>& text,
                                                       int64_t trial_id) {
  if (!text) return std::optional<TimePoint>();
  if (std::optional<TimePoint> fast = ParseDatetimeFast(*text)) return fast;
  Result<TimePoint> t = ParseDatetime(*text);
  if (!t.ok()) {
    return Status::Corruption("trial " + std::to_string(trial_id) + ": " + t.status().message());
  }
  return std::optional<TimePoint>(*t);
}

}  // namespace storage_internal
}  // namespace mgr
