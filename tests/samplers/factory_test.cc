#include <gtest/gtest.h>

#include "samplers/pruner.h"
#include "samplers/pruners.h"
#include "samplers/sampler.h"

namespace mgr {
namespace {

std::string SamplerError(const Json& config) {
  auto s = MakeSampler(config);
  EXPECT_FALSE(s.ok()) << config.dump();
  return s.ok() ? "" : s.status().message();
}
std::string PrunerError(const Json& config) {
  auto s = MakePruner(config);
  EXPECT_FALSE(s.ok()) << config.dump();
  return s.ok() ? "" : s.status().message();
}

TEST(MakeSamplerTest, RandomWithSeed) {
  auto s = MakeSampler({{"type", "random"}, {"seed", 42}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Name(), "RandomSampler");
}

TEST(MakeSamplerTest, ErrorsNameTheKey) {
  EXPECT_EQ(SamplerError({{"type", "grid"}}),
            "sampler.type: must be one of \"tpe\", \"random\", \"qmc\" (got \"grid\")");
  EXPECT_EQ(SamplerError({{"type", "random"}, {"seed", -1}}),
            "sampler.seed: must be >= 0 (got -1)");
  EXPECT_EQ(SamplerError({{"type", "random"}, {"seed", "x"}}),
            "sampler.seed: must be an integer (got \"x\")");
  EXPECT_NE(SamplerError({{"type", "random"}, {"sed", 1}}).find("sampler.sed: unknown key"),
            std::string::npos);
  EXPECT_NE(SamplerError(Json::array()).find("sampler: must be an object"), std::string::npos);
}

TEST(MakePrunerTest, Types) {
  auto nop = MakePruner({{"type", "nop"}});
  ASSERT_TRUE(nop.ok());
  EXPECT_EQ((*nop)->Name(), "NopPruner");
  auto median = MakePruner({{"type", "median"}, {"n_warmup_steps", 3}});
  ASSERT_TRUE(median.ok()) << median.status().ToString();
  auto* m = dynamic_cast<PercentilePruner*>(median->get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ((*median)->Name(), "MedianPruner");
  EXPECT_EQ(m->options().percentile, 50.0);
  EXPECT_EQ(m->options().n_warmup_steps, 3);
  EXPECT_EQ(m->options().n_startup_trials, 5);
  EXPECT_EQ(m->options().interval_steps, 1);
  EXPECT_EQ(m->options().n_min_trials, 1);
  auto pct = MakePruner({{"type", "percentile"}, {"percentile", 25}, {"n_min_trials", 3}});
  ASSERT_TRUE(pct.ok()) << pct.status().ToString();
  auto* p = dynamic_cast<PercentilePruner*>(pct->get());
  EXPECT_EQ(p->options().percentile, 25.0);
  EXPECT_EQ(p->options().n_min_trials, 3);
}

TEST(MakePrunerTest, ErrorsNameTheKey) {
  EXPECT_EQ(PrunerError({{"type", "percentile"}, {"percentile", 101}}),
            "pruner.percentile: must be in [0, 100] (got 101)");
  EXPECT_NE(PrunerError({{"type", "percentile"}}).find("pruner.percentile: is required"),
            std::string::npos);
  EXPECT_EQ(PrunerError({{"type", "median"}, {"interval_steps", 0}}),
            "pruner.interval_steps: must be >= 1 (got 0)");
  EXPECT_EQ(PrunerError({{"type", "median"}, {"n_min_trials", 0}}),
            "pruner.n_min_trials: must be >= 1 (got 0)");
  EXPECT_EQ(PrunerError({{"type", "median"}, {"n_startup_trials", -1}}),
            "pruner.n_startup_trials: must be >= 0 (got -1)");
  EXPECT_NE(PrunerError({{"type", "nop"}, {"n_warmup_steps", 1}})
                .find("pruner.n_warmup_steps: unknown key"),
            std::string::npos);
  // "percentile" belongs to the percentile pruner only.
  EXPECT_NE(PrunerError({{"type", "median"}, {"percentile", 30}}).find("pruner.percentile"),
            std::string::npos);
}

}  // namespace
}  // namespace mgr
