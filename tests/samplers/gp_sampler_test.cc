// GpSampler: startup, determinism, the relative space it models, and that it finds the
// optimum of smooth problems with float, log, int, step and categorical parameters.
#include "samplers/gp_sampler.h"

#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "samplers/random_sampler.h"
#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Cat;
using testing_util::Float;
using testing_util::Int;
using testing_util::MakeTrial;

using Space = std::map<std::string, Distribution>;
using Objective = std::function<double(const std::map<std::string, double>&)>;

// Runs n trials the way the study API drives a sampler; returns them (COMPLETE). With
// `record`, what the sampler records on a trial is kept in its system_attrs, as the study API
// stores it.
std::vector<FrozenTrial> RunStudy(Sampler& sampler, const Space& space, const Objective& f, int n,
                                  StudyDirection direction = StudyDirection::kMinimize,
                                  bool record = false) {
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < n; ++k) {
    trials.push_back(MakeTrial(k, TrialState::kRunning, 0.0, {}));
    StudyView view{{direction}, trials, "gp-test"};
    if (record) {
      view.set_trial_system_attr = [&](int64_t id, const std::string& key, const Json& value) {
        trials.at(id).system_attrs[key] = value;
      };
    }
    const SearchSpace rel_space = sampler.InferRelativeSearchSpace(view, trials.back());
    const auto rel = sampler.SampleRelative(view, trials.back(), rel_space);
    FrozenTrial& t = trials.back();
    for (const auto& [name, dist] : space) {
      auto it = rel.find(name);
      const double v =
          it != rel.end() ? it->second : sampler.SampleIndependent(view, t, name, dist);
      EXPECT_TRUE(Contains(dist, v)) << name << " " << v;
      t.params[name] = v;
      t.distributions.emplace(name, dist);
    }
    t.state = TrialState::kComplete;
    t.values = {f(t.params)};
  }
  return trials;
}

double Best(const std::vector<FrozenTrial>& trials) {
  double best = INFINITY;
  for (const auto& t : trials) best = std::min(best, t.values[0]);
  return best;
}

TEST(GpSamplerTest, StartupTrialsAreRandomSamplerDraws) {
  GpOptions o;
  o.seed = 3;
  o.n_startup_trials = 5;
  GpSampler gp(o);
  RandomSampler random(3);
  const Space space = {{"x", Float(-1, 1)}, {"lr", Float(1e-5, 1e-1, true)}};
  auto f = [](const auto& p) { return p.at("x") * p.at("x"); };
  const auto a = RunStudy(gp, space, f, 5);
  const auto b = RunStudy(random, space, f, 5);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(a[k].params, b[k].params) << k;
  // The sixth trial is the GP's: relative over both parameters, not a random draw.
  const auto c = RunStudy(gp, space, f, 6), d = RunStudy(random, space, f, 6);
  EXPECT_NE(c[5].params, d[5].params);
}

TEST(GpSamplerTest, RelativeSpaceSkipsSingleAndConditionalParameters) {
  GpSampler gp(GpOptions{});
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kComplete, 1.0,
                {{"x", {0.5, Float(0, 1)}},
                 {"c", {1, Cat({"a", "b"})}},
                 {"s", {2, Float(2, 2)}},
                 {"m", {0.1, Float(0, 1)}}}),
      MakeTrial(1, TrialState::kComplete, 2.0,
                {{"x", {0.2, Float(0, 1)}}, {"c", {0, Cat({"a", "b"})}}, {"s", {2, Float(2, 2)}}}),
      MakeTrial(2, TrialState::kRunning, 0.0, {})};
  StudyView view{{StudyDirection::kMinimize}, trials};
  const SearchSpace space = gp.InferRelativeSearchSpace(view, trials.back());
  EXPECT_EQ(space.size(), 2u);
  EXPECT_TRUE(space.count("x"));
  EXPECT_TRUE(space.count("c"));
}

TEST(GpSamplerTest, SeveralObjectivesAreSampledIndependently) {
  GpSampler gp(GpOptions{});
  std::vector<FrozenTrial> trials;
  for (int k = 0; k < 12; ++k) {
    trials.push_back(MakeTrial(k, TrialState::kComplete, 0.0, {{"x", {k / 12.0, Float(0, 1)}}}));
    trials.back().values = {k * 1.0, -k * 1.0};
  }
  trials.push_back(MakeTrial(12, TrialState::kRunning, 0.0, {}));
  StudyView view{{StudyDirection::kMinimize, StudyDirection::kMinimize}, trials};
  EXPECT_TRUE(
      gp.SampleRelative(view, trials.back(), gp.InferRelativeSearchSpace(view, trials.back()))
          .empty());
}

TEST(GpSamplerTest, SameSeedSameTrialsSameValues) {
  const Space space = {{"x", Float(-2, 2)}, {"y", Float(-2, 2)}};
  auto f = [](const auto& p) { return std::pow(p.at("x") - 0.5, 2) + std::pow(p.at("y"), 2); };
  GpOptions o;
  o.seed = 5;
  GpSampler a(o), b(o);
  const auto ta = RunStudy(a, space, f, 15), tb = RunStudy(b, space, f, 15);
  for (int k = 0; k < 15; ++k) EXPECT_EQ(ta[k].params, tb[k].params) << k;
  o.seed = 6;
  GpSampler c(o);
  EXPECT_NE(RunStudy(c, space, f, 15)[14].params, ta[14].params);
}

// The relative sample for a new RUNNING trial `number` appended to `trials`.
std::map<std::string, double> Propose(GpSampler& sampler, std::vector<FrozenTrial> trials,
                                      int64_t number) {
  trials.push_back(MakeTrial(number, TrialState::kRunning, 0.0, {}));
  StudyView view{{StudyDirection::kMinimize}, trials, "gp-test"};
  return sampler.SampleRelative(view, trials.back(),
                                sampler.InferRelativeSearchSpace(view, trials.back()));
}

double Distance(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  double d2 = 0.0;
  for (const auto& [name, v] : a) d2 += std::pow(v - b.at(name), 2);
  return std::sqrt(d2);
}

// A worker that starts while another trial RUNs at the point log EI would choose proposes a
// point at a distance from it (qLogEI, with fantasies there); without that trial it proposes
// the same point to the local search's tolerance. Fails if RUNNING trials are ignored. Each
// proposal by a fresh sampler, whose draws for the trial are then the first (sampler.h).
TEST(GpSamplerTest, RunningTrialPushesTheSuggestionAway) {
  const Space space = {{"x", Float(0, 1)}, {"y", Float(0, 1)}};
  auto f = [](const auto& p) {
    return std::pow(p.at("x") - 0.3, 2) + std::pow(p.at("y") - 0.6, 2);
  };
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    GpOptions o;
    o.seed = seed;
    GpSampler history_sampler(o), a(o), b(o), c(o), d(o);
    const std::vector<FrozenTrial> history = RunStudy(history_sampler, space, f, 12);
    const auto chosen = Propose(a, history, 12);
    ASSERT_EQ(chosen.size(), 2u);
    const auto alone = Propose(b, history, 13);
    EXPECT_LT(Distance(alone, chosen), 1e-3);
    std::vector<FrozenTrial> with_running = history;
    with_running.push_back(MakeTrial(
        12, TrialState::kRunning, 0.0,
        {{"x", {chosen.at("x"), space.at("x")}}, {"y", {chosen.at("y"), space.at("y")}}}));
    EXPECT_GT(Distance(Propose(c, with_running, 13), chosen), 0.02);  // 0.046-0.12 measured
    // A RUNNING trial without every parameter of the space gets no fantasy (as in Optuna).
    with_running.back().params.erase("y");
    EXPECT_EQ(Propose(d, with_running, 13), alone);
  }
}

// qLogEI needs one Sobol dimension per RUNNING trial and one more: with more running trials
// than Boost's table has dimensions (3667) they are ignored and log EI chooses, as without
// them (conditioned on, even one moves the proposal away: RunningTrialPushesTheSuggestionAway).
TEST(GpSamplerTest, TooManyRunningTrialsForQLogEIFallBackToLogEI) {
  const Space space = {{"x", Float(0, 1)}, {"y", Float(0, 1)}};
  auto f = [](const auto& p) {
    return std::pow(p.at("x") - 0.3, 2) + std::pow(p.at("y") - 0.6, 2);
  };
  GpOptions o;
  o.seed = 1;
  GpSampler history_sampler(o), a(o), b(o);
  std::vector<FrozenTrial> trials = RunStudy(history_sampler, space, f, 12);
  const auto chosen = Propose(a, trials, 12);
  ASSERT_EQ(chosen.size(), 2u);
  const int64_t first_running = 12, n_running = 3667;
  for (int64_t k = first_running; k < first_running + n_running; ++k) {
    trials.push_back(MakeTrial(
        k, TrialState::kRunning, 0.0,
        {{"x", {chosen.at("x"), space.at("x")}}, {"y", {chosen.at("y"), space.at("y")}}}));
  }
  EXPECT_LT(Distance(Propose(b, trials, first_running + n_running), chosen), 1e-3);
}

// The same study view with RUNNING trials gives the same values; another running point
// another value.
TEST(GpSamplerTest, RunningTrialsKeepSuggestionsDeterministic) {
  const Space space = {{"x", Float(-2, 2)}, {"lr", Float(1e-4, 1e-1, true)}};
  auto f = [](const auto& p) {
    return std::pow(p.at("x") - 0.5, 2) + std::pow(std::log10(p.at("lr")) + 2, 2);
  };
  GpOptions o;
  o.seed = 8;
  GpSampler history_sampler(o);
  std::vector<FrozenTrial> trials = RunStudy(history_sampler, space, f, 12);
  for (int k = 12; k < 14; ++k) {
    trials.push_back(
        MakeTrial(k, TrialState::kRunning, 0.0,
                  {{"x", {0.3 + 0.1 * k - 1.2, space.at("x")}}, {"lr", {0.01, space.at("lr")}}}));
  }
  GpSampler a(o), b(o), c(o);
  const auto first = Propose(a, trials, 14);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(Propose(b, trials, 14), first);
  trials[13].params["x"] = -1.5;
  EXPECT_NE(Propose(c, trials, 14), first);
}

// Each fit is recorded on its trial ("gp:kernel_params": the space's parameters and the
// fitted kernel), where the next trial's fit starts, as Optuna's GPSampler starts from its
// previous fit.
TEST(GpSamplerTest, RecordsItsFitOnTheTrial) {
  const Space space = {{"x", Float(-2, 2)}, {"lr", Float(1e-4, 1e-1, true)}};
  auto f = [](const auto& p) {
    return std::pow(p.at("x") - 0.5, 2) + std::pow(std::log10(p.at("lr")) + 2, 2);
  };
  GpOptions o;
  o.n_startup_trials = 5;
  GpSampler gp(o);
  const auto trials = RunStudy(gp, space, f, 8, StudyDirection::kMinimize, /*record=*/true);
  for (const FrozenTrial& t : trials) {
    SCOPED_TRACE("trial " + std::to_string(t.number));
    if (t.number < 5) {
      EXPECT_EQ(t.system_attrs.count("gp:kernel_params"), 0u);  // startup: no fit
      continue;
    }
    const Json& r = t.system_attrs.at("gp:kernel_params");
    EXPECT_EQ(r.at("params"), Json({"lr", "x"}));
    ASSERT_EQ(r.at("inverse_squared_lengthscales").size(), 2u);
    for (const Json& v : r.at("inverse_squared_lengthscales")) EXPECT_GT(v.get<double>(), 0.0);
    EXPECT_GT(r.at("kernel_scale").get<double>(), 0.0);
    EXPECT_GE(r.at("noise_var").get<double>(), 1e-6);
  }
}

// A fresh sampler (a resumed study, another process) given the trials with their records
// proposes what the sampler that ran them would: the warm start depends on the trials only.
TEST(GpSamplerTest, ResumedStudyProposesWhatTheUninterruptedOneDid) {
  const Space space = {{"x", Float(-2, 2)}, {"y", Float(-2, 2)}};
  auto f = [](const auto& p) { return std::pow(p.at("x") - 0.5, 2) + std::pow(p.at("y"), 2); };
  GpOptions o;
  o.seed = 4;
  GpSampler a(o);
  const auto whole = RunStudy(a, space, f, 15, StudyDirection::kMinimize, /*record=*/true);
  for (int k : {12, 13, 14}) {
    GpSampler resumed(o);
    const std::vector<FrozenTrial> before(whole.begin(), whole.begin() + k);
    EXPECT_EQ(Propose(resumed, before, k), whole[k].params) << k;
  }
}

// The fit starts from the newest earlier record over the same parameters: another start
// gives another fit and so another proposal; a record over other parameters, or one that
// does not parse, is ignored.
TEST(GpSamplerTest, FitStartsFromTheNewestMatchingRecord) {
  const Space space = {{"x", Float(-2, 2)}, {"y", Float(-2, 2)}};
  auto f = [](const auto& p) { return std::pow(p.at("x") - 0.5, 2) + std::pow(p.at("y"), 2); };
  GpOptions o;
  o.seed = 2;
  GpSampler history_sampler(o);
  std::vector<FrozenTrial> history = RunStudy(history_sampler, space, f, 12);
  auto propose = [&] {
    GpSampler fresh(o);
    return Propose(fresh, history, 12);
  };
  const auto cold = propose();
  ASSERT_EQ(cold.size(), 2u);
  const Json start = {{"params", {"x", "y"}},
                      {"inverse_squared_lengthscales", {40.0, 0.05}},
                      {"kernel_scale", 3.0},
                      {"noise_var", 0.2}};
  history[10].system_attrs["gp:kernel_params"] = start;
  const auto warm = propose();
  EXPECT_NE(warm, cold);
  Json other_space = start;
  other_space["params"] = {"x", "z"};
  history[11].system_attrs["gp:kernel_params"] = other_space;
  EXPECT_EQ(propose(), cold);  // the newest record is for other parameters
  history[11].system_attrs["gp:kernel_params"] = {{"params", 3}};
  EXPECT_EQ(propose(), cold);
  history[11].system_attrs.clear();
  EXPECT_EQ(propose(), warm);
}

// 2-D quadratic: random search's best of 25 is ~0.1 off; the GP gets much closer.
TEST(GpSamplerTest, FindsTheMinimumOfAQuadratic) {
  const Space space = {{"x", Float(-5, 5)}, {"y", Float(-5, 5)}};
  auto f = [](const auto& p) { return std::pow(p.at("x") - 1.3, 2) + std::pow(p.at("y") + 2, 2); };
  for (bool deterministic : {false, true}) {
    GpOptions o;
    o.seed = 1;
    o.deterministic_objective = deterministic;
    GpSampler gp(o);
    EXPECT_LT(Best(RunStudy(gp, space, f, 25)), 1e-2) << deterministic;
  }
}

TEST(GpSamplerTest, MaximizesToo) {
  const Space space = {{"x", Float(0, 1)}};
  auto f = [](const auto& p) { return -std::pow(p.at("x") - 0.77, 2); };
  GpSampler gp(GpOptions{});
  const auto trials = RunStudy(gp, space, f, 16, StudyDirection::kMaximize);
  double best = -INFINITY;
  for (const auto& t : trials) best = std::max(best, t.values[0]);
  EXPECT_GT(best, -1e-4);
}

// Log, int (small and large grids), step and categorical parameters: values stay on their
// grids (RunStudy checks Contains) and the optimum is found.
TEST(GpSamplerTest, MixedSpace) {
  const Space space = {{"lr", Float(1e-5, 1e-1, true)},
                       {"units", Int(1, 200)},
                       {"layers", Int(1, 8)},
                       {"dropout", Float(0.0, 0.5, false, 0.05)},
                       {"opt", Cat({"adam", "sgd", "rmsprop"})}};
  auto f = [](const auto& p) {
    return std::pow(std::log10(p.at("lr")) + 3, 2) + std::pow((p.at("units") - 64) / 50.0, 2) +
           std::abs(p.at("layers") - 3) * 0.3 + std::abs(p.at("dropout") - 0.2) +
           (p.at("opt") == 1 ? 0.0 : 1.0);
  };
  GpOptions o;
  o.seed = 2;
  GpSampler gp(o);
  const auto trials = RunStudy(gp, space, f, 40);
  for (const auto& t : trials) {
    EXPECT_EQ(t.params.at("units"), std::round(t.params.at("units")));
    const double steps = t.params.at("dropout") / 0.05;
    EXPECT_NEAR(steps, std::round(steps), 1e-9);
  }
  EXPECT_LT(Best(trials), 0.5);
  RandomSampler random(2);
  EXPECT_LT(Best(trials), Best(RunStudy(random, space, f, 40)));
}

// An int range too large to enumerate is searched as a continuous parameter and rounded.
TEST(GpSamplerTest, HugeIntRange) {
  const Space space = {{"n", Int(1, 1000000000)}, {"x", Float(0, 1)}};
  auto f = [](const auto& p) {
    return std::pow(std::log10(p.at("n")) - 4, 2) + std::pow(p.at("x") - 0.5, 2);
  };
  GpSampler gp(GpOptions{});
  for (const auto& t : RunStudy(gp, space, f, 14)) {
    EXPECT_EQ(t.params.at("n"), std::round(t.params.at("n")));
  }
}

}  // namespace
}  // namespace mgr
