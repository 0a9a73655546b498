#include "trainer/data/csv_reader.h"

#include <gtest/gtest.h>

#include <sstream>

namespace mgr {
namespace {

using Rows = std::vector<std::vector<std::string>>;

Rows ReadAll(const std::string& text, Status* status, std::vector<int64_t>* lines = nullptr) {
  std::istringstream in(text);
  CsvReader reader(&in, "t.csv");
  Rows rows;
  std::vector<std::string> fields;
  while (reader.Next(&fields, status)) {
    rows.push_back(fields);
    if (lines) lines->push_back(reader.record_line());
  }
  return rows;
}

TEST(CsvReaderTest, PlainFieldsAndEmptyFields) {
  Status s;
  Rows rows = ReadAll("a,b,c\n1,,3\n,,\n", &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "", "3"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"", "", ""}));
}

TEST(CsvReaderTest, QuotedCommasNewlinesAndDoubledQuotes) {
  Status s;
  std::vector<int64_t> lines;
  Rows rows = ReadAll(
      "id,bio,x\n"
      "1,\"Formed in 2009, the \"\"band\"\"\nplays\r\nloud.\",y\n"
      "2,\"\",\"\"\"\"\n",
      &s, &lines);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "1");
  EXPECT_EQ(rows[1][1], "Formed in 2009, the \"band\"\nplays\r\nloud.");
  EXPECT_EQ(rows[1][2], "y");
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "", "\""}));
  // Records start on lines 1, 2 and 5 (the quoted field spans lines 2-4).
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 5}));
}

TEST(CsvReaderTest, CrlfAndNoFinalNewline) {
  Status s;
  Rows rows = ReadAll("a,b\r\nc,d\r\ne,f", &s);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"e", "f"}));
}

TEST(CsvReaderTest, UnclosedQuoteIsAnErrorNamingTheLine) {
  Status s;
  Rows rows = ReadAll("a,b\n1,\"never closed\n2,3\n", &s);
  EXPECT_EQ(rows.size(), 1u);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("t.csv:2"), std::string::npos) << s.message();
}

TEST(CsvReaderTest, GarbageAfterClosingQuoteIsAnError) {
  Status s;
  ReadAll("\"a\"b,c\n", &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
}

TEST(CsvReaderTest, LongFieldsCrossTheBufferBoundary) {
  std::string big(200000, 'x');
  big[100000] = ',';
  Status s;
  Rows rows = ReadAll("\"" + big + "\",z\n", &s);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], big);
  EXPECT_EQ(rows[0][1], "z");
}

TEST(CsvReaderTest, MissingFileIsNotFound) {
  auto r = CsvReader::OpenFile("/nonexistent/tracks.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/tracks.csv"), std::string::npos);
}

}  // namespace
}  // namespace mgr
