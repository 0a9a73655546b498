#include "tuner/output_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

namespace mgr {
namespace {

constexpr size_t kFlushBytes = 1 << 16;

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

size_t CodePointCount(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void AppendHex4(uint32_t v, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\u%04x", v);
  out->append(buf);
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

std::string IntText(const Json& v) {
  return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                : std::to_string(v.get<int64_t>());
}

// --- YAML (PyYAML safe_dump shape) ---------------------------------------------------------

bool IsYamlKeyword(const std::string& s) {
  static const std::set<std::string> kWords = {"y",   "n",    "yes",   "no",   "on",
                                               "off", "true", "false", "null", "~"};
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kWords.count(lower) > 0;
}

void AppendYamlString(const std::string& s, std::string* out) {
  bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
               !IsYamlKeyword(s);
  bool printable = true;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) plain = false;
    if (c < 0x20 || c >= 0x7F) printable = false;
  }
  if (plain) {
    out->append(s);
  } else if (printable) {
    out->push_back('\'');
    for (char c : s) {
      if (c == '\'') out->push_back('\'');
      out->push_back(c);
    }
    out->push_back('\'');
  } else {
    AppendJsonString(s, out);  // JSON escapes are valid YAML double-quoted escapes
  }
}

// null, booleans and numbers, with the format's spelling of the non-finite floats and
// `finite` for the others; false (nothing written) for strings, arrays and objects.
template <typename FiniteFloat>
bool AppendPlainScalar(const Json& v, const char* nan, const char* inf, const char* minus_inf,
                       FiniteFloat finite, std::string* out) {
  if (v.is_null()) {
    out->append("null");
  } else if (v.is_boolean()) {
    out->append(v.get<bool>() ? "true" : "false");
  } else if (v.is_number_integer()) {
    out->append(IntText(v));
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) {
      out->append(nan);
    } else if (std::isinf(d)) {
      out->append(d > 0 ? inf : minus_inf);
    } else {
      out->append(finite(d));
    }
  } else {
    return false;
  }
  return true;
}

void AppendYamlScalar(const Json& v, std::string* out) {
  auto yaml_float = [](double d) {
    std::string r = PythonFloatRepr(d);
    if (r.find('.') == std::string::npos && r.find('e') != std::string::npos) {
      r.replace(r.find('e'), 1, ".0e");
    }
    return r;
  };
  if (AppendPlainScalar(v, ".nan", ".inf", "-.inf", yaml_float, out)) return;
  if (v.is_string()) {
    AppendYamlString(v.get<std::string>(), out);
  } else if (v.is_object()) {
    out->append("{}");
  } else {
    out->append("[]");
  }
}

bool IsBlock(const Json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void AppendYaml(const Json& v, size_t indent, bool inline_first, std::string* out);

// A mapping at `indent`; its first line's indentation is already written if inline_first.
void AppendYamlMapping(const Json& obj, size_t indent, bool inline_first, std::string* out) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!(first && inline_first)) out->append(indent, ' ');
    first = false;
    AppendYamlString(it.key(), out);
    out->push_back(':');
    const Json& v = it.value();
    if (v.is_object() && !v.empty()) {
      out->push_back('\n');
      AppendYamlMapping(v, indent + 2, false, out);
    } else if (v.is_array() && !v.empty()) {
      out->push_back('\n');
      AppendYaml(v, indent, false, out);  // PyYAML does not indent a sequence in a mapping
    } else {
      out->push_back(' ');
      AppendYamlScalar(v, out);
      out->push_back('\n');
    }
  }
}

void AppendYaml(const Json& v, size_t indent, bool inline_first, std::string* out) {
  if (v.is_object() && !v.empty()) {
    AppendYamlMapping(v, indent, inline_first, out);
  } else if (v.is_array() && !v.empty()) {
    bool first = true;
    for (const Json& item : v) {
      if (!(first && inline_first)) out->append(indent, ' ');
      first = false;
      out->append("- ");
      if (IsBlock(item)) {
        AppendYaml(item, indent + 2, true, out);
      } else {
        AppendYamlScalar(item, out);
        out->push_back('\n');
      }
    }
  } else {
    if (!inline_first) out->append(indent, ' ');
    AppendYamlScalar(v, out);
    out->push_back('\n');
  }
}

// --- CSV -----------------------------------------------------------------------------------

std::string CsvText(const Json* v) {
  if (!v || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() || v->is_array()) return PythonJsonDumps(*v);
  return PythonStr(*v);
}

void AppendCsvField(const std::string& s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

int64_t FloorMicros(TimePoint t) {
  auto us = std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch());
  return us.count();
}

}  // namespace

Result<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "yaml") return OutputFormat::kYaml;
  return Status::InvalidArgument("unknown output format '" + name +
                                 "' (choose table, json, csv or yaml)");
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
  if (AppendPlainScalar(v, "NaN", "Infinity", "-Infinity", PythonFloatRepr, out)) return;
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

// --- RecordWriter --------------------------------------------------------------------------

RecordWriter::RecordWriter(std::ostream* out, OutputFormat format, bool flatten,
                           std::vector<ColumnGroup> groups, bool single)
    : out_(out),
      format_(format),
      flatten_(flatten || format == OutputFormat::kCsv),
      groups_(std::move(groups)),
      single_(single) {
  if (format_ == OutputFormat::kTable) {
    if (flatten_) {
      table_header_ = FlatHeader();
    } else {
      for (const auto& g : groups_) table_header_.push_back(g.name);
    }
  } else if (format_ == OutputFormat::kCsv) {
    bool first = true;
    for (const std::string& h : FlatHeader()) {
      if (!first) buffer_.push_back(',');
      first = false;
      AppendCsvField(h, &buffer_);
    }
    buffer_.push_back('\n');
  }
}

std::vector<std::string> RecordWriter::FlatHeader() const {
  std::vector<std::string> h;
  for (const auto& g : groups_) {
    switch (g.kind) {
      case ColumnGroup::Kind::kScalar:
        h.push_back(g.name);
        break;
      case ColumnGroup::Kind::kDict:
        for (const auto& k : g.keys) h.push_back(g.name + "_" + k);
        break;
      case ColumnGroup::Kind::kList:
        for (size_t i = 0; i < g.width; ++i) h.push_back(g.name + "_" + std::to_string(i));
        break;
    }
  }
  return h;
}

std::vector<std::pair<std::string, const Json*>> RecordWriter::Flatten(const Record& r) const {
  std::vector<std::pair<std::string, const Json*>> cells;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ColumnGroup& g = groups_[gi];
    if (gi >= r.size() || !r[gi]) continue;
    const Json& v = *r[gi];
    switch (g.kind) {
      case ColumnGroup::Kind::kScalar:
        cells.emplace_back(g.name, &v);
        break;
      case ColumnGroup::Kind::kDict:
        if (!v.is_object()) break;
        for (const auto& k : g.keys) {
          auto it = v.find(k);
          if (it != v.end()) cells.emplace_back(g.name + "_" + k, &*it);
        }
        break;
      case ColumnGroup::Kind::kList:
        if (!v.is_array()) break;
        for (size_t i = 0; i < v.size(); ++i) {
          cells.emplace_back(g.name + "_" + std::to_string(i), &v[i]);
        }
        break;
    }
  }
  return cells;
}

Json RecordWriter::Nest(const Record& r) const {
  Json obj = Json::object();
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ColumnGroup& g = groups_[gi];
    if (gi >= r.size() || !r[gi]) {
      obj[g.name] = Json::object();
      continue;
    }
    const Json& v = *r[gi];
    if (g.kind == ColumnGroup::Kind::kDict && v.is_object()) {
      Json sub = Json::object();
      for (const auto& k : g.keys) {
        auto it = v.find(k);
        if (it != v.end()) sub[k] = *it;
      }
      obj[g.name] = std::move(sub);
    } else {
      obj[g.name] = v;
    }
  }
  return obj;
}

void RecordWriter::Add(const Record& r) {
  switch (format_) {
    case OutputFormat::kTable:
      AddTable(r);
      return;
    case OutputFormat::kYaml:
      AddYaml(r);
      break;
    case OutputFormat::kCsv: {
      std::vector<std::pair<std::string, const Json*>> cells = Flatten(r);
      size_t ci = 0;
      bool first = true;
      for (const std::string& h : FlatHeader()) {
        if (!first) buffer_.push_back(',');
        first = false;
        const Json* v = nullptr;
        if (ci < cells.size() && cells[ci].first == h) v = cells[ci++].second;
        AppendCsvField(CsvText(v), &buffer_);
      }
      buffer_.push_back('\n');
      break;
    }
    case OutputFormat::kJson: {
      if (!single_) buffer_.append(count_ == 0 ? "[" : ", ");
      buffer_.push_back('{');
      bool first = true;
      auto key = [&](const std::string& k) {
        if (!first) buffer_.append(", ");
        first = false;
        AppendJsonString(k, &buffer_);
        buffer_.append(": ");
      };
      if (flatten_) {
        for (const auto& [name, v] : Flatten(r)) {
          key(name);
          AppendPythonJson(*v, &buffer_);
        }
      } else {
        for (size_t gi = 0; gi < groups_.size(); ++gi) {
          const ColumnGroup& g = groups_[gi];
          key(g.name);
          if (gi >= r.size() || !r[gi]) {
            buffer_.append("{}");  // Optuna starts every column at {}
          } else if (g.kind == ColumnGroup::Kind::kDict && r[gi]->is_object()) {
            buffer_.push_back('{');
            bool first_key = true;
            for (const auto& k : g.keys) {
              auto it = r[gi]->find(k);
              if (it == r[gi]->end()) continue;
              if (!first_key) buffer_.append(", ");
              first_key = false;
              AppendJsonString(k, &buffer_);
              buffer_.append(": ");
              AppendPythonJson(*it, &buffer_);
            }
            buffer_.push_back('}');
          } else {
            AppendPythonJson(*r[gi], &buffer_);
          }
        }
      }
      buffer_.push_back('}');
      break;
    }
  }
  ++count_;
  if (buffer_.size() >= kFlushBytes) {
    out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
}

void RecordWriter::AddYaml(const Record& r) {
  Json obj = flatten_ ? Json::object() : Nest(r);
  if (flatten_) {
    for (const auto& [name, v] : Flatten(r)) obj[name] = *v;
  }
  if (single_) {
    AppendYaml(obj, 0, false, &buffer_);
  } else {
    buffer_.append("- ");
    if (IsBlock(obj)) {
      AppendYaml(obj, 2, true, &buffer_);
    } else {
      AppendYamlScalar(obj, &buffer_);
      buffer_.push_back('\n');
    }
  }
}

void RecordWriter::AddTable(const Record& r) {
  auto make = [](const Json* v, bool tuple) {
    Cell c;
    if (!v || v->is_null()) {
      c.kind = 0;
      c.width = 4;  // len(str(None))
      return c;
    }
    c.text = PythonStr(*v, tuple);
    c.kind = (v->is_number() || v->is_boolean()) ? 1 : 2;
    c.width = CodePointCount(c.text);
    return c;
  };
  std::vector<Cell> row;
  if (flatten_) {
    std::vector<std::pair<std::string, const Json*>> cells = Flatten(r);
    size_t ci = 0;
    for (const std::string& h : table_header_) {
      const Json* v = nullptr;
      if (ci < cells.size() && cells[ci].first == h) v = cells[ci++].second;
      row.push_back(make(v, false));
    }
  } else {
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const ColumnGroup& g = groups_[gi];
      if (gi >= r.size() || !r[gi]) {
        Json empty = Json::object();
        row.push_back(make(&empty, false));
      } else if (g.kind == ColumnGroup::Kind::kDict && r[gi]->is_object()) {
        // str(dict) in the group's key order.
        Cell c;
        c.kind = 2;
        c.text = "{";
        bool first = true;
        for (const auto& k : g.keys) {
          auto it = r[gi]->find(k);
          if (it == r[gi]->end()) continue;
          if (!first) c.text += ", ";
          first = false;
          AppendPythonStringRepr(k, &c.text);
          c.text += ": " + PythonRepr(*it);
        }
        c.text += "}";
        c.width = CodePointCount(c.text);
        row.push_back(std::move(c));
      } else {
        row.push_back(make(&*r[gi], g.tuple));
      }
    }
  }
  table_rows_.push_back(std::move(row));
  ++count_;
}

void RecordWriter::Finish() {
  switch (format_) {
    case OutputFormat::kJson:
      if (!single_) buffer_.append(count_ == 0 ? "[]" : "]");
      buffer_.push_back('\n');
      break;
    case OutputFormat::kYaml:
      if (count_ == 0) buffer_.append(single_ ? "{}\n" : "[]\n");
      break;
    case OutputFormat::kCsv:
      break;
    case OutputFormat::kTable: {
      // Optuna's _dump_table: a column is right-aligned unless one of its cells is a string.
      std::string separator = "+", header = "|";
      std::vector<std::string> lines(table_rows_.size(), "|");
      for (size_t c = 0; c < table_header_.size(); ++c) {
        bool numeric = true;
        size_t width = CodePointCount(table_header_[c]);
        for (const auto& row : table_rows_) {
          if (row[c].kind == 2) numeric = false;
          width = std::max(width, row[c].width);
        }
        separator += std::string(width + 2, '-') + "+";
        auto pad = [&](const std::string& text, size_t text_width, bool right) {
          std::string fill(width - std::min(width, text_width), ' ');
          return right ? fill + text : text + fill;
        };
        header += " " + pad(table_header_[c], CodePointCount(table_header_[c]), numeric) + " |";
        for (size_t i = 0; i < table_rows_.size(); ++i) {
          const Cell& cell = table_rows_[i][c];
          std::string text =
              cell.kind == 0 ? std::string(width, ' ') : pad(cell.text, cell.width, numeric);
          lines[i] += " " + text + " |";
        }
      }
      buffer_ += separator + "\n" + header + "\n" + separator + "\n";
      for (const std::string& l : lines) {
        buffer_ += l;
        buffer_ += '\n';
        if (buffer_.size() >= kFlushBytes) {
          out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
          buffer_.clear();
        }
      }
      buffer_ += separator + "\n";
      break;
    }
  }
  out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  out_->flush();
}

// --- Trials --------------------------------------------------------------------------------

std::vector<ColumnGroup> TrialColumnGroups(const std::vector<FrozenTrial>& trials,
                                           const TrialListingOptions& options) {
  using Kind = ColumnGroup::Kind;
  std::set<std::string> params, user, system;
  for (const FrozenTrial& t : trials) {
    for (const auto& kv : t.params) params.insert(kv.first);
    for (const auto& kv : t.user_attrs) user.insert(kv.first);
    if (options.system_attrs) {
      for (const auto& kv : t.system_attrs) system.insert(kv.first);
    }
  }
  std::vector<ColumnGroup> g;
  g.push_back({"number", Kind::kScalar, {}, 0, false});
  if (options.n_objectives == 1) {
    g.push_back({"value", Kind::kScalar, {}, 0, false});
  } else {
    g.push_back({"values", Kind::kList, {}, options.n_objectives, false});
  }
  g.push_back({"datetime_start", Kind::kScalar, {}, 0, false});
  g.push_back({"datetime_complete", Kind::kScalar, {}, 0, false});
  g.push_back({"duration", Kind::kScalar, {}, 0, false});
  if (!params.empty()) g.push_back({"params", Kind::kDict, {params.begin(), params.end()}, 0});
  if (!user.empty()) g.push_back({"user_attrs", Kind::kDict, {user.begin(), user.end()}, 0});
  if (!system.empty()) {
    g.push_back({"system_attrs", Kind::kDict, {system.begin(), system.end()}, 0});
  }
  g.push_back({"state", Kind::kScalar, {}, 0, false});
  return g;
}

Record TrialRecord(const FrozenTrial& t, const std::vector<ColumnGroup>& groups,
                   const TrialListingOptions& options) {
  auto when = [&](const std::optional<TimePoint>& tp) -> Json {
    if (!tp) return Json();
    return options.full_datetimes ? FormatDatetime(*tp) : CliDatetime(*tp);
  };
  Record r;
  r.reserve(groups.size());
  for (const ColumnGroup& g : groups) {
    const std::string& n = g.name;
    if (n == "number") {
      r.emplace_back(Json(t.number));
    } else if (n == "value") {
      r.emplace_back(t.values.empty() ? Json() : Json(t.values[0]));
    } else if (n == "values") {
      Json values = Json::array();
      for (size_t i = 0; i < g.width; ++i) {
        values.push_back(t.values.size() == g.width ? Json(t.values[i]) : Json());
      }
      r.emplace_back(std::move(values));
    } else if (n == "datetime_start") {
      r.emplace_back(when(t.datetime_start));
    } else if (n == "datetime_complete") {
      r.emplace_back(when(t.datetime_complete));
    } else if (n == "duration") {
      if (t.datetime_start && t.datetime_complete) {
        int64_t us = FloorMicros(*t.datetime_complete) - FloorMicros(*t.datetime_start);
        r.emplace_back(options.full_datetimes ? Json(static_cast<double>(us) / 1e6)
                                              : Json(PythonTimedeltaStr(us)));
      } else {
        r.emplace_back(Json());
      }
    } else if (n == "params") {
      Json params = Json::object();
      for (const auto& [name, internal] : t.params) {
        auto d = t.distributions.find(name);
        params[name] =
            d == t.distributions.end() ? Json(internal) : ToExternal(d->second, internal);
      }
      r.emplace_back(std::move(params));
    } else if (n == "user_attrs" || n == "system_attrs") {
      Json attrs = Json::object();
      for (const auto& [k, v] : n == "user_attrs" ? t.user_attrs : t.system_attrs) attrs[k] = v;
      r.emplace_back(std::move(attrs));
    } else if (n == "state") {
      r.emplace_back(Json(TrialStateName(t.state)));
    } else {
      r.emplace_back(std::nullopt);
    }
  }
  return r;
}

}  // namespace mgr
