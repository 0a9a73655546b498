#include "tuner/output_format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace mgr {
namespace {

constexpr size_t kFlushBytes = 1 << 16;

// --- Cells of a column group -----------------------------------------------------------------

// A flattened column's name: "number", "params_lr", "values_0".
std::string FlatName(const ColumnGroup& g, const std::string& key) {
  return key.empty() ? g.name : g.name + "_" + key;
}

// Calls fn(key) for each column of group `g` in output order: a scalar group has one
// (key ""), a dict group one per key, a list group one per index up to its width.
template <typename Fn>
void ForEachColumn(const ColumnGroup& g, Fn&& fn) {
  switch (g.kind) {
    case ColumnGroup::Kind::kScalar:
      fn(std::string());
      break;
    case ColumnGroup::Kind::kDict:
      for (const std::string& k : g.keys) fn(k);
      break;
    case ColumnGroup::Kind::kList:
      for (size_t i = 0; i < g.width; ++i) fn(std::to_string(i));
      break;
  }
}

// Calls fn(key, value) for each cell a record's value `v` of group `g` has, in output
// order: a scalar is one cell (key ""), a dict one per group key present in `v` (other keys
// are ignored), a list one per element ("0", "1"...). A dict value that is not an object
// or a list value that is not an array has no cells.
template <typename Fn>
void ForEachCell(const ColumnGroup& g, const Json& v, Fn&& fn) {
  switch (g.kind) {
    case ColumnGroup::Kind::kScalar:
      fn(std::string(), v);
      break;
    case ColumnGroup::Kind::kDict:
      if (!v.is_object()) break;
      for (const std::string& k : g.keys) {
        auto it = v.find(k);
        if (it != v.end()) fn(k, *it);
      }
      break;
    case ColumnGroup::Kind::kList:
      if (!v.is_array()) break;
      for (size_t i = 0; i < v.size(); ++i) fn(std::to_string(i), v[i]);
      break;
  }
}

// A dict group's value as a Python dict in the group's key order, as json.dumps writes it
// (`json`) or as repr does.
void AppendDictCell(const ColumnGroup& g, const Json& v, bool json, std::string* out) {
  out->push_back('{');
  bool first = true;
  ForEachCell(g, v, [&](const std::string& k, const Json& x) {
    if (!first) out->append(", ");
    first = false;
    if (json) {
      AppendJsonString(k, out);
      out->append(": ");
      AppendPythonJson(x, out);
    } else {
      AppendPythonStringRepr(k, out);
      out->append(": ");
      out->append(PythonRepr(x));
    }
  });
  out->push_back('}');
}

bool IsNestedDict(const ColumnGroup& g, const Json& v) {
  return g.kind == ColumnGroup::Kind::kDict && v.is_object();
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

void AppendYamlScalar(const Json& v, std::string* out) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) {
      out->append(".nan");
    } else if (std::isinf(d)) {
      out->append(d > 0 ? ".inf" : "-.inf");
    } else {
      std::string r = PythonFloatRepr(d);
      if (r.find('.') == std::string::npos && r.find('e') != std::string::npos) {
        r.replace(r.find('e'), 1, ".0e");
      }
      out->append(r);
    }
  } else if (v.is_string()) {
    AppendYamlString(v.get<std::string>(), out);
  } else if (v.is_object()) {
    out->append("{}");
  } else if (v.is_array()) {
    out->append("[]");
  } else {
    AppendPythonJson(v, out);  // null, true/false and integers: YAML spells them as JSON
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

// --- RecordWriter --------------------------------------------------------------------------

RecordWriter::RecordWriter(std::ostream* out, OutputFormat format, bool flatten,
                           std::vector<ColumnGroup> groups, bool single)
    : out_(out),
      format_(format),
      flatten_(flatten || format == OutputFormat::kCsv),
      groups_(std::move(groups)),
      single_(single) {
  for (const ColumnGroup& g : groups_) {
    ForEachColumn(g, [&](const std::string& key) { flat_header_.push_back(FlatName(g, key)); });
  }
  if (format_ == OutputFormat::kTable) {
    if (flatten_) {
      table_header_ = flat_header_;
    } else {
      for (const ColumnGroup& g : groups_) table_header_.push_back(g.name);
    }
  } else if (format_ == OutputFormat::kCsv) {
    bool first = true;
    for (const std::string& h : flat_header_) {
      if (!first) buffer_.push_back(',');
      first = false;
      AppendCsvField(h, &buffer_);
    }
    buffer_.push_back('\n');
  }
}

std::vector<std::pair<std::string, const Json*>> RecordWriter::Flatten(const Record& r) const {
  std::vector<std::pair<std::string, const Json*>> cells;
  for (size_t gi = 0; gi < groups_.size() && gi < r.size(); ++gi) {
    if (!r[gi]) continue;
    const ColumnGroup& g = groups_[gi];
    ForEachCell(g, *r[gi], [&](const std::string& key, const Json& v) {
      cells.emplace_back(FlatName(g, key), &v);
    });
  }
  return cells;
}

std::vector<const Json*> RecordWriter::FlatRow(const Record& r) const {
  std::vector<std::pair<std::string, const Json*>> cells = Flatten(r);
  std::vector<const Json*> row;
  row.reserve(flat_header_.size());
  size_t ci = 0;
  for (const std::string& h : flat_header_) {
    const Json* v = nullptr;
    if (ci < cells.size() && cells[ci].first == h) v = cells[ci++].second;
    row.push_back(v);
  }
  return row;
}

Json RecordWriter::Nest(const Record& r) const {
  Json obj = Json::object();
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ColumnGroup& g = groups_[gi];
    if (gi >= r.size() || !r[gi]) {
      obj[g.name] = Json::object();
    } else if (IsNestedDict(g, *r[gi])) {
      Json sub = Json::object();
      ForEachCell(g, *r[gi], [&](const std::string& k, const Json& v) { sub[k] = v; });
      obj[g.name] = std::move(sub);
    } else {
      obj[g.name] = *r[gi];
    }
  }
  return obj;
}

void RecordWriter::Add(const Record& r) {
  switch (format_) {
    case OutputFormat::kTable:
      AddTable(r);  // written whole by Finish
      break;
    case OutputFormat::kJson:
      AddJson(r);
      break;
    case OutputFormat::kCsv:
      AddCsv(r);
      break;
    case OutputFormat::kYaml:
      AddYaml(r);
      break;
  }
  ++count_;
  if (format_ != OutputFormat::kTable) FlushIfFull();
}

void RecordWriter::FlushIfFull() {
  if (buffer_.size() >= kFlushBytes) {
    out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
}

void RecordWriter::AddJson(const Record& r) {
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
      } else if (IsNestedDict(g, *r[gi])) {
        AppendDictCell(g, *r[gi], /*json=*/true, &buffer_);
      } else {
        AppendPythonJson(*r[gi], &buffer_);
      }
    }
  }
  buffer_.push_back('}');
}

void RecordWriter::AddCsv(const Record& r) {
  bool first = true;
  for (const Json* v : FlatRow(r)) {
    if (!first) buffer_.push_back(',');
    first = false;
    AppendCsvField(CsvText(v), &buffer_);
  }
  buffer_.push_back('\n');
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
  // A cell as Optuna's _dump_table sees it: str(value), None blank.
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
    for (const Json* v : FlatRow(r)) row.push_back(make(v, false));
  } else {
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const ColumnGroup& g = groups_[gi];
      if (gi >= r.size() || !r[gi]) {
        const Json empty = Json::object();
        row.push_back(make(&empty, false));
      } else if (IsNestedDict(g, *r[gi])) {
        Cell c;  // str(dict) in the group's key order
        c.kind = 2;
        AppendDictCell(g, *r[gi], /*json=*/false, &c.text);
        c.width = CodePointCount(c.text);
        row.push_back(std::move(c));
      } else {
        row.push_back(make(&*r[gi], g.tuple));
      }
    }
  }
  table_rows_.push_back(std::move(row));
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
    case OutputFormat::kTable:
      WriteTable();
      break;
  }
  out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  out_->flush();
}

void RecordWriter::WriteTable() {
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
    FlushIfFull();
  }
  buffer_ += separator + "\n";
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
