#include <gtest/gtest.h>

#include "samplers/gp_sampler.h"
#include "samplers/pruner.h"
#include "samplers/pruners.h"
#include "samplers/sampler.h"
#include "samplers/tpe_sampler.h"

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
            "sampler.type: must be one of \"tpe\", \"random\", \"qmc\", \"gp\" (got \"grid\")");
  EXPECT_EQ(SamplerError({{"type", "random"}, {"seed", -1}}),
            "sampler.seed: must be >= 0 (got -1)");
  EXPECT_EQ(SamplerError({{"type", "random"}, {"seed", "x"}}),
            "sampler.seed: must be an integer (got \"x\")");
  EXPECT_NE(SamplerError({{"type", "random"}, {"sed", 1}}).find("sampler.sed: unknown key"),
            std::string::npos);
  EXPECT_NE(SamplerError(Json::array()).find("sampler: must be an object"), std::string::npos);
}

TEST(MakeSamplerTest, TpeAndQmcOptions) {
  auto tpe = MakeSampler({{"type", "tpe"},
                          {"seed", 3},
                          {"n_startup_trials", 4},
                          {"n_ei_candidates", 48},
                          {"multivariate", true},
                          {"group", true},
                          {"constant_liar", true},
                          {"prior_weight", 2.0},
                          {"consider_magic_clip", false},
                          {"consider_endpoints", true},
                          {"scott_bandwidth", true}});
  ASSERT_TRUE(tpe.ok()) << tpe.status().ToString();
  auto* t = dynamic_cast<TpeSampler*>(tpe->get());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->options().seed, 3u);
  EXPECT_EQ(t->options().n_startup_trials, 4);
  EXPECT_EQ(t->options().n_ei_candidates, 48);
  EXPECT_TRUE(t->options().multivariate && t->options().group && t->options().constant_liar);
  EXPECT_EQ(t->options().prior_weight, 2.0);
  EXPECT_FALSE(t->options().consider_magic_clip);
  EXPECT_TRUE(t->options().consider_endpoints);
  EXPECT_TRUE(t->options().scott_bandwidth);
  // Defaults are Optuna's (5.x for the multivariate bandwidth).
  auto d = MakeSampler({{"type", "tpe"}});
  ASSERT_TRUE(d.ok());
  const TpeOptions& o = dynamic_cast<TpeSampler*>(d->get())->options();
  EXPECT_EQ(o.n_startup_trials, 10);
  EXPECT_EQ(o.n_ei_candidates, 24);
  EXPECT_FALSE(o.multivariate || o.group || o.constant_liar || o.consider_endpoints ||
               o.scott_bandwidth);
  EXPECT_TRUE(o.consider_magic_clip);
  EXPECT_EQ(o.prior_weight, 1.0);
  auto qmc = MakeSampler({{"type", "qmc"}, {"qmc_type", "halton"}, {"scramble", false}});
  ASSERT_TRUE(qmc.ok()) << qmc.status().ToString();
  EXPECT_EQ((*qmc)->Name(), "QMCSampler");
}

TEST(MakeSamplerTest, TpeAndQmcErrorsNameTheKey) {
  EXPECT_EQ(SamplerError({{"type", "tpe"}, {"n_ei_candidates", 0}}),
            "sampler.n_ei_candidates: must be >= 1 (got 0)");
  EXPECT_EQ(SamplerError({{"type", "tpe"}, {"n_startup_trials", 2.5}}),
            "sampler.n_startup_trials: must be an integer (got 2.5)");
  EXPECT_EQ(SamplerError({{"type", "tpe"}, {"multivariate", "yes"}}),
            "sampler.multivariate: must be true or false (got \"yes\")");
  EXPECT_EQ(SamplerError({{"type", "tpe"}, {"prior_weight", 0}}),
            "sampler.prior_weight: must be > 0 (got 0)");
  EXPECT_EQ(SamplerError({{"type", "tpe"}, {"group", true}}),
            "sampler.group: needs \"multivariate\": true");
  EXPECT_EQ(SamplerError({{"type", "qmc"}, {"qmc_type", "lattice"}}),
            "sampler.qmc_type: must be one of \"sobol\", \"halton\" (got \"lattice\")");
  // Keys of one sampler are unknown to another.
  EXPECT_NE(SamplerError({{"type", "qmc"}, {"n_ei_candidates", 3}})
                .find("sampler.n_ei_candidates: unknown key"),
            std::string::npos);
  EXPECT_NE(SamplerError({{"type", "random"}, {"scramble", true}}).find("sampler.scramble"),
            std::string::npos);
}

TEST(MakeSamplerTest, GpOptionsAndErrors) {
  auto gp = MakeSampler(
      {{"type", "gp"}, {"seed", 4}, {"n_startup_trials", 3}, {"deterministic_objective", true}});
  ASSERT_TRUE(gp.ok()) << gp.status().ToString();
  EXPECT_EQ((*gp)->Name(), "GPSampler");
  const GpOptions& o = dynamic_cast<GpSampler&>(**gp).options();
  EXPECT_EQ(o.seed, 4u);
  EXPECT_EQ(o.n_startup_trials, 3);
  EXPECT_TRUE(o.deterministic_objective);
  EXPECT_EQ(SamplerError({{"type", "gp"}, {"n_startup_trials", -1}}),
            "sampler.n_startup_trials: must be >= 0 (got -1)");
  EXPECT_EQ(SamplerError({{"type", "gp"}, {"deterministic_objective", 1}}),
            "sampler.deterministic_objective: must be true or false (got 1)");
  EXPECT_NE(SamplerError({{"type", "gp"}, {"multivariate", true}})
                .find("sampler.multivariate: unknown key"),
            std::string::npos);
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
