// Output formatting against Python's own rules, worked out by hand from the CPython and
// optuna/cli.py sources (repr(float), str(timedelta), json.dumps, _dump_table).
#include "tuner/output_format.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(PythonFloatReprTest, MatchesCPythonRepr) {
  EXPECT_EQ(PythonFloatRepr(0.1), "0.1");
  EXPECT_EQ(PythonFloatRepr(100.0), "100.0");
  EXPECT_EQ(PythonFloatRepr(-2.0), "-2.0");
  EXPECT_EQ(PythonFloatRepr(0.0), "0.0");
  EXPECT_EQ(PythonFloatRepr(1e-05), "1e-05");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(1.5e-07), "1.5e-07");
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(PythonFloatRepr(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(PythonFloatRepr(2.5e300), "2.5e+300");
  EXPECT_EQ(PythonFloatRepr(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(PythonFloatRepr(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(PythonFloatRepr(std::nan("")), "nan");
}

TEST(PythonReprTest, ContainersAndStrings) {
  EXPECT_EQ(PythonRepr(Json::parse(R"({"b": [1, 2.0, null, true], "a": "x"})")),
            "{'a': 'x', 'b': [1, 2.0, None, True]}");
  EXPECT_EQ(PythonRepr(Json("it's")), "\"it's\"");
  EXPECT_EQ(PythonRepr(Json("a\nb")), "'a\\nb'");
  EXPECT_EQ(PythonRepr(Json::parse(R"(["MINIMIZE"])"), true), "('MINIMIZE',)");
  EXPECT_EQ(PythonRepr(Json::parse(R"(["A", "B"])"), true), "('A', 'B')");
  EXPECT_EQ(PythonStr(Json("plain")), "plain");
}

TEST(PythonJsonDumpsTest, DefaultSettings) {
  Json v = Json::parse(R"({"k": [1, 0.5, "é", null, false], "n": {}})");
  EXPECT_EQ(PythonJsonDumps(v), "{\"k\": [1, 0.5, \"\\u00e9\", null, false], \"n\": {}}");
  EXPECT_EQ(PythonJsonDumps(Json(std::numeric_limits<double>::infinity())), "Infinity");
  EXPECT_EQ(PythonJsonDumps(Json(std::nan(""))), "NaN");
  EXPECT_EQ(PythonJsonDumps(Json("\xF0\x9F\x8E\xB5")), "\"\\ud83c\\udfb5\"");  // U+1F3B5
  EXPECT_EQ(PythonJsonDumps(Json("tab\there \"q\"")), "\"tab\\there \\\"q\\\"\"");
}

TEST(PythonTimedeltaTest, MatchesStrTimedelta) {
  EXPECT_EQ(PythonTimedeltaStr(0), "0:00:00");
  EXPECT_EQ(PythonTimedeltaStr(1500000), "0:00:01.500000");
  EXPECT_EQ(PythonTimedeltaStr(3723000001), "1:02:03.000001");
  EXPECT_EQ(PythonTimedeltaStr(86400000000LL), "1 day, 0:00:00");
  EXPECT_EQ(PythonTimedeltaStr(2 * 86400000000LL + 5000000), "2 days, 0:00:05");
  EXPECT_EQ(PythonTimedeltaStr(-500000), "-1 day, 23:59:59.500000");
}

TEST(RecordWriterTest, TableLikeOptunaDumpTable) {
  using Kind = ColumnGroup::Kind;
  std::vector<ColumnGroup> groups = {{"number", Kind::kScalar, {}, 0, false},
                                     {"value", Kind::kScalar, {}, 0, false},
                                     {"params", Kind::kDict, {"x"}, 0, false}};
  std::ostringstream out;
  RecordWriter w(&out, OutputFormat::kTable, false, groups);
  w.Add({Json(0), Json(1.5), Json::parse(R"({"x": "a"})")});
  w.Add({Json(10), Json(), Json::object()});
  w.Finish();
  // value: numeric, right-aligned, None blank but 4 wide; params: strings, left-aligned.
  EXPECT_EQ(out.str(),
            "+--------+-------+------------+\n"
            "| number | value | params     |\n"
            "+--------+-------+------------+\n"
            "|      0 |   1.5 | {'x': 'a'} |\n"
            "|     10 |       | {}         |\n"
            "+--------+-------+------------+\n");
}

TEST(RecordWriterTest, FlattenedJsonAndCsv) {
  using Kind = ColumnGroup::Kind;
  std::vector<ColumnGroup> groups = {{"number", Kind::kScalar, {}, 0, false},
                                     {"values", Kind::kList, {}, 2, false},
                                     {"params", Kind::kDict, {"a", "b"}, 0, false}};
  Record r1 = {Json(0), Json::parse("[1.0, null]"), Json::parse(R"({"b": "x,y"})")};
  std::ostringstream json, nested, csv;
  RecordWriter j(&json, OutputFormat::kJson, true, groups);
  j.Add(r1);
  j.Finish();
  EXPECT_EQ(json.str(),
            "[{\"number\": 0, \"values_0\": 1.0, \"values_1\": null, "
            "\"params_b\": \"x,y\"}]\n");
  RecordWriter n(&nested, OutputFormat::kJson, false, groups);
  n.Add(r1);
  n.Finish();
  EXPECT_EQ(nested.str(),
            "[{\"number\": 0, \"values\": [1.0, null], \"params\": {\"b\": \"x,y\"}}]\n");
  RecordWriter c(&csv, OutputFormat::kCsv, false, groups);
  c.Add(r1);
  c.Finish();
  EXPECT_EQ(csv.str(), "number,values_0,values_1,params_a,params_b\n0,1.0,,,\"x,y\"\n");
}

TEST(RecordWriterTest, YamlLikePyYamlSafeDump) {
  using Kind = ColumnGroup::Kind;
  std::vector<ColumnGroup> groups = {{"number", Kind::kScalar, {}, 0, false},
                                     {"values", Kind::kList, {}, 2, false},
                                     {"when", Kind::kScalar, {}, 0, false},
                                     {"params", Kind::kDict, {"lr"}, 0, false}};
  std::ostringstream out;
  RecordWriter w(&out, OutputFormat::kYaml, false, groups);
  w.Add({Json(0), Json::parse("[1e-05, 2.0]"), Json("2024-01-02 03:04:05"), Json::object()});
  w.Finish();
  EXPECT_EQ(out.str(),
            "- number: 0\n"
            "  params: {}\n"
            "  values:\n"
            "  - 1.0e-05\n"
            "  - 2.0\n"
            "  when: '2024-01-02 03:04:05'\n");
}

TEST(TrialListingTest, GroupsOnlyForPresentKeys) {
  FrozenTrial t;
  t.number = 3;
  t.state = TrialState::kPruned;
  t.values = {0.25};
  t.params = {{"opt", 1.0}};
  t.distributions = {{"opt", CategoricalDistribution{{"adam", "sgd"}}}};
  auto groups = TrialColumnGroups({t}, {});
  std::vector<std::string> names;
  for (const auto& g : groups) names.push_back(g.name);
  EXPECT_EQ(names, (std::vector<std::string>{"number", "value", "datetime_start",
                                             "datetime_complete", "duration", "params", "state"}));
  Record r = TrialRecord(t, groups, {});
  EXPECT_EQ(*r[1], Json(0.25));
  EXPECT_TRUE(r[2]->is_null());
  EXPECT_EQ(*r[5], Json::parse(R"({"opt": "sgd"})"));
  EXPECT_EQ(*r[6], Json("PRUNED"));
}

}  // namespace
}  // namespace mgr
