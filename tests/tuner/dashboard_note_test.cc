// The optuna-dashboard note writer against optuna-dashboard's own rules (its _note.py):
// chunks of 2045 Python characters, the version counted up, leftover chunks blanked. The
// real dashboard reads these notes back in optuna_dashboard_test.cc.
#include "tuner/dashboard_note.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "studies/study_file.h"

namespace mgr {
namespace {

using ::testing::HasSubstr;

// Python's len(): code points of UTF-8 text.
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

TEST(SplitDashboardNoteTest, CutsEvery2045CodePointsWithoutSplittingUtf8) {
  EXPECT_TRUE(SplitDashboardNote("").empty());
  EXPECT_EQ(SplitDashboardNote("abc"), std::vector<std::string>{"abc"});
  // 2045 ASCII characters are one chunk; one more makes a second.
  const std::string full(2045, 'a');
  EXPECT_EQ(SplitDashboardNote(full), std::vector<std::string>{full});
  EXPECT_EQ(SplitDashboardNote(full + "b"), (std::vector<std::string>{full, "b"}));
  // "é" (2 bytes) and "—" (3 bytes) count as one character each, as in Python.
  std::string body = std::string(2044, 'x') + "é" + "—" + std::string(2045, 'y') + "é";
  auto chunks = SplitDashboardNote(body);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], std::string(2044, 'x') + "é");
  EXPECT_EQ(chunks[1], "—" + std::string(2044, 'y'));
  EXPECT_EQ(chunks[2], "yé");
  std::string joined;
  for (const auto& c : chunks) {
    EXPECT_LE(CodePoints(c), kDashboardNoteChunk);
    joined += c;
  }
  EXPECT_EQ(joined, body);
}

class DashboardNoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenStorage(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(*s);
    auto id = storage_->CreateStudy("t/base", {StudyDirection::kMinimize});
    ASSERT_TRUE(id.ok());
    id_ = *id;
  }
  std::unique_ptr<Storage> storage_;
  int64_t id_ = -1;
};

TEST_F(DashboardNoteTest, SavesVersionAndChunksAndBlanksLeftoversOfALongerNote) {
  auto empty = LoadDashboardNote(*storage_, id_);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");

  const std::string long_body = std::string(3000, 'a') + "ü";
  ASSERT_TRUE(SaveDashboardNote(*storage_, id_, long_body).ok());
  auto attrs = storage_->GetStudySystemAttrs(id_);
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("dashboard:note_ver"), 1);
  EXPECT_EQ(attrs->at("dashboard:note_str:0"), std::string(2045, 'a'));
  EXPECT_EQ(attrs->at("dashboard:note_str:1"), std::string(955, 'a') + "ü");
  EXPECT_EQ(*LoadDashboardNote(*storage_, id_), long_body);

  // A shorter note: version 2, chunk 1 blanked (save_note keeps the key, empty).
  ASSERT_TRUE(SaveDashboardNote(*storage_, id_, "short").ok());
  attrs = storage_->GetStudySystemAttrs(id_);
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("dashboard:note_ver"), 2);
  EXPECT_EQ(attrs->at("dashboard:note_str:0"), "short");
  EXPECT_EQ(attrs->at("dashboard:note_str:1"), "");
  EXPECT_EQ(*LoadDashboardNote(*storage_, id_), "short");
}

TEST_F(DashboardNoteTest, LoadNamesAMalformedAttr) {
  ASSERT_TRUE(storage_->SetStudySystemAttr(id_, "dashboard:note_ver", "one").ok());
  auto note = LoadDashboardNote(*storage_, id_);
  ASSERT_FALSE(note.ok());
  EXPECT_THAT(note.status().message(), HasSubstr("dashboard:note_ver"));
  ASSERT_TRUE(storage_->SetStudySystemAttr(id_, "dashboard:note_ver", 1).ok());
  ASSERT_TRUE(storage_->SetStudySystemAttr(id_, "dashboard:note_str:1", "x").ok());
  note = LoadDashboardNote(*storage_, id_);
  ASSERT_FALSE(note.ok());
  EXPECT_THAT(note.status().message(), HasSubstr("dashboard:note_str:0"));
}

TEST(StageDecisionNoteTest, SaysWhatWasDecidedByHowMuchAndWhatChanged) {
  StudyFile study;
  study.name = "demo";
  study.objective_metric = "val_loss";
  study.stages.resize(3);
  study.stages[1].name = "layers";
  StageDecision d;
  d.stage = "layers";
  d.accepted = true;
  d.best_value = 1.25;
  d.best_trial_number = 4;
  d.incumbent_value = 1.5;
  d.required_improvement = 0.1;
  d.changes = {{"dense_layers", 2}, {"note|pipe", "a"}};
  d.summary = "layers: best 1.25 (trial 4) beats the incumbent 1.5 by 0.25: kept";
  Incumbent before, after;
  before.stage = "base";
  before.trial_number = 2;
  before.value = 1.5;
  after.stage = "layers";
  after.trial_number = 4;
  after.value = 1.25;
  const std::string md = StageDecisionNote(study, 1, d, before, after);
  EXPECT_THAT(md, HasSubstr("## Stage 2 of 3: layers — kept\n\n" + d.summary + "\n"));
  EXPECT_THAT(md, HasSubstr("| objective | val_loss (minimize) |"));
  EXPECT_THAT(md, HasSubstr("| best trial | #4, 1.25 |"));
  EXPECT_THAT(md, HasSubstr("| incumbent before | 1.5 (base #2) |"));
  EXPECT_THAT(md, HasSubstr("| best − incumbent | -0.25 (kept when better by at least 0.1) |"));
  EXPECT_THAT(md, HasSubstr("| incumbent after | 1.25 (layers #4) |"));
  EXPECT_THAT(md, HasSubstr("### What changed"));
  EXPECT_THAT(md, HasSubstr("| dense_layers | 2 |"));
  EXPECT_THAT(md, HasSubstr("| note\\|pipe | \"a\" |"));  // a `|` would end the cell

  d.accepted = false;
  EXPECT_THAT(StageDecisionNote(study, 1, d, before, before), HasSubstr("layers — not kept\n\n"));
  EXPECT_THAT(StageDecisionNote(study, 1, d, before, before),
              HasSubstr("### What the best trial would have changed"));
}

}  // namespace
}  // namespace mgr
