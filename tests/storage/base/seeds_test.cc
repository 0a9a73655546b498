// storage/base/seeds.h against the published FNV-1a and SplitMix64 test vectors.
#include "storage/base/seeds.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(HashNameTest, IsFnv1a64) {
  // The FNV reference test vectors (Fowler, Noll, Vo: fnv_test.c).
  EXPECT_EQ(HashName(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(HashName("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(HashName("foobar"), 0x85944171f73967e8ULL);
}

TEST(MixSeedTest, OnePartIsSplitMix64sFirstOutput) {
  // Vigna's splitmix64.c: seed 0 -> 0xe220a8397b1dcdaf; seed 1234567 -> 6457827717110365317.
  EXPECT_EQ(MixSeed({0}), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(MixSeed({1234567}), 6457827717110365317ULL);
  // More parts: each is added to the running state before the next mix, so order matters.
  EXPECT_NE(MixSeed({1, 2}), MixSeed({2, 1}));
  EXPECT_NE(MixSeed({0, 0}), MixSeed({0}));
}

}  // namespace
}  // namespace mgr
