// One suite run over every sampler configuration: a define-by-run study loop (as the
// study API drives samplers: relative space, SampleRelative, then SampleIndependent for
// the rest) with log, int, step, categorical, single-value and conditional parameters.
#include <cmath>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "samplers/sampler.h"
#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Cat;
using testing_util::Float;
using testing_util::Int;

struct Config {
  std::string name;
  Json json;
  bool adaptive;  // learns from results after startup (TPE)
  // May propose a point again: GP's acquisition maximum depends only on the COMPLETE trials,
  // so the trial after a pruned or failed one gets the same point (as in Optuna), and its
  // optimum may lie on a bound several times.
  bool repeats_points = false;
};

std::vector<Config> Configs() {
  return {
      {"random", {{"type", "random"}}, false},
      {"tpe", {{"type", "tpe"}}, true},
      {"tpe_multivariate", {{"type", "tpe"}, {"multivariate", true}}, true},
      {"tpe_group", {{"type", "tpe"}, {"multivariate", true}, {"group", true}}, true},
      {"tpe_constant_liar", {{"type", "tpe"}, {"constant_liar", true}}, true},
      {"qmc_sobol", {{"type", "qmc"}}, false},
      {"qmc_halton", {{"type", "qmc"}, {"qmc_type", "halton"}}, false},
      {"gp", {{"type", "gp"}}, true, true},
  };
}

std::unique_ptr<Sampler> Make(const Config& c, uint64_t seed) {
  Json j = c.json;
  j["seed"] = seed;
  auto s = MakeSampler(j);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

// Suggests `dist` for trials.back() the way the study API does.
double Suggest(Sampler& sampler, std::vector<FrozenTrial>& trials,
               const std::map<std::string, double>& relative, const SearchSpace& space,
               const std::string& name, const Distribution& dist) {
  FrozenTrial& t = trials.back();
  double v;
  auto r = relative.find(name);
  auto s = space.find(name);
  if (r != relative.end() && s != space.end() && s->second == dist) {
    v = r->second;
  } else {
    StudyView view{{StudyDirection::kMinimize}, trials};
    v = sampler.SampleIndependent(view, trials.back(), name, dist);
  }
  EXPECT_TRUE(Contains(dist, v)) << name << " " << DistributionToString(dist) << " got " << v;
  t.params[name] = v;
  t.distributions.emplace(name, dist);
  return v;
}

// Starts a RUNNING trial and samples every parameter; returns it (still RUNNING).
FrozenTrial& RunTrial(Sampler& sampler, std::vector<FrozenTrial>& trials) {
  FrozenTrial t;
  t.number = static_cast<int64_t>(trials.size());
  t.trial_id = t.number;
  t.state = TrialState::kRunning;
  trials.push_back(t);
  StudyView view{{StudyDirection::kMinimize}, trials};
  SearchSpace space = sampler.InferRelativeSearchSpace(view, trials.back());
  std::map<std::string, double> rel = sampler.SampleRelative(view, trials.back(), space);
  auto S = [&](const std::string& n, const Distribution& d) {
    return Suggest(sampler, trials, rel, space, n, d);
  };
  S("x", Float(-5, 5));
  S("lr", Float(1e-5, 1e-1, true));
  S("units", Int(4, 256, true));
  S("dropout", Float(0.0, 0.5, false, 0.1));
  S("single", Float(0.5, 0.5));
  double opt = S("opt", Cat({"adam", "sgd", "rmsprop"}));
  if (opt == 1) S("momentum", Float(0.0, 0.99));
  int64_t layers = static_cast<int64_t>(S("layers", Int(1, 3)));
  for (int64_t i = 0; i < layers; ++i) S("n_units_l" + std::to_string(i), Int(4, 128, false, 4));
  return trials.back();
}

double Objective(const FrozenTrial& t) {
  double x = t.params.at("x");
  return std::fabs(x - 2.0) + std::fabs(std::log10(t.params.at("lr")) + 3.0) * 0.1 +
         (t.params.at("opt") == 0 ? 0.0 : 0.5);
}

std::vector<FrozenTrial> RunStudy(const Config& c, uint64_t seed, int n) {
  auto sampler = Make(c, seed);
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < n; ++k) {
    FrozenTrial& t = RunTrial(*sampler, trials);
    if (k % 9 == 4) {
      t.state = TrialState::kFail;
    } else if (k % 7 == 3) {
      t.state = TrialState::kPruned;
      t.intermediate_values = {{0, Objective(t)}, {1, Objective(t) * 0.9}};
    } else {
      t.state = TrialState::kComplete;
      t.values = {Objective(t)};
    }
  }
  return trials;
}

class SamplerConformanceTest : public ::testing::TestWithParam<Config> {};

TEST_P(SamplerConformanceTest, ValuesAreAlwaysInsideTheirDistributions) {
  // Suggest() checks Contains() for every value of every trial, past startup too.
  auto trials = RunStudy(GetParam(), 1, 60);
  for (const auto& t : trials) EXPECT_EQ(t.params.at("single"), 0.5);
}

TEST_P(SamplerConformanceTest, SameSeedSameValuesOtherSeedOtherValues) {
  auto a = RunStudy(GetParam(), 7, 40), b = RunStudy(GetParam(), 7, 40),
       c = RunStudy(GetParam(), 8, 40);
  int differ = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].params, b[k].params) << "trial " << k;
    differ += a[k].params != c[k].params;
  }
  EXPECT_GT(differ, 30);
}

TEST_P(SamplerConformanceTest, ConditionalParametersAppearOnlyWhereSuggested) {
  auto trials = RunStudy(GetParam(), 3, 60);
  int with_momentum = 0, deep = 0;
  for (const auto& t : trials) {
    EXPECT_EQ(t.params.count("momentum") == 1, t.params.at("opt") == 1);
    with_momentum += t.params.count("momentum");
    deep += t.params.count("n_units_l2");
  }
  // Both branches of each condition get explored.
  EXPECT_GT(with_momentum, 2);
  EXPECT_LT(with_momentum, 58);
  EXPECT_GT(deep, 2);
}

TEST_P(SamplerConformanceTest, AfterStartupAdaptiveSamplersConcentrate) {
  auto trials = RunStudy(GetParam(), 11, 80);
  double mean_gap = 0;
  for (int k = 30; k < 80; ++k) mean_gap += std::fabs(trials[k].params.at("x") - 2.0) / 50;
  // Uniform x on [-5, 5]: E|x - 2| = (7^2 + 3^2) / 20 = 2.9.
  if (GetParam().adaptive) {
    EXPECT_LT(mean_gap, 1.8);
  } else {
    EXPECT_GT(mean_gap, 2.0);
    EXPECT_LT(mean_gap, 3.8);
  }
}

TEST_P(SamplerConformanceTest, TwoConcurrentRunningTrials) {
  // Two workers, each with a fresh sampler and the same seed, start trials 20 and 21
  // while both are RUNNING. Every sampler gives them different points: their draws come
  // from the trial numbers, so even TPE without the liar (which cannot see the other
  // trial) and the random sampler do not repeat each other.
  auto history = RunStudy(GetParam(), 5, 20);
  auto w1 = Make(GetParam(), 99), w2 = Make(GetParam(), 99);
  std::vector<FrozenTrial> trials = history;
  FrozenTrial first = RunTrial(*w1, trials);
  FrozenTrial second = RunTrial(*w2, trials);
  ASSERT_EQ(first.state, TrialState::kRunning);
  EXPECT_NE(first.params.at("x"), second.params.at("x"));
  EXPECT_NE(first.params.at("lr"), second.params.at("lr"));
}

// A crash and rerun: a fresh sampler with the same seed that takes over a study after 15
// trials continues exactly as the first one would have, and never repeats its values (GP
// rarely).
TEST_P(SamplerConformanceTest, AFreshSamplerContinuesAStudyWithoutRepeatingIt) {
  const std::vector<FrozenTrial> one_process = RunStudy(GetParam(), 13, 30);
  std::vector<FrozenTrial> trials(one_process.begin(), one_process.begin() + 15);
  auto restarted = Make(GetParam(), 13);
  for (int k = 15; k < 30; ++k) {
    FrozenTrial& t = RunTrial(*restarted, trials);
    EXPECT_EQ(t.params, one_process[k].params) << "trial " << k;
    t = one_process[k];  // the same result as in the one-process run
  }
  std::set<double> xs, lrs;
  for (const FrozenTrial& t : one_process) {
    xs.insert(t.params.at("x"));
    lrs.insert(t.params.at("lr"));
  }
  const size_t allowed_repeats = GetParam().repeats_points ? 3 : 0;
  EXPECT_GE(xs.size() + allowed_repeats, one_process.size());
  EXPECT_GE(lrs.size() + allowed_repeats, one_process.size());
}

// Two studies with the same seed (two playbook stages, two CLI studies) start at different
// points: the study's name is part of every trial's seed.
TEST_P(SamplerConformanceTest, SameSeedOtherStudyOtherValues) {
  auto a = Make(GetParam(), 21), b = Make(GetParam(), 21);
  std::vector<FrozenTrial> ta, tb;
  for (int k = 0; k < 5; ++k) {
    ta.push_back(FrozenTrial{});
    ta.back().number = k;
    tb.push_back(ta.back());
    StudyView va{{StudyDirection::kMinimize}, ta, "demo/base"};
    StudyView vb{{StudyDirection::kMinimize}, tb, "demo/lr"};
    const Distribution lr = Float(1e-5, 1e-1, true);
    EXPECT_NE(a->SampleIndependent(va, ta.back(), "lr", lr),
              b->SampleIndependent(vb, tb.back(), "lr", lr))
        << "trial " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(AllSamplers, SamplerConformanceTest, ::testing::ValuesIn(Configs()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace mgr
