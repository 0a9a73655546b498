#include "trainer/training/metrics.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

// Hand-computed example. labels 0 0 1 1 2 2 2, predictions 0 1 1 1 2 0 1:
// confusion [[1,1,0],[0,2,0],[1,1,1]]; accuracy 4/7; precision 1/2, 2/4, 1/1;
// recall 1/2, 2/2, 1/3; F1 1/2, 2/3, 1/2; macro F1 5/9.
TEST(ConfusionMatrixTest, HandComputedExample) {
  ConfusionMatrix m(3);
  m.Add(torch::tensor({0, 0, 1, 1, 2, 2, 2}), torch::tensor({0, 1, 1, 1, 2, 0, 1}));
  std::vector<std::vector<int64_t>> expected = {{1, 1, 0}, {0, 2, 0}, {1, 1, 1}};
  EXPECT_EQ(m.counts(), expected);
  EXPECT_EQ(m.total(), 7);
  EXPECT_DOUBLE_EQ(m.Accuracy(), 4.0 / 7);
  std::vector<double> p = m.Precision(), r = m.Recall(), f = m.F1();
  EXPECT_DOUBLE_EQ(p[0], 0.5);
  EXPECT_DOUBLE_EQ(p[1], 0.5);
  EXPECT_DOUBLE_EQ(p[2], 1.0);
  EXPECT_DOUBLE_EQ(r[0], 0.5);
  EXPECT_DOUBLE_EQ(r[1], 1.0);
  EXPECT_DOUBLE_EQ(r[2], 1.0 / 3);
  EXPECT_DOUBLE_EQ(f[0], 0.5);
  EXPECT_DOUBLE_EQ(f[1], 2.0 / 3);
  EXPECT_DOUBLE_EQ(f[2], 0.5);
  EXPECT_DOUBLE_EQ(m.MacroF1(), 5.0 / 9);
}

// A class that never occurs and is never predicted counts as F1 0 (sklearn's
// zero_division=0), so it lowers the macro average: (1/2 + 2/3 + 1/2 + 0) / 4 = 5/12.
TEST(ConfusionMatrixTest, AbsentClassCountsAsZero) {
  ConfusionMatrix m(4);
  const int64_t labels[] = {0, 0, 1, 1, 2, 2, 2}, preds[] = {0, 1, 1, 1, 2, 0, 1};
  for (int i = 0; i < 7; ++i) m.Add(labels[i], preds[i]);
  EXPECT_DOUBLE_EQ(m.Precision()[3], 0.0);
  EXPECT_DOUBLE_EQ(m.Recall()[3], 0.0);
  EXPECT_DOUBLE_EQ(m.MacroF1(), 5.0 / 12);
}

TEST(ConfusionMatrixTest, PerfectAndEmpty) {
  ConfusionMatrix m(2);
  EXPECT_EQ(m.Accuracy(), 0.0);
  EXPECT_EQ(m.MacroF1(), 0.0);
  m.Add(torch::tensor({0, 1, 1}), torch::tensor({0, 1, 1}));
  EXPECT_DOUBLE_EQ(m.Accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(m.MacroF1(), 1.0);
}

TEST(ConfusionMatrixTest, RejectsOutOfRangeClasses) {
  ConfusionMatrix m(2);
  EXPECT_THROW(m.Add(2, 0), std::out_of_range);
  EXPECT_THROW(m.Add(torch::tensor({0, 1}), torch::tensor({0})), std::invalid_argument);
}

}  // namespace
}  // namespace mgr
