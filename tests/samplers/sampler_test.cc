// The per-trial generators every seeded sampler draws from (samplers/sampler.h).
#include "samplers/sampler.h"

#include <set>

#include <gtest/gtest.h>

namespace mgr {
namespace {

FrozenTrial TrialNumber(int64_t number) {
  FrozenTrial t;
  t.number = number;
  t.trial_id = number;
  return t;
}

TEST(TrialSeederTest, DrawsDependOnSeedStudyTrialStreamAndDrawIndex) {
  std::vector<FrozenTrial> trials;
  StudyView a{{StudyDirection::kMinimize}, trials, "demo/base"};
  StudyView b{{StudyDirection::kMinimize}, trials, "demo/lr"};
  const FrozenTrial t3 = TrialNumber(3), t4 = TrialNumber(4);
  TrialSeeder s(0);
  // What a fresh seeder (another process) draws first for trial 3's "lr".
  const uint64_t want =
      std::mt19937_64(MixSeed({0, HashName("demo/base"), 3, HashName("lr"), 0}))();
  EXPECT_EQ(s.Rng(a, t3, "lr")(), want);
  // Asked again for the same trial and stream: the next draw (a redraw gets a new value).
  EXPECT_EQ(s.Rng(a, t3, "lr")(),
            std::mt19937_64(MixSeed({0, HashName("demo/base"), 3, HashName("lr"), 1}))());
  // Another trial, study, stream or seed: all different, and a new trial starts at draw 0.
  std::set<uint64_t> firsts = {want};
  firsts.insert(s.Rng(a, t4, "lr")());
  firsts.insert(s.Rng(b, t3, "lr")());
  firsts.insert(s.Rng(a, t3, "dropout")());
  firsts.insert(TrialSeeder(1).Rng(a, t3, "lr")());
  EXPECT_EQ(firsts.size(), 5u);
  EXPECT_EQ(s.Rng(a, t3, "lr")(), want);  // trial 3 again after others: draw 0 again
  EXPECT_EQ(TrialSeeder(0).Rng(a, t3, "lr")(), want);
}

}  // namespace
}  // namespace mgr
