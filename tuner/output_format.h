// Output of the mgr-tune inspection commands, shaped exactly like Python Optuna's CLI
// (optuna/cli.py: _convert_to_dict, _dump_table, _format_output) so that scripts written
// against `optuna trials -f json` work unchanged on `mgr-tune trials -f json`.
//
// A listing is a sequence of records over column groups ("number", "params", "values"...):
// a scalar group holds one value, a dict group one value per key ("params" -> "lr", "opt"),
// a list group one value per index ("values" -> 0, 1). Non-flattened output nests dict and
// list groups ({"params": {"lr": 0.1}}); flattened output (--flatten, and always for CSV)
// names them "params_lr", "values_0".
//
// JSON is byte-identical to Python's json.dumps (", " and ": " separators, ASCII only,
// float repr, NaN/Infinity tokens; the value text is tuner/python_text.h's). Tables are
// Optuna's +---+ tables with Python str() cells. YAML is PyYAML-compatible block style with
// sorted keys (safe_dump's shape; the quoting of strings may differ but the document loads
// to the same data). CSV follows RFC 4180 with the flattened header.
//
// JSON, YAML and CSV stream record by record; tables keep one string per cell until Finish
// (their column widths depend on every row).
#ifndef MGR_TUNER_OUTPUT_FORMAT_H_
#define MGR_TUNER_OUTPUT_FORMAT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "storage/base/status.h"
#include "storage/trial.h"
#include "tuner/python_text.h"

namespace mgr {

enum class OutputFormat { kTable, kJson, kCsv, kYaml };
// "table", "json", "csv", "yaml"; InvalidArgument naming the choices otherwise.
Result<OutputFormat> ParseOutputFormat(const std::string& name);

// --- Records ------------------------------------------------------------------------------
struct ColumnGroup {
  enum class Kind { kScalar, kDict, kList };
  std::string name;
  Kind kind = Kind::kScalar;
  std::vector<std::string> keys;  // kDict: the keys any record has, in output order
  size_t width = 0;               // kList: the longest list of any record
  bool tuple = false;             // kList: a Python tuple (tables print ('A', 'B'))
};

// One value per group, absent when the record has none. Scalar: any JSON; dict: an object
// (keys outside the group's keys are ignored); list: an array.
using Record = std::vector<std::optional<Json>>;

// Writes records to `out`. Not thread-safe. `single` writes one record as an object (or
// mapping) instead of a list, like `optuna best-trial`.
class RecordWriter {
 public:
  RecordWriter(std::ostream* out, OutputFormat format, bool flatten,
               std::vector<ColumnGroup> groups, bool single = false);
  void Add(const Record& record);
  // Ends the document (the closing bracket, or the whole table). Call exactly once.
  void Finish();

  // The header of flattened output: "number", "params_lr", "values_0"...
  std::vector<std::string> FlatHeader() const { return flat_header_; }

 private:
  // A record's present cells as (flattened column name, value), in header order.
  std::vector<std::pair<std::string, const Json*>> Flatten(const Record& r) const;
  // A record's values aligned with flat_header_ (nullptr where it has none).
  std::vector<const Json*> FlatRow(const Record& r) const;
  // Non-flattened {group name: value}; absent groups become {} as in Optuna.
  Json Nest(const Record& r) const;
  void AddJson(const Record& r);
  void AddCsv(const Record& r);
  void AddYaml(const Record& r);
  void AddTable(const Record& r);
  void WriteTable();
  void FlushIfFull();

  std::ostream* out_;
  OutputFormat format_;
  bool flatten_;
  std::vector<ColumnGroup> groups_;
  bool single_;
  std::vector<std::string> flat_header_;  // built once, from groups_
  size_t count_ = 0;
  std::string buffer_;
  // Table: header names, then one row of cells per record.
  struct Cell {
    std::string text;
    int kind;  // 0 none, 1 numeric, 2 string (Optuna's ValueType)
    size_t width;
  };
  std::vector<std::string> table_header_;
  std::vector<std::vector<Cell>> table_rows_;
};

// --- Trials as Optuna's CLI lists them ------------------------------------------------------
struct TrialListingOptions {
  size_t n_objectives = 1;      // "value" for one objective, else a "values" list
  bool system_attrs = false;    // add a "system_attrs" group (Optuna's trials_dataframe)
  bool full_datetimes = false;  // "YYYY-MM-DD HH:MM:SS.ffffff" and duration in seconds
};
// number, value|values, datetime_start, datetime_complete, duration, params, user_attrs,
// [system_attrs,] state: the groups `optuna trials` prints for these trials (a dict group
// only if some trial has a key in it).
std::vector<ColumnGroup> TrialColumnGroups(const std::vector<FrozenTrial>& trials,
                                           const TrialListingOptions& options);
// The record of one trial over `groups` (from TrialColumnGroups).
Record TrialRecord(const FrozenTrial& trial, const std::vector<ColumnGroup>& groups,
                   const TrialListingOptions& options);

}  // namespace mgr

#endif  // MGR_TUNER_OUTPUT_FORMAT_H_
