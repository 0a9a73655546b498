#include "tuner/python_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace mgr {
namespace {

// Decodes one UTF-8 code point at s[*i] (advancing *i); an invalid byte decodes as itself.
uint32_t NextCodePoint(const std::string& s, size_t* i) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  int extra = c >= 0xF0 && c < 0xF8 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  if (c < 0x80 || extra == 0 || *i + extra >= s.size()) {
    ++*i;
    return c;
  }
  uint32_t cp = c & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    unsigned char d = static_cast<unsigned char>(s[*i + k]);
    if ((d & 0xC0) != 0x80) {
      ++*i;
      return c;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  *i += extra + 1;
  return cp;
}

void AppendHex4(uint32_t v, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\u%04x", v);
  out->append(buf);
}

std::string IntText(const Json& v) {
  return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                : std::to_string(v.get<int64_t>());
}

// null, booleans and numbers as json.dumps writes them (NaN, Infinity, -Infinity); false
// (nothing written) for strings, arrays and objects.
bool AppendJsonPlainScalar(const Json& v, std::string* out) {
  if (v.is_null()) {
    out->append("null");
  } else if (v.is_boolean()) {
    out->append(v.get<bool>() ? "true" : "false");
  } else if (v.is_number_integer()) {
    out->append(IntText(v));
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) {
      out->append("NaN");
    } else if (std::isinf(d)) {
      out->append(d > 0 ? "Infinity" : "-Infinity");
    } else {
      out->append(PythonFloatRepr(d));
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace

size_t CodePointCount(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// json.dumps(str) with ensure_ascii=True.
void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '"' || c == '\\') out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    switch (c) {
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      case '\b':
        out->append("\\b");
        ++i;
        continue;
      case '\f':
        out->append("\\f");
        ++i;
        continue;
      default:
        break;
    }
    uint32_t cp = NextCodePoint(s, &i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      AppendHex4(0xD800 + (cp >> 10), out);
      AppendHex4(0xDC00 + (cp & 0x3FF), out);
    } else {
      AppendHex4(cp, out);
    }
  }
  out->push_back('"');
}

// repr(str): single quotes unless the text has ' and no ".
void AppendPythonStringRepr(const std::string& s, std::string* out) {
  char quote = '\'';
  if (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) quote = '"';
  out->push_back(quote);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back(quote);
}

std::string PythonFloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e-05"
  std::string out;
  size_t pos = 0;
  if (sci[0] == '-') {
    out.push_back('-');
    pos = 1;
  }
  size_t e = sci.find('e');
  std::string digits;
  for (size_t i = pos; i < e; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exp10 = std::stoi(sci.substr(e + 1));
  int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
  int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out.push_back(digits[0]);
    if (n > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    int x = decpt - 1;
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    out.append(eb);
  } else if (decpt <= 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-decpt), '0');
    out.append(digits);
  } else if (decpt >= n) {
    out.append(digits);
    out.append(static_cast<size_t>(decpt - n), '0');
    out.append(".0");
  } else {
    out.append(digits, 0, static_cast<size_t>(decpt));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(decpt), std::string::npos);
  }
  return out;
}

std::string PythonRepr(const Json& v, bool tuple) {
  std::string out;
  if (v.is_null()) return "None";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_number_integer()) return IntText(v);
  if (v.is_number_float()) return PythonFloatRepr(v.get<double>());
  if (v.is_string()) {
    AppendPythonStringRepr(v.get<std::string>(), &out);
    return out;
  }
  if (v.is_array()) {
    out.push_back(tuple ? '(' : '[');
    bool first = true;
    for (const Json& x : v) {
      if (!first) out.append(", ");
      first = false;
      out.append(PythonRepr(x));
    }
    if (tuple && v.size() == 1) out.push_back(',');
    out.push_back(tuple ? ')' : ']');
    return out;
  }
  out.push_back('{');
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out.append(", ");
    first = false;
    AppendPythonStringRepr(it.key(), &out);
    out.append(": ");
    out.append(PythonRepr(it.value()));
  }
  out.push_back('}');
  return out;
}

std::string PythonStr(const Json& v, bool tuple) {
  if (v.is_string()) return v.get<std::string>();
  return PythonRepr(v, tuple);
}

void AppendPythonJson(const Json& v, std::string* out) {
  if (AppendJsonPlainScalar(v, out)) return;
  if (v.is_string()) {
    AppendJsonString(v.get<std::string>(), out);
  } else if (v.is_array()) {
    out->push_back('[');
    bool first = true;
    for (const Json& x : v) {
      if (!first) out->append(", ");
      first = false;
      AppendPythonJson(x, out);
    }
    out->push_back(']');
  } else {
    out->push_back('{');
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out->append(", ");
      first = false;
      AppendJsonString(it.key(), out);
      out->append(": ");
      AppendPythonJson(it.value(), out);
    }
    out->push_back('}');
  }
}

std::string PythonJsonDumps(const Json& v) {
  std::string out;
  AppendPythonJson(v, &out);
  return out;
}

std::string PythonTimedeltaStr(int64_t microseconds) {
  constexpr int64_t kDay = 86400LL * 1000000LL;
  int64_t days = microseconds / kDay;
  int64_t rem = microseconds % kDay;
  if (rem < 0) {  // Python normalises to a non-negative time of day
    rem += kDay;
    --days;
  }
  int64_t us = rem % 1000000;
  int64_t secs = rem / 1000000;
  char buf[96];
  std::string out;
  if (days != 0) {
    std::snprintf(buf, sizeof(buf), "%lld day%s, ", static_cast<long long>(days),
                  (days == 1 || days == -1) ? "" : "s");
    out = buf;
  }
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  out += buf;
  if (us) {
    std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out;
}

std::string CliDatetime(TimePoint t) { return FormatDatetime(t).substr(0, 19); }

}  // namespace mgr
