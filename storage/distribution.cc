#include "storage/distribution.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace mgr {
namespace {

// The shortest of 15 or 17 significant digits that reads back as `v` (0.03, not
// 0.029999999999999999), as Python's repr shows it.
std::string Num(double v) {
  for (int digits : {15, 17}) {
    std::ostringstream s;
    s.precision(digits);
    s << v;
    if (digits == 17 || std::strtod(s.str().c_str(), nullptr) == v) return s.str();
  }
  return "";  // not reached
}

// Optuna's _adjust_discrete_uniform_high, which works in decimal arithmetic; a relative
// tolerance stands in for it so that (1.0 - 0.1) / 0.1 counts as a whole number of steps.
double AdjustFloatHigh(double low, double high, double step) {
  double r = high - low;
  double k = r / step;
  if (!std::isfinite(k)) {
    // A range or step count beyond double (e.g. low -1e308, high 1e308): long double holds it.
    long double lk = (static_cast<long double>(high) - low) / step;
    long double lrounded = std::round(lk);
    if (std::fabs(lk - lrounded) <= 1e-9L * std::fabs(lk)) return high;
    return static_cast<double>(std::floor(lk) * step + low);
  }
  double rounded = std::round(k);
  if (std::fabs(k - rounded) <= 1e-9 * std::max(1.0, std::fabs(k))) return high;
  return std::floor(k) * step + low;
}

// The type Python loads a JSON value as: -0 and 0 are both int, though nlohmann stores one
// as number_integer and the other as number_unsigned (and writes both as 0).
Json::value_t PythonType(const Json& v) {
  return v.is_number_integer() ? Json::value_t::number_integer : v.type();
}

// True if `v` converts to int64_t without overflow (-2^63 <= v < 2^63; false for NaN).
bool FitsInt64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

}  // namespace

Status ValidateDistribution(const std::string& name, const Distribution& dist) {
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (!std::isfinite(f->low) || !std::isfinite(f->high)) {
      return Status::InvalidArgument(name + ": bounds must be finite (got low=" + Num(f->low) +
                                     ", high=" + Num(f->high) + ")");
    }
    if (f->low > f->high) {
      return Status::InvalidArgument(name + ": low must be <= high (got " + Num(f->low) + " > " +
                                     Num(f->high) + ")");
    }
    if (f->log && f->step) {
      return Status::InvalidArgument(name + ": log and step cannot be used together");
    }
    if (f->log && f->low <= 0.0) {
      return Status::InvalidArgument(name + ": low must be > 0 for a log distribution (got " +
                                     Num(f->low) + ")");
    }
    if (f->step && !(*f->step > 0.0 && std::isfinite(*f->step))) {
      return Status::InvalidArgument(name + ": step must be > 0 (got " + Num(*f->step) + ")");
    }
    return Status::Ok();
  }
  if (auto* i = std::get_if<IntDistribution>(&dist)) {
    if (i->low > i->high) {
      return Status::InvalidArgument(name + ": low must be <= high (got " + std::to_string(i->low) +
                                     " > " + std::to_string(i->high) + ")");
    }
    int64_t width;
    if (__builtin_sub_overflow(i->high, i->low, &width)) {
      return Status::InvalidArgument(
          name + ": high - low must fit in a 64-bit integer (got low=" + std::to_string(i->low) +
          ", high=" + std::to_string(i->high) + ")");
    }
    if (i->step <= 0) {
      return Status::InvalidArgument(name + ": step must be > 0 (got " + std::to_string(i->step) +
                                     ")");
    }
    if (i->log && i->step != 1) {
      return Status::InvalidArgument(name +
                                     ": log and step cannot be used together (step must be 1)");
    }
    if (i->log && i->low < 1) {
      return Status::InvalidArgument(name + ": low must be >= 1 for a log distribution (got " +
                                     std::to_string(i->low) + ")");
    }
    return Status::Ok();
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  if (c.choices.empty()) return Status::InvalidArgument(name + ": choices must not be empty");
  for (size_t k = 0; k < c.choices.size(); ++k) {
    const Json& v = c.choices[k];
    if (!(v.is_string() || v.is_number() || v.is_boolean() || v.is_null())) {
      return Status::InvalidArgument(name + ": choices[" + std::to_string(k) +
                                     "] must be a string, number, boolean or null (got " +
                                     v.dump() + ")");
    }
    for (size_t j = 0; j < k; ++j) {
      if (c.choices[j] == v && PythonType(c.choices[j]) == PythonType(v)) {
        return Status::InvalidArgument(name + ": duplicate choice " + v.dump());
      }
    }
  }
  return Status::Ok();
}

Result<Distribution> MakeFloatDistribution(const std::string& name, double low, double high,
                                           bool log, std::optional<double> step) {
  Distribution d = FloatDistribution{low, high, log, step};
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, d));
  if (step) std::get<FloatDistribution>(d).high = AdjustFloatHigh(low, high, *step);
  return d;
}

Result<Distribution> MakeIntDistribution(const std::string& name, int64_t low, int64_t high,
                                         bool log, int64_t step) {
  Distribution d = IntDistribution{low, high, log, step};
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, d));
  auto& i = std::get<IntDistribution>(d);
  i.high = (i.high - i.low) / i.step * i.step + i.low;
  return d;
}

Result<Distribution> MakeCategoricalDistribution(const std::string& name,
                                                 std::vector<Json> choices) {
  Distribution d = CategoricalDistribution{std::move(choices)};
  MGR_RETURN_IF_ERROR(ValidateDistribution(name, d));
  return d;
}

std::string DistributionToJsonString(const Distribution& dist) {
  nlohmann::ordered_json attrs;
  std::string name;
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    name = "FloatDistribution";
    attrs["low"] = f->low;
    attrs["high"] = f->high;
    attrs["log"] = f->log;
    attrs["step"] = f->step ? nlohmann::ordered_json(*f->step) : nlohmann::ordered_json(nullptr);
  } else if (auto* i = std::get_if<IntDistribution>(&dist)) {
    name = "IntDistribution";
    attrs["log"] = i->log;
    attrs["step"] = i->step;
    attrs["low"] = i->low;
    attrs["high"] = i->high;
  } else {
    name = "CategoricalDistribution";
    attrs["choices"] = nlohmann::ordered_json::array();
    for (const auto& c : std::get<CategoricalDistribution>(dist).choices) {
      attrs["choices"].push_back(nlohmann::ordered_json::parse(c.dump()));
    }
  }
  nlohmann::ordered_json out;
  out["name"] = name;
  out["attributes"] = attrs;
  // Python's json.dumps separates with ", " and ": ", and writes non-ASCII as \uXXXX.
  std::string compact = out.dump(-1, ' ', /*ensure_ascii=*/true);
  std::string spaced;
  spaced.reserve(compact.size() + 16);
  bool in_string = false, escaped = false;
  for (char ch : compact) {
    spaced.push_back(ch);
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == ',' || ch == ':') {
      spaced.push_back(' ');
    }
  }
  return spaced;
}

Json DistributionToJson(const Distribution& dist) {
  return Json::parse(DistributionToJsonString(dist));
}

Result<Distribution> DistributionFromJson(const Json& json) {
  if (!json.is_object() || !json.contains("name") || !json["name"].is_string() ||
      !json.contains("attributes") || !json["attributes"].is_object()) {
    return Status::InvalidArgument(
        "distribution_json must be {\"name\": ..., \"attributes\": {...}}, got " + json.dump());
  }
  const std::string name = json["name"];
  const Json& a = json["attributes"];
  auto num = [&](const char* key, double* out) -> Status {
    if (!a.contains(key) || !a[key].is_number()) {
      return Status::InvalidArgument(name + ".attributes." + key + ": expected a number");
    }
    *out = a[key].get<double>();
    return Status::Ok();
  };
  // Integers are read exactly (Python's are exact); a float only if whole.
  auto integer = [&](const char* key, int64_t* out) -> Status {
    const std::string where = name + ".attributes." + key;
    if (!a.contains(key) || !a[key].is_number()) {
      return Status::InvalidArgument(where + ": expected an integer");
    }
    const Json& v = a[key];
    const Status out_of_range =
        Status::InvalidArgument(where + ": " + v.dump() + " is outside the 64-bit integer range");
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return out_of_range;
      }
      *out = static_cast<int64_t>(v.get<uint64_t>());
    } else if (v.is_number_integer()) {
      *out = v.get<int64_t>();
    } else {
      double d = v.get<double>();
      if (d != std::floor(d)) return Status::InvalidArgument(where + ": expected an integer");
      if (!FitsInt64(d)) return out_of_range;
      *out = static_cast<int64_t>(d);
    }
    return Status::Ok();
  };
  auto flag = [&](const char* key) {
    return a.contains(key) && a[key].is_boolean() && a[key].get<bool>();
  };
  Distribution d;
  if (name == "FloatDistribution" || name == "UniformDistribution" ||
      name == "LogUniformDistribution" || name == "DiscreteUniformDistribution") {
    FloatDistribution f;
    MGR_RETURN_IF_ERROR(num("low", &f.low));
    MGR_RETURN_IF_ERROR(num("high", &f.high));
    f.log = name == "LogUniformDistribution" || (name == "FloatDistribution" && flag("log"));
    if ((name == "FloatDistribution" || name == "DiscreteUniformDistribution") &&
        a.contains(name == "FloatDistribution" ? "step" : "q")) {
      const Json& s = a[name == "FloatDistribution" ? "step" : "q"];
      if (s.is_number())
        f.step = s.get<double>();
      else if (!s.is_null())
        return Status::InvalidArgument(name + ".attributes.step: expected a number or null");
    }
    d = f;
  } else if (name == "IntDistribution" || name == "IntUniformDistribution" ||
             name == "IntLogUniformDistribution") {
    IntDistribution i;
    MGR_RETURN_IF_ERROR(integer("low", &i.low));
    MGR_RETURN_IF_ERROR(integer("high", &i.high));
    i.log = name == "IntLogUniformDistribution" || (name == "IntDistribution" && flag("log"));
    if (a.contains("step") && !a["step"].is_null()) MGR_RETURN_IF_ERROR(integer("step", &i.step));
    d = i;
  } else if (name == "CategoricalDistribution") {
    if (!a.contains("choices") || !a["choices"].is_array()) {
      return Status::InvalidArgument(
          "CategoricalDistribution.attributes.choices: expected an array");
    }
    CategoricalDistribution c;
    for (const auto& v : a["choices"]) c.choices.push_back(v);
    d = c;
  } else {
    return Status::InvalidArgument("unknown distribution name '" + name + "'");
  }
  MGR_RETURN_IF_ERROR(ValidateDistribution("distribution_json", d));
  return d;
}

Result<Distribution> DistributionFromJsonString(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Status::InvalidArgument("distribution_json is not valid JSON: " + text);
  return DistributionFromJson(j);
}

Result<double> ToInternal(const Distribution& dist, const Json& external) {
  if (auto* c = std::get_if<CategoricalDistribution>(&dist)) {
    for (size_t k = 0; k < c->choices.size(); ++k) {
      const Json& v = c->choices[k];
      bool same_kind = (v.is_number() && external.is_number()) || v.type() == external.type();
      if (same_kind && v == external) return static_cast<double>(k);
    }
    return Status::InvalidArgument(external.dump() + " is not one of the choices " +
                                   DistributionToString(dist));
  }
  if (!external.is_number()) {
    return Status::InvalidArgument("expected a number for " + DistributionToString(dist) +
                                   ", got " + external.dump());
  }
  return external.get<double>();
}

Json ToExternal(const Distribution& dist, double internal) {
  if (std::holds_alternative<FloatDistribution>(dist)) return internal;
  if (std::holds_alternative<IntDistribution>(dist)) {
    return static_cast<int64_t>(std::llround(internal));
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  auto k = static_cast<size_t>(std::llround(internal));
  return k < c.choices.size() ? c.choices[k] : Json(nullptr);
}

bool Contains(const Distribution& dist, double v) {
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (!(f->low <= v && v <= f->high)) return false;
    if (!f->step) return true;
    double k = (v - f->low) / *f->step;
    return std::fabs(k - std::round(k)) < 1e-8;
  }
  if (auto* i = std::get_if<IntDistribution>(&dist)) {
    if (v != std::floor(v) || !FitsInt64(v)) return false;
    auto x = static_cast<int64_t>(v);
    return i->low <= x && x <= i->high && (x - i->low) % i->step == 0;
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  return v == std::floor(v) && 0 <= v && v < static_cast<double>(c.choices.size());
}

bool IsSingle(const Distribution& dist) {
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (f->low == f->high) return true;
    return f->step && (f->high - f->low) < *f->step;
  }
  if (auto* i = std::get_if<IntDistribution>(&dist)) {
    if (i->low == i->high) return true;
    return !i->log && (i->high - i->low) < i->step;
  }
  return std::get<CategoricalDistribution>(dist).choices.size() == 1;
}

bool Compatible(const Distribution& a, const Distribution& b) {
  if (a.index() != b.index()) return false;
  if (auto* ca = std::get_if<CategoricalDistribution>(&a)) {
    return *ca == std::get<CategoricalDistribution>(b);
  }
  return true;
}

std::string DistributionToString(const Distribution& dist) {
  std::ostringstream s;
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    s << "float[" << Num(f->low) << ", " << Num(f->high) << "]";
    if (f->log) s << " log";
    if (f->step) s << " step " << Num(*f->step);
  } else if (auto* i = std::get_if<IntDistribution>(&dist)) {
    s << "int[" << i->low << ", " << i->high << "]";
    if (i->log) s << " log";
    if (i->step != 1) s << " step " << i->step;
  } else {
    s << "categorical[";
    const auto& c = std::get<CategoricalDistribution>(dist).choices;
    for (size_t k = 0; k < c.size(); ++k) {
      if (k) s << ", ";
      s << (c[k].is_string() ? c[k].get<std::string>() : c[k].dump());
    }
    s << "]";
  }
  return s.str();
}

}  // namespace mgr
