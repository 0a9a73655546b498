#include "trainer/data/clips.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(ClipStartTest, TestSplitStartsAtTheMiddle) {
  std::mt19937_64 rng(1);
  // len/2 with integer division (REFERENCE.md section 2).
  EXPECT_EQ(ClipStart(661500, 262144, Split::kTest, rng), 330750);
  EXPECT_EQ(ClipStart(661501, 262144, Split::kTest, rng), 330750);
  // Clamped so that the clip fits: 300000 / 2 = 150000 > 300000 - 262144 = 37856.
  EXPECT_EQ(ClipStart(300000, 262144, Split::kTest, rng), 37856);
  // A track exactly one clip long, or shorter, starts at 0.
  EXPECT_EQ(ClipStart(262144, 262144, Split::kTest, rng), 0);
  EXPECT_EQ(ClipStart(1000, 262144, Split::kTest, rng), 0);
}

TEST(ClipStartTest, TestSplitDoesNotConsumeRandomness) {
  std::mt19937_64 a(7), b(7);
  ClipStart(661500, 262144, Split::kTest, a);
  EXPECT_EQ(a(), b());
}

TEST(ClipStartTest, TrainingAndValidationAreUniformOnTheHalfOpenRange) {
  for (Split split : {Split::kTraining, Split::kValidation}) {
    std::mt19937_64 rng(42);
    // num_samples - clip_samples = 4: starts in [0, 4), each value about 1/4 of the time.
    int counts[5] = {0, 0, 0, 0, 0};
    const int n = 40000;
    for (int i = 0; i < n; ++i) {
      const int64_t s = ClipStart(104, 100, split, rng);
      ASSERT_GE(s, 0);
      ASSERT_LT(s, 4);
      ++counts[s];
    }
    for (int v = 0; v < 4; ++v) {
      // Binomial(40000, 1/4): sd ~87; 6 sd.
      EXPECT_NEAR(counts[v], n / 4, 520) << "value " << v;
    }
  }
}

TEST(ClipStartTest, SameSeedSameWindows) {
  std::mt19937_64 a(3), b(3), c(4);
  bool any_difference = false;
  for (int i = 0; i < 20; ++i) {
    const int64_t x = ClipStart(661500, 262144, Split::kTraining, a);
    EXPECT_EQ(x, ClipStart(661500, 262144, Split::kTraining, b));
    any_difference |= x != ClipStart(661500, 262144, Split::kTraining, c);
  }
  EXPECT_TRUE(any_difference);
}

TEST(ClipStartTest, NoSlackMeansStartZeroForEverySplit) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(ClipStart(100, 100, Split::kTraining, rng), 0);
  EXPECT_EQ(ClipStart(50, 100, Split::kValidation, rng), 0);
}

}  // namespace
}  // namespace mgr
