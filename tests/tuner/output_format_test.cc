// Record output (tables, JSON, CSV, YAML) against Python's own rules, worked out by hand
// from the optuna/cli.py sources (_dump_table, _format_output). The value text is tested in
// python_text_test.cc.
#include "tuner/output_format.h"

#include <sstream>

#include <gtest/gtest.h>

namespace mgr {
namespace {

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
