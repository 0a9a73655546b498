// Python's text for values against Python's own rules, worked out by hand from the CPython
// sources (repr(float), str(timedelta), json.dumps).
#include "tuner/python_text.h"

#include <cmath>
#include <limits>

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

}  // namespace
}  // namespace mgr
