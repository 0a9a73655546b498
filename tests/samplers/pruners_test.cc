// Pruner tests: hand-computed cases, then live parity checks against python3-optuna's
// MedianPruner / PercentilePruner (Debian's 3.1) and Optuna 5.1's ThresholdPruner /
// PatientPruner on randomised learning curves, Optuna 5.1's SuccessiveHalvingPruner /
// HyperbandPruner on randomised studies (interleaved trials, reports and finishes), and
// Optuna 5.1's WilcoxonPruner on randomised studies of problem instances (its signed-rank
// test also against SciPy's scipy.stats.wilcoxon directly).
#include "samplers/pruners.h"

#include "samplers/pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>

#include "tests/samplers/test_util.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::MakeTrial;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

FrozenTrial Complete(int64_t n, std::map<int64_t, double> curve) {
  return MakeTrial(n, TrialState::kComplete, curve.rbegin()->second, {}, curve);
}
FrozenTrial Running(std::map<int64_t, double> curve) {
  return MakeTrial(99, TrialState::kRunning, 0.0, {}, curve);
}

TEST(NanPercentileTest, MatchesHandComputedNumpy) {
  // numpy.nanpercentile([1, 2, 3, 4], 25) = 1.75; [.., nan] ignores the NaN.
  EXPECT_DOUBLE_EQ(NanPercentile({4, 1, 3, 2}, 25), 1.75);
  EXPECT_DOUBLE_EQ(NanPercentile({4, 1, kNaN, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(NanPercentile({5}, 10), 5.0);
  EXPECT_DOUBLE_EQ(NanPercentile({1, 2}, 100), 2.0);
  EXPECT_DOUBLE_EQ(NanPercentile({1, 2}, 0), 1.0);
  EXPECT_TRUE(std::isnan(NanPercentile({kNaN, kNaN}, 50)));
  EXPECT_TRUE(std::isnan(NanPercentile({}, 50)));
}

TEST(MedianPrunerTest, HandComputedDecisions) {
  PercentilePrunerOptions o;
  o.n_startup_trials = 2;
  MedianPruner pruner(o);
  std::vector<FrozenTrial> trials = {Complete(0, {{0, 1.0}, {1, 0.5}}),
                                     Complete(1, {{0, 3.0}, {1, 1.5}})};
  StudyView view{{StudyDirection::kMinimize}, trials};
  // Median at step 0 is 2.0; at step 1 it is 1.0.
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 1.9}})));
  EXPECT_TRUE(pruner.Prune(view, Running({{0, 2.1}})));
  // The trial's score is its best value so far: 0.9 at step 0 beats the step-1 median 1.0.
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 0.9}, {1, 5.0}})));
  EXPECT_TRUE(pruner.Prune(view, Running({{0, 2.5}, {1, 1.2}})));
  // No completed trial reported step 7: nothing to compare with.
  EXPECT_FALSE(pruner.Prune(view, Running({{7, 100.0}})));
  // All-NaN reports are pruned.
  EXPECT_TRUE(pruner.Prune(view, Running({{0, kNaN}})));
  // Maximising flips both the percentile and the comparison.
  StudyView max_view{{StudyDirection::kMaximize}, trials};
  EXPECT_TRUE(pruner.Prune(max_view, Running({{0, 1.9}})));
  EXPECT_FALSE(pruner.Prune(max_view, Running({{0, 2.1}})));
}

TEST(MedianPrunerTest, StartupWarmupAndInterval) {
  PercentilePrunerOptions o;
  o.n_startup_trials = 3;
  o.n_warmup_steps = 2;
  o.interval_steps = 3;
  MedianPruner pruner(o);
  std::map<int64_t, double> good;
  for (int s = 0; s < 20; ++s) good[s] = 0.0;
  std::vector<FrozenTrial> trials = {Complete(0, good), Complete(1, good)};
  StudyView two{{StudyDirection::kMinimize}, trials};
  EXPECT_FALSE(pruner.Prune(two, Running({{5, 1.0}})));  // only 2 complete trials
  trials.push_back(Complete(2, good));
  StudyView view{{StudyDirection::kMinimize}, trials};
  EXPECT_FALSE(pruner.Prune(view, Running({{1, 1.0}})));  // warm-up
  EXPECT_TRUE(pruner.Prune(view, Running({{2, 1.0}})));   // pruning points 2, 5, 8...
  EXPECT_FALSE(pruner.Prune(view, Running({{2, 1.0}, {3, 1.0}})));
  EXPECT_TRUE(pruner.Prune(view, Running({{2, 1.0}, {3, 1.0}, {5, 1.0}})));
  // A check that was missed (no report at 5) is made at the next report, 6.
  EXPECT_TRUE(pruner.Prune(view, Running({{2, 1.0}, {4, 1.0}, {6, 1.0}})));
  EXPECT_FALSE(pruner.Prune(view, Running({{2, 1.0}, {5, 1.0}, {6, 1.0}})));
}

TEST(PercentilePrunerTest, NMinTrialsAndOnlyCompleteTrialsCount) {
  PercentilePrunerOptions o;
  o.percentile = 25;
  o.n_startup_trials = 0;
  o.n_min_trials = 3;
  PercentilePruner pruner(o);
  std::vector<FrozenTrial> trials = {Complete(0, {{0, 1.0}}), Complete(1, {{0, 2.0}}),
                                     MakeTrial(2, TrialState::kPruned, 0, {}, {{0, 0.0}}),
                                     MakeTrial(3, TrialState::kFail, 0, {}, {{0, 0.0}})};
  StudyView view{{StudyDirection::kMinimize}, trials};
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 50.0}})));  // 2 < n_min_trials
  trials.push_back(Complete(4, {{0, 3.0}}));
  StudyView view3{{StudyDirection::kMinimize}, trials};
  // 25th percentile of {1, 2, 3} is 1.5 (pruned/failed trials' 0.0 are ignored).
  EXPECT_TRUE(pruner.Prune(view3, Running({{0, 1.6}})));
  EXPECT_FALSE(pruner.Prune(view3, Running({{0, 1.4}})));
}

// ---- SuccessiveHalvingPruner and HyperbandPruner: hand-computed -----------------------------

// A study as the study API keeps it: checks write rungs through set_trial_system_attr, and
// the trials show them from the next check on (trial ids are numbers here).
struct RungStudy {
  StudyDirection direction = StudyDirection::kMinimize;
  std::string name = "study";
  std::vector<FrozenTrial> trials;
  bool with_store = true;  // false: no set_trial_system_attr, the pruner keeps the rungs

  int Start() {
    trials.push_back(MakeTrial(static_cast<int64_t>(trials.size()), TrialState::kRunning, 0, {}));
    return static_cast<int>(trials.size()) - 1;
  }
  bool Report(const Pruner& pruner, int i, int64_t step, double value) {
    trials[i].intermediate_values.emplace(step, value);
    std::vector<std::tuple<int64_t, std::string, Json>> writes;
    StudyView view{{direction}, trials, name};
    if (with_store) {
      view.set_trial_system_attr = [&](int64_t id, const std::string& key, const Json& v) {
        writes.emplace_back(id, key, v);
      };
    }
    const bool prune = pruner.Prune(view, trials[i]);
    for (auto& [id, key, v] : writes) trials[id].system_attrs[key] = v;
    return prune;
  }
  void Finish(int i, TrialState state, double value = 0.0) {
    trials[i].state = state;
    if (state == TrialState::kComplete) trials[i].values = {value};
  }
};

SuccessiveHalvingPrunerOptions ShOptions(std::optional<int64_t> min_resource,
                                         int64_t reduction_factor, int64_t bootstrap = 0,
                                         int64_t min_early_stopping_rate = 0) {
  SuccessiveHalvingPrunerOptions o;
  o.min_resource = min_resource;
  o.reduction_factor = reduction_factor;
  o.bootstrap_count = bootstrap;
  o.min_early_stopping_rate = min_early_stopping_rate;
  return o;
}

TEST(SuccessiveHalvingPrunerTest, ReductionFactorTwoThreeTrials) {
  for (bool with_store : {true, false}) {
    // Rung 0 ends at step min_resource * 2^0 = 1, rung 1 at step 2.
    SuccessiveHalvingPruner pruner(ShOptions(1, 2));
    RungStudy st;
    st.with_store = with_store;
    const int a = st.Start(), b = st.Start(), c = st.Start();
    EXPECT_FALSE(st.Report(pruner, a, 0, 9.0));  // step 0: rung 0 not ended
    EXPECT_FALSE(st.Report(pruner, b, 0, 9.0));
    EXPECT_FALSE(st.Report(pruner, c, 0, 9.0));
    // a alone at rung 0: 1 value, top max(1 / 2, 1) = 1 kept: promoted (rung 1 ends at 2).
    EXPECT_FALSE(st.Report(pruner, a, 1, 0.5));
    // b: {0.5, 0.3}, top max(2 / 2, 1) = 1 is 0.3: promoted.
    EXPECT_FALSE(st.Report(pruner, b, 1, 0.3));
    // c: {0.5, 0.3, 0.4}, top max(3 / 2, 1) = 1 is 0.3, and 0.4 is worse: pruned.
    EXPECT_TRUE(st.Report(pruner, c, 1, 0.4));
    if (with_store) {
      EXPECT_EQ(st.trials[a].system_attrs.at("completed_rung_0"), 0.5);
      EXPECT_EQ(st.trials[b].system_attrs.at("completed_rung_0"), 0.3);
      EXPECT_EQ(st.trials[c].system_attrs.at("completed_rung_0"), 0.4);  // recorded, then pruned
      EXPECT_EQ(st.trials[a].system_attrs.count("completed_rung_1"), 0u);
    }
    // c is not judged at rung 0 again; its next check is at rung 1 (step 2).
    EXPECT_FALSE(st.Report(pruner, c, 1, 0.4));
    // a at step 2 is rung 1's first: promoted. b at rung 1: {0.45, 0.6}, 0.6 worse: pruned.
    EXPECT_FALSE(st.Report(pruner, a, 2, 0.45));
    EXPECT_TRUE(st.Report(pruner, b, 2, 0.6));
  }
}

TEST(SuccessiveHalvingPrunerTest, MaximizeAndSeveralRungsAtOnce) {
  SuccessiveHalvingPruner pruner(ShOptions(1, 2));
  RungStudy st;
  st.direction = StudyDirection::kMaximize;
  const int a = st.Start(), b = st.Start();
  // a's first report is at step 4: rungs 0 (step 1), 1 (2) and 2 (4) judged at once.
  EXPECT_FALSE(st.Report(pruner, a, 4, 0.8));
  for (const char* key : {"completed_rung_0", "completed_rung_1", "completed_rung_2"}) {
    EXPECT_EQ(st.trials[a].system_attrs.at(key), 0.8) << key;
  }
  EXPECT_EQ(st.trials[a].system_attrs.count("completed_rung_3"), 0u);
  // Maximising: b's 0.7 is below the best (0.8) of {0.8, 0.7}: pruned at rung 0.
  EXPECT_TRUE(st.Report(pruner, b, 1, 0.7));
  EXPECT_EQ(st.trials[b].system_attrs.count("completed_rung_1"), 0u);
}

TEST(SuccessiveHalvingPrunerTest, BootstrapNaNAndEarlyStoppingRate) {
  // min_early_stopping_rate 1: rung 0 ends at 2 * 3^1 = 6. bootstrap 2: the first two
  // trials to reach a rung are pruned there.
  SuccessiveHalvingPruner pruner(ShOptions(2, 3, 2, 1));
  RungStudy st;
  const int a = st.Start(), b = st.Start(), c = st.Start(), d = st.Start();
  EXPECT_FALSE(st.Report(pruner, a, 5, 0.1));
  EXPECT_TRUE(st.Report(pruner, a, 6, 0.1));   // 1 value <= bootstrap 2
  EXPECT_TRUE(st.Report(pruner, b, 7, 0.2));   // 2 values <= 2
  EXPECT_FALSE(st.Report(pruner, c, 6, 0.1));  // 3 values, top max(3 / 3, 1) = 1 is 0.1: kept
  // NaN at a rung's end is pruned and records nothing.
  EXPECT_TRUE(st.Report(pruner, d, 6, kNaN));
  EXPECT_EQ(st.trials[d].system_attrs.count("completed_rung_0"), 0u);
}

TEST(SuccessiveHalvingPrunerTest, AutoMinResourceIsEstimatedOnceFromCompleteTrials) {
  SuccessiveHalvingPruner pruner(ShOptions(std::nullopt, 2));
  RungStudy st;
  const int a = st.Start(), b = st.Start(), c = st.Start();
  // No COMPLETE trial yet: no estimate, no pruning (even of NaN).
  EXPECT_FALSE(st.Report(pruner, a, 500, kNaN));
  st.Finish(a, TrialState::kFail);
  st.trials[b].intermediate_values[299] = 1.0;
  st.Finish(b, TrialState::kComplete, 1.0);
  // max(1, 299 / 100) = 2: rung 0 ends at step 2.
  EXPECT_FALSE(st.Report(pruner, c, 1, kNaN));
  EXPECT_TRUE(st.Report(pruner, c, 2, kNaN));
  // Kept for the pruner's life: a longer COMPLETE trial changes nothing.
  const int d = st.Start(), e = st.Start();
  st.trials[d].intermediate_values[5000] = 1.0;
  st.Finish(d, TrialState::kComplete, 1.0);
  EXPECT_TRUE(st.Report(pruner, e, 2, kNaN));
  // A fresh pruner estimates from what it sees: max(1, 5000 / 100) = 50.
  SuccessiveHalvingPruner fresh(ShOptions(std::nullopt, 2));
  EXPECT_FALSE(st.Report(fresh, e, 49, kNaN));
}

TEST(SuccessiveHalvingPrunerTest, StoredRungsOfOtherTrialsCount) {
  // Rungs another process recorded reach the pruner through the trials' system_attrs.
  SuccessiveHalvingPruner pruner(ShOptions(1, 2));
  RungStudy st;
  const int a = st.Start(), b = st.Start();
  st.trials[a].system_attrs["completed_rung_0"] = 0.1;
  st.Finish(a, TrialState::kPruned);
  EXPECT_TRUE(st.Report(pruner, b, 1, 0.2));
  st.with_store = false;
  const int c = st.Start();
  EXPECT_TRUE(st.Report(pruner, c, 1, 0.3));  // {0.1, 0.2 (in the store), 0.3}
}

TEST(HyperbandPrunerTest, Crc32IsPythons) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // binascii.crc32(b"123456789")
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(HyperbandPrunerTest, BracketsAsOptuna) {
  // Values from Optuna 5.1's HyperbandPruner(1, 9, 3): 3 brackets with budgets 9, 5, 3;
  // trial n of study "hb" is in bracket crc32("hb_<n>") % 17 mapped through the budgets.
  HyperbandPrunerOptions o;
  o.max_resource = 9;
  HyperbandPruner pruner(o);
  EXPECT_FALSE(pruner.NumBrackets().has_value());
  EXPECT_EQ(pruner.BracketId("hb", 2), 0);  // not set up yet
  std::vector<FrozenTrial> trials;
  StudyView view{{StudyDirection::kMinimize}, trials, "hb"};
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 1.0}})));
  EXPECT_EQ(pruner.NumBrackets(), 3);
  const std::vector<int64_t> expected = {0, 0, 2, 2, 1, 1, 1, 2, 1, 0, 1, 0};
  for (int64_t n = 0; n < 12; ++n) EXPECT_EQ(pruner.BracketId("hb", n), expected[n]) << n;
  // log(243) / log(3) is 4.999...: floor + 1 = 5 brackets, as in Python.
  o.max_resource = 243;
  HyperbandPruner p243(o);
  EXPECT_FALSE(p243.Prune(view, Running({{0, 1.0}})));
  EXPECT_EQ(p243.NumBrackets(), 5);
}

TEST(HyperbandPrunerTest, AutoMaxResourceAndBracketStudy) {
  HyperbandPrunerOptions o;  // min 1, max auto, eta 3
  HyperbandPruner pruner(o);
  RungStudy st;
  st.name = "hb";
  std::vector<int> t;
  for (int i = 0; i < 12; ++i) t.push_back(st.Start());
  EXPECT_FALSE(st.Report(pruner, t[0], 50, kNaN));  // no COMPLETE trial: not set up
  EXPECT_FALSE(pruner.NumBrackets().has_value());
  st.trials[t[1]].intermediate_values[8] = 1.0;  // max_resource 8 + 1 = 9: 3 brackets
  st.Finish(t[1], TrialState::kComplete, 1.0);
  // Brackets (above): trials 0, 1, 9, 11 in 0 (rung 0 ends at step 1); 4, 5, 6, 8, 10 in
  // 1 (min_early_stopping_rate 1: ends at step 3).
  EXPECT_TRUE(st.Report(pruner, t[0], 51, kNaN));
  EXPECT_EQ(pruner.NumBrackets(), 3);
  EXPECT_FALSE(st.Report(pruner, t[9], 1, 0.5));
  EXPECT_TRUE(st.Report(pruner, t[11], 1, 0.6));  // {0.5, 0.6}: top 1 of bracket 0
  EXPECT_FALSE(st.Report(pruner, t[4], 1, 0.9));  // bracket 1: rung 0 ends at 3
  // Bracket 1 does not see bracket 0's rung values: alone there, 0.9 is kept.
  EXPECT_FALSE(st.Report(pruner, t[4], 3, 0.9));
  EXPECT_TRUE(st.Report(pruner, t[5], 3, 1.0));  // {0.9, 1.0}
}

TEST(MakePrunerTest, SuccessiveHalvingAndHyperbandOptions) {
  auto error = [](const Json& c) {
    auto p = MakePruner(c);
    return p.ok() ? std::string("ok") : p.status().message();
  };
  auto sh = MakePruner({{"type", "successive_halving"}});
  ASSERT_TRUE(sh.ok());
  auto* s = dynamic_cast<SuccessiveHalvingPruner*>(sh->get());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->Name(), "SuccessiveHalvingPruner");
  EXPECT_FALSE(s->options().min_resource.has_value());
  EXPECT_EQ(s->options().reduction_factor, 4);
  EXPECT_EQ(s->options().min_early_stopping_rate, 0);
  EXPECT_EQ(s->options().bootstrap_count, 0);
  auto hb = MakePruner({{"type", "hyperband"}, {"min_resource", 2}, {"max_resource", 50}});
  ASSERT_TRUE(hb.ok());
  auto* h = dynamic_cast<HyperbandPruner*>(hb->get());
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->Name(), "HyperbandPruner");
  EXPECT_EQ(h->options().min_resource, 2);
  EXPECT_EQ(h->options().max_resource, 50);
  EXPECT_EQ(h->options().reduction_factor, 3);
  EXPECT_EQ(error({{"type", "successive_halving"}, {"min_resource", "auto"}}), "ok");
  EXPECT_EQ(error({{"type", "successive_halving"}, {"min_resource", "big"}}),
            "pruner.min_resource: must be \"auto\" or an integer >= 1 (got \"big\")");
  EXPECT_EQ(error({{"type", "successive_halving"}, {"min_resource", 0}}),
            "pruner.min_resource: must be >= 1 (got 0)");
  EXPECT_EQ(error({{"type", "successive_halving"}, {"reduction_factor", 1}}),
            "pruner.reduction_factor: must be >= 2 (got 1)");
  EXPECT_EQ(error({{"type", "successive_halving"}, {"min_early_stopping_rate", -1}}),
            "pruner.min_early_stopping_rate: must be >= 0 (got -1)");
  EXPECT_EQ(error({{"type", "successive_halving"}, {"bootstrap_count", 1}}),
            "pruner.bootstrap_count: > 0 needs an integer min_resource (not \"auto\")");
  EXPECT_EQ(error({{"type", "successive_halving"}, {"min_resource", 1}, {"bootstrap_count", 1}}),
            "ok");
  EXPECT_EQ(error({{"type", "hyperband"}, {"min_resource", "auto"}}),
            "pruner.min_resource: must be an integer (got \"auto\")");
  EXPECT_EQ(error({{"type", "hyperband"}, {"min_resource", 5}, {"max_resource", 4}}),
            "pruner.max_resource: must be >= min_resource (got 4 < 5)");
  EXPECT_EQ(error({{"type", "hyperband"}, {"bootstrap_count", 2}}),
            "pruner.bootstrap_count: > 0 needs an integer max_resource (not \"auto\")");
  EXPECT_EQ(error({{"type", "hyperband"}, {"min_early_stopping_rate", 1}})
                .rfind("pruner.min_early_stopping_rate: unknown key", 0),
            0u);
}

// ---- Live parity with python3-optuna ------------------------------------------------------

std::string JsonNumber(double v) {
  if (std::isnan(v)) return "\"nan\"";
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

bool PythonHasOptuna() {
  std::string cmd = std::string(MGR_PYTHON) + " -c 'import optuna' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

struct Scenario {
  PercentilePrunerOptions options;
  bool median = false;
  StudyDirection direction = StudyDirection::kMinimize;
  std::vector<FrozenTrial> trials;
  std::vector<std::pair<int64_t, double>> candidate;
};

std::map<int64_t, double> RandomCurve(std::mt19937_64& rng, bool with_inf) {
  std::uniform_int_distribution<int> len(1, 12), start(0, 2), gap(1, 3), coin(0, 99);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::map<int64_t, double> curve;
  double level = 2.0 + noise(rng);
  int64_t step = start(rng);
  for (int k = len(rng); k > 0; --k) {
    level *= 0.9 + 0.05 * noise(rng);
    double v = level + 0.2 * noise(rng);
    int c = coin(rng);
    if (c < 8) v = kNaN;
    if (with_inf && c == 8) v = kInf;
    curve[step] = v;
    step += coin(rng) < 70 ? 1 : gap(rng);
  }
  return curve;
}

std::vector<Scenario> MakeScenarios(int n) {
  std::mt19937_64 rng(20261123);
  std::uniform_int_distribution<int> small(0, 4), ntr(0, 14), state(0, 9), three(1, 3);
  std::vector<Scenario> out;
  for (int k = 0; k < n; ++k) {
    Scenario sc;
    sc.median = k % 2 == 0;
    sc.options.percentile = sc.median ? 50.0 : std::uniform_real_distribution<double>(0, 100)(rng);
    if (k % 7 == 3) sc.options.percentile = 0.0;
    if (k % 7 == 5) sc.options.percentile = 100.0;
    sc.options.n_startup_trials = small(rng);
    sc.options.n_warmup_steps = small(rng) % 3;
    sc.options.interval_steps = three(rng);
    sc.options.n_min_trials = three(rng);
    sc.direction = k % 4 < 2 ? StudyDirection::kMinimize : StudyDirection::kMaximize;
    int n_trials = ntr(rng);
    for (int t = 0; t < n_trials; ++t) {
      int s = state(rng);
      TrialState st =
          s < 7 ? TrialState::kComplete : (s < 9 ? TrialState::kPruned : TrialState::kFail);
      auto curve = RandomCurve(rng, k % 5 == 0);
      double value = 0.0;
      for (auto& [step, v] : curve) {
        if (!std::isnan(v)) value = v;
      }
      if (std::isinf(value)) value = 1.0;
      sc.trials.push_back(MakeTrial(t, st, value, {}, curve));
    }
    for (auto& [s, v] : RandomCurve(rng, k % 5 == 0)) sc.candidate.emplace_back(s, v);
    out.push_back(std::move(sc));
  }
  return out;
}

std::string ScenariosToJson(const std::vector<Scenario>& scs) {
  std::ostringstream j;
  j << "{\"scenarios\": [";
  for (size_t k = 0; k < scs.size(); ++k) {
    const Scenario& sc = scs[k];
    j << (k ? "," : "") << "{\"pruner\": {\"type\": \"" << (sc.median ? "median" : "percentile")
      << "\", \"percentile\": " << JsonNumber(sc.options.percentile)
      << ", \"n_startup_trials\": " << sc.options.n_startup_trials
      << ", \"n_warmup_steps\": " << sc.options.n_warmup_steps
      << ", \"interval_steps\": " << sc.options.interval_steps
      << ", \"n_min_trials\": " << sc.options.n_min_trials << "}, \"direction\": \""
      << (sc.direction == StudyDirection::kMinimize ? "minimize" : "maximize")
      << "\", \"trials\": [";
    for (size_t t = 0; t < sc.trials.size(); ++t) {
      const FrozenTrial& tr = sc.trials[t];
      j << (t ? "," : "") << "{\"state\": \"" << TrialStateName(tr.state)
        << "\", \"value\": " << JsonNumber(tr.value()) << ", \"intermediate\": [";
      bool first = true;
      for (auto& [s, v] : tr.intermediate_values) {
        j << (first ? "" : ",") << "[" << s << ", " << JsonNumber(v) << "]";
        first = false;
      }
      j << "]}";
    }
    j << "], \"candidate\": [";
    for (size_t c = 0; c < sc.candidate.size(); ++c) {
      j << (c ? "," : "") << "[" << sc.candidate[c].first << ", "
        << JsonNumber(sc.candidate[c].second) << "]";
    }
    j << "]}";
  }
  j << "]}";
  return j.str();
}

TEST(PrunerParityTest, IdenticalDecisionsToPythonOptuna) {
  if (!PythonHasOptuna()) GTEST_SKIP() << MGR_PYTHON << " has no optuna module";
  std::vector<Scenario> scenarios = MakeScenarios(400);
  std::string in_path = ::testing::TempDir() + "/pruner_parity_in.json";
  std::string out_path = ::testing::TempDir() + "/pruner_parity_out.json";
  {
    std::ofstream f(in_path);
    f << ScenariosToJson(scenarios);
  }
  std::string cmd = std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                    "/tools/optuna_reference/pruner_decisions.py < " + in_path + " > " + out_path +
                    " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(out_path);
  Json out = Json::parse(f);
  const Json& decisions = out.at("decisions");
  ASSERT_EQ(decisions.size(), scenarios.size());
  int n_checked = 0, n_pruned = 0;
  for (size_t k = 0; k < scenarios.size(); ++k) {
    const Scenario& sc = scenarios[k];
    std::unique_ptr<Pruner> pruner;
    if (sc.median) {
      pruner = std::make_unique<MedianPruner>(sc.options);
    } else {
      pruner = std::make_unique<PercentilePruner>(sc.options);
    }
    StudyView view{{sc.direction}, sc.trials};
    FrozenTrial running = MakeTrial(1000, TrialState::kRunning, 0, {}, {});
    ASSERT_EQ(decisions[k].size(), sc.candidate.size());
    for (size_t c = 0; c < sc.candidate.size(); ++c) {
      running.intermediate_values[sc.candidate[c].first] = sc.candidate[c].second;
      bool expected = decisions[k][c].get<bool>();
      EXPECT_EQ(pruner->Prune(view, running), expected)
          << "scenario " << k << " after report " << c << " (step " << sc.candidate[c].first << ")";
      ++n_checked;
      n_pruned += expected;
    }
  }
  // The scenarios must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(n_pruned, n_checked / 10);
  EXPECT_LT(n_pruned, n_checked * 9 / 10);
}

// ThresholdPruner and PatientPruner (alone and wrapping a MedianPruner), built by MakePruner
// from study-file configs, against Optuna 5.1's classes built from the same configs
// (PyPI, into BUILD/optuna5-venv) on the random scenarios above.
TEST(PrunerParityTest, ThresholdAndPatientDecideAsOptuna5) {
  const std::string python = testing_util::OptunaVenvPython("5.1.0");
  ASSERT_FALSE(python.empty()) << "tools/optuna_venv.sh failed (PyPI reachable?)";
  std::vector<Scenario> scenarios = MakeScenarios(300);
  Json doc = Json::parse(ScenariosToJson(scenarios));
  std::mt19937_64 rng(20261205);
  std::uniform_int_distribution<int> small(0, 3), three(1, 3);
  std::uniform_real_distribution<double> level(0.5, 2.5);
  std::vector<Json> configs;
  for (size_t k = 0; k < scenarios.size(); ++k) {
    Json c;
    if (k % 3 == 0) {
      c = {{"type", "threshold"}, {"n_warmup_steps", small(rng)}, {"interval_steps", three(rng)}};
      const double a = level(rng), b = level(rng);
      if (k % 4 != 1) c["lower"] = std::min(a, b);
      if (k % 4 != 2) c["upper"] = std::max(a, b);
    } else {
      c = {{"type", "patient"}, {"patience", small(rng)}, {"min_delta", k % 2 ? 0.0 : 0.05}};
      if (k % 3 == 2) c["wrapped"] = {{"type", "median"}, {"n_startup_trials", small(rng)}};
    }
    doc["scenarios"][k]["config"] = c;
    configs.push_back(c);
  }
  const std::string in_path = ::testing::TempDir() + "/pruner_parity5_in.json";
  const std::string out_path = ::testing::TempDir() + "/pruner_parity5_out.json";
  std::ofstream(in_path) << doc.dump();
  const std::string cmd = "'" + python + "' " + MGR_SOURCE_DIR +
                          "/tools/optuna_reference/pruner_decisions.py < " + in_path + " > " +
                          out_path + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(out_path);
  const Json decisions = Json::parse(f).at("decisions");
  ASSERT_EQ(decisions.size(), scenarios.size());
  std::map<std::string, std::pair<int, int>> pruned_checked;  // by type
  for (size_t k = 0; k < scenarios.size(); ++k) {
    const Scenario& sc = scenarios[k];
    auto pruner = MakePruner(configs[k]);
    ASSERT_TRUE(pruner.ok()) << configs[k].dump() << ": " << pruner.status().ToString();
    StudyView view{{sc.direction}, sc.trials};
    FrozenTrial running = MakeTrial(1000, TrialState::kRunning, 0, {}, {});
    ASSERT_EQ(decisions[k].size(), sc.candidate.size());
    const std::string type =
        configs[k]["type"].get<std::string>() + (configs[k].contains("wrapped") ? "+median" : "");
    for (size_t c = 0; c < sc.candidate.size(); ++c) {
      running.intermediate_values[sc.candidate[c].first] = sc.candidate[c].second;
      const bool expected = decisions[k][c].get<bool>();
      EXPECT_EQ((*pruner)->Prune(view, running), expected)
          << "scenario " << k << " " << configs[k].dump() << " after report " << c;
      pruned_checked[type].first += expected;
      ++pruned_checked[type].second;
    }
  }
  for (const auto& [type, counts] : pruned_checked) {
    EXPECT_GT(counts.first, 0) << type << ": no decision to prune, the comparison proves little";
    EXPECT_LT(counts.first, counts.second) << type << ": every decision was to prune";
  }
  EXPECT_EQ(pruned_checked.size(), 3u);
}

// SuccessiveHalvingPruner and HyperbandPruner against Optuna 5.1's, on random studies run as
// sequences of events: trials start, report (each report is followed by a check) and finish
// (COMPLETE, FAIL or PRUNED) interleaved as by 1 to 4 workers; a trial told to prune stops
// (or, in a quarter of the studies, goes on reporting). Rungs are recorded in the trials'
// system attributes through set_trial_system_attr, and in a second run kept by the pruner
// itself (no set_trial_system_attr): both runs must decide as Optuna at every check.
struct StudyEvent {
  enum Kind { kStart, kReport, kFinish } kind = kStart;
  int trial = 0;
  int64_t step = 0;
  double value = 0.0;
  TrialState state = TrialState::kComplete;
};

struct EventScenario {
  Json config;
  StudyDirection direction = StudyDirection::kMinimize;
  std::string study_name;
  bool stop_on_prune = false;
  std::vector<StudyEvent> events;
};

Json ValueJson(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

std::vector<EventScenario> MakeEventScenarios(int n) {
  std::mt19937_64 rng(20261214);
  auto pick = [&](std::vector<int64_t> choices) {
    return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
  };
  std::uniform_int_distribution<int> percent(0, 99), n_trials(4, 24), workers(1, 4), len(1, 25);
  std::uniform_real_distribution<double> level(0.5, 3.0), u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.15);
  std::vector<EventScenario> out;
  for (int k = 0; k < n; ++k) {
    EventScenario sc;
    if (k % 8 < 5) {
      sc.config = {{"type", "successive_halving"}};
      const bool automatic = percent(rng) < 40;
      if (automatic) {
        if (percent(rng) < 50) sc.config["min_resource"] = "auto";
      } else {
        sc.config["min_resource"] = pick({1, 1, 2, 3, 5});
        sc.config["bootstrap_count"] = pick({0, 0, 1, 2});
      }
      if (percent(rng) < 80) sc.config["reduction_factor"] = pick({2, 3, 4});
      sc.config["min_early_stopping_rate"] = pick({0, 0, 0, 1, 2});
    } else {
      sc.config = {{"type", "hyperband"}};
      const int64_t min_resource = pick({1, 1, 2, 3});
      const int64_t eta = pick({2, 3, 3, 4});
      sc.config["min_resource"] = min_resource;
      if (percent(rng) < 80) sc.config["reduction_factor"] = eta;
      if (percent(rng) < 50) {
        const int64_t r = sc.config.value("reduction_factor", 3);
        sc.config["max_resource"] = min_resource * pick({1, r, r * r, r * r * r, 50});
        sc.config["bootstrap_count"] = pick({0, 0, 1});
      }
    }
    sc.direction = k % 4 < 2 ? StudyDirection::kMinimize : StudyDirection::kMaximize;
    sc.study_name = "parity-" + std::to_string(k) + "-" + std::to_string(rng() % 100000);
    sc.stop_on_prune = k % 4 != 3;
    // Trials: a level, a decaying noisy curve on steps stride * (offset + k * gap), a finish.
    const int64_t stride = pick({1, 1, 1, 2, 5, 10, 30});
    struct Plan {
      std::vector<std::pair<int64_t, double>> reports;
      TrialState state;
      double value;
    };
    std::vector<Plan> plans(n_trials(rng));
    for (Plan& p : plans) {
      const double base = level(rng);
      int64_t step = stride * pick({0, 0, 1, 2});
      double v = base;
      for (int r = len(rng); r > 0; --r) {
        v *= 0.85 + 0.1 * u(rng);
        double reported = v + noise(rng);
        const int c = percent(rng);
        if (c < 3) reported = kNaN;
        if (c == 3) reported = sc.direction == StudyDirection::kMinimize ? kInf : -kInf;
        if (c == 4) reported = sc.direction == StudyDirection::kMinimize ? -kInf : kInf;
        p.reports.emplace_back(step, reported);
        step += stride * (percent(rng) < 80 ? 1 : pick({2, 3}));
      }
      const int c = percent(rng);
      p.state = c < 85 ? TrialState::kComplete : (c < 95 ? TrialState::kFail : TrialState::kPruned);
      p.value = v;
    }
    // Interleave as `w` workers would: a free worker starts the next trial; otherwise a
    // random running trial reports its next value, or finishes after its last.
    const int w = workers(rng);
    std::vector<int> running;
    std::vector<size_t> next(plans.size(), 0);
    int started = 0;
    while (started < static_cast<int>(plans.size()) || !running.empty()) {
      if (started < static_cast<int>(plans.size()) &&
          (running.empty() || (static_cast<int>(running.size()) < w && percent(rng) < 60))) {
        sc.events.push_back({StudyEvent::kStart, started});
        running.push_back(started++);
        continue;
      }
      const size_t idx = std::uniform_int_distribution<size_t>(0, running.size() - 1)(rng);
      const int i = running[idx];
      const Plan& p = plans[i];
      if (next[i] < p.reports.size()) {
        sc.events.push_back(
            {StudyEvent::kReport, i, p.reports[next[i]].first, p.reports[next[i]].second});
        ++next[i];
      } else {
        sc.events.push_back({StudyEvent::kFinish, i, 0, p.value, p.state});
        running.erase(running.begin() + idx);
      }
    }
    out.push_back(std::move(sc));
  }
  return out;
}

Json EventScenariosToJson(const std::vector<EventScenario>& scs) {
  Json doc = {{"scenarios", Json::array()}};
  for (const EventScenario& sc : scs) {
    Json events = Json::array();
    for (const StudyEvent& e : sc.events) {
      if (e.kind == StudyEvent::kStart) {
        events.push_back({"start", e.trial});
      } else if (e.kind == StudyEvent::kReport) {
        events.push_back({"report", e.trial, e.step, ValueJson(e.value)});
      } else {
        events.push_back({"finish", e.trial, TrialStateName(e.state), ValueJson(e.value)});
      }
    }
    doc["scenarios"].push_back(
        {{"config", sc.config},
         {"direction", sc.direction == StudyDirection::kMinimize ? "minimize" : "maximize"},
         {"study_name", sc.study_name},
         {"stop_on_prune", sc.stop_on_prune},
         {"events", events}});
  }
  return doc;
}

// The scenario run here as the study API runs it; one entry per event as the reference:
// 1 prune, 0 keep, -1 no check.
std::vector<int> RunEvents(const EventScenario& sc, const Pruner& pruner, bool with_store) {
  RungStudy st;
  st.direction = sc.direction;
  st.name = sc.study_name;
  st.with_store = with_store;
  std::set<int> finished;
  std::vector<int> out;
  for (const StudyEvent& e : sc.events) {
    int decision = -1;
    if (e.kind == StudyEvent::kStart) {
      st.Start();
    } else if (finished.count(e.trial)) {
      // stopped when told to prune
    } else if (e.kind == StudyEvent::kReport) {
      decision = st.Report(pruner, e.trial, e.step, e.value) ? 1 : 0;
      if (decision == 1 && sc.stop_on_prune) {
        st.Finish(e.trial, TrialState::kPruned);
        finished.insert(e.trial);
      }
    } else {
      st.Finish(e.trial, e.state, e.value);
      finished.insert(e.trial);
    }
    out.push_back(decision);
  }
  return out;
}

TEST(PrunerParityTest, SuccessiveHalvingAndHyperbandDecideAsOptuna5) {
  const std::string python = testing_util::OptunaVenvPython("5.1.0");
  ASSERT_FALSE(python.empty()) << "tools/optuna_venv.sh failed (PyPI reachable?)";
  const std::vector<EventScenario> scenarios = MakeEventScenarios(400);
  const std::string in_path = ::testing::TempDir() + "/pruner_parity_sh_in.json";
  const std::string out_path = ::testing::TempDir() + "/pruner_parity_sh_out.json";
  std::ofstream(in_path) << EventScenariosToJson(scenarios).dump();
  const std::string cmd = "'" + python + "' " + MGR_SOURCE_DIR +
                          "/tools/optuna_reference/pruner_decisions.py < " + in_path + " > " +
                          out_path + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(out_path);
  const Json decisions = Json::parse(f).at("decisions");
  ASSERT_EQ(decisions.size(), scenarios.size());
  std::map<std::string, std::pair<int, int>> pruned_checked;  // by type
  int mismatched_scenarios = 0;
  for (size_t k = 0; k < scenarios.size(); ++k) {
    const EventScenario& sc = scenarios[k];
    const std::string type = sc.config["type"].get<std::string>();
    ASSERT_EQ(decisions[k].size(), sc.events.size());
    for (bool with_store : {true, false}) {
      auto pruner = MakePruner(sc.config);
      ASSERT_TRUE(pruner.ok()) << sc.config.dump() << ": " << pruner.status().ToString();
      const std::vector<int> got = RunEvents(sc, **pruner, with_store);
      for (size_t e = 0; e < got.size(); ++e) {
        const int expected = decisions[k][e].is_null() ? -1 : decisions[k][e].get<bool>();
        if (got[e] != expected) {
          const char* names[] = {"-", "keep", "prune"};
          // Later events follow from this one; report the first only.
          ADD_FAILURE() << "scenario " << k << " " << sc.config.dump() << " "
                        << (with_store ? "with store" : "in memory") << ": event " << e
                        << " (trial " << sc.events[e].trial << ", step " << sc.events[e].step
                        << "): expected " << names[expected + 1] << ", got " << names[got[e] + 1];
          ++mismatched_scenarios;
          break;
        }
        if (with_store && expected >= 0) {
          pruned_checked[type].first += expected;
          ++pruned_checked[type].second;
        }
      }
    }
    if (mismatched_scenarios > 10) break;
  }
  for (const auto& [type, counts] : pruned_checked) {
    EXPECT_GT(counts.first, counts.second / 20)
        << type << ": few prunes, the comparison proves little";
    EXPECT_LT(counts.first, counts.second / 2) << type << ": mostly prunes";
  }
  EXPECT_EQ(pruned_checked.size(), 2u);
}

TEST(MakePrunerTest, ThresholdAndPatientOptionsAreChecked) {
  auto error = [](const Json& c) {
    auto p = MakePruner(c);
    return p.ok() ? std::string("ok") : p.status().message();
  };
  EXPECT_EQ(error({{"type", "threshold"}}),
            "pruner.lower: a threshold pruner needs lower, upper or both");
  EXPECT_EQ(error({{"type", "threshold"}, {"lower", 2}, {"upper", 1}}),
            "pruner.lower: must be <= upper (got 2 > 1)");
  EXPECT_EQ(error({{"type", "threshold"}, {"upper", 1}, {"interval_steps", 0}}),
            "pruner.interval_steps: must be >= 1 (got 0)");
  EXPECT_EQ(error({{"type", "patient"}}),
            "pruner.patience: is required for type \"patient\" (an integer >= 0)");
  EXPECT_EQ(error({{"type", "patient"}, {"patience", 2}, {"min_delta", -1}})
                .rfind("pruner.min_delta: must be in [0, ", 0),
            0u);
  EXPECT_EQ(
      error({{"type", "patient"}, {"patience", 2}, {"wrapped", {{"type", "median"}, {"x", 1}}}})
          .rfind("pruner.wrapped.x: unknown key", 0),
      0u);
  EXPECT_EQ(error({{"type", "patient"}, {"patience", 1}, {"wrapped", {{"type", "median"}}}}), "ok");
}

// ---- WilcoxonPruner and its signed-rank test -------------------------------------------------

WilcoxonResult Wilcoxon(std::vector<double> d, WilcoxonAlternative alternative) {
  return WilcoxonSignedRankTest(d, alternative);
}

TEST(WilcoxonTest, HandComputedExactPValues) {
  using A = WilcoxonAlternative;
  // {1, 2, 3, 4}: r+ = 10, the largest of the 16 sign patterns' sums.
  WilcoxonResult r = Wilcoxon({1, 2, 3, 4}, A::kGreater);
  EXPECT_EQ(r.method, WilcoxonResult::Method::kExact);
  EXPECT_EQ(r.statistic, 10.0);
  EXPECT_EQ(r.p_value, 1.0 / 16);
  EXPECT_EQ(Wilcoxon({1, 2, 3, 4}, A::kLess).p_value, 1.0);
  // {1, -2, 3, 4, 5}: r+ = 13. Subsets of {1..5} by sum 0..15: 1 1 1 2 2 3 3 3 3 3 3 2 2 1 1 1.
  EXPECT_EQ(Wilcoxon({1, -2, 3, 4, 5}, A::kGreater).p_value, 3.0 / 32);  // sums 13, 14, 15
  EXPECT_EQ(Wilcoxon({1, -2, 3, 4, 5}, A::kLess).p_value, 30.0 / 32);
  r = Wilcoxon({1, -2, 3, 4, 5}, A::kTwoSided);
  EXPECT_EQ(r.statistic, 2.0);  // min(r+, r-)
  EXPECT_EQ(r.p_value, 6.0 / 32);
  // Ranks are of |d|, in any order: {-0.5, 7, 3}: ranks 1, 3, 2; r+ = 5; P(r+ >= 5) = 2 / 8.
  EXPECT_EQ(Wilcoxon({-0.5, 7, 3}, A::kGreater).p_value, 0.25);
  EXPECT_EQ(Wilcoxon({3.5}, A::kGreater).p_value, 0.5);
  EXPECT_EQ(Wilcoxon({3.5}, A::kLess).p_value, 1.0);
}

TEST(WilcoxonTest, HandComputedPermutationPValuesWithTiesAndZeros) {
  using A = WilcoxonAlternative;
  // {0, 1, 1, 2}: ranks of |d| 1, 2.5, 2.5, 4; zsplit gives the zero's rank half to r+:
  // r+ = 2.5 + 2.5 + 4 + 0.5 = 9.5. Of the 16 sign flips, 2 reach 9.5 (the zero's two).
  WilcoxonResult r = Wilcoxon({0, 1, 1, 2}, A::kGreater);
  EXPECT_EQ(r.method, WilcoxonResult::Method::kPermutation);
  EXPECT_EQ(r.statistic, 9.5);
  EXPECT_EQ(r.p_value, 2.0 / 16);
  EXPECT_EQ(Wilcoxon({0, 1, 1, 2}, A::kLess).p_value, 1.0);
  r = Wilcoxon({0, 1, 1, 2}, A::kTwoSided);
  EXPECT_EQ(r.statistic, 0.5);
  EXPECT_EQ(r.p_value, 4.0 / 16);
  // All zeros (a tie: ranks 2, 2, 2): every flip gives r+ = 6 / 2 = 3, so p = 1 both ways.
  r = Wilcoxon({0, -0.0, 0}, A::kGreater);
  EXPECT_EQ(r.statistic, 3.0);
  EXPECT_EQ(r.p_value, 1.0);
  EXPECT_EQ(Wilcoxon({0, 0, 0}, A::kLess).p_value, 1.0);
  // {-1, 1}: a tie: ranks 1.5, 1.5; r+ = 1.5; flips give 0, 1.5, 1.5, 3.
  EXPECT_EQ(Wilcoxon({-1, 1}, A::kGreater).p_value, 0.75);
  EXPECT_EQ(Wilcoxon({-1, 1}, A::kLess).p_value, 0.75);
}

TEST(WilcoxonTest, HandComputedNormalApproximation) {
  using A = WilcoxonAlternative;
  // d = 1..60 (n > 50: normal): r+ = 1830, mean 60 * 61 / 4 = 915,
  // se = sqrt(60 * 61 * 121 / 24), no continuity correction.
  std::vector<double> d;
  for (int i = 1; i <= 60; ++i) d.push_back(i);
  const double z = (1830.0 - 915.0) / std::sqrt(60.0 * 61.0 * 121.0 / 24.0);
  WilcoxonResult r = Wilcoxon(d, A::kGreater);
  EXPECT_EQ(r.method, WilcoxonResult::Method::kAsymptotic);
  EXPECT_EQ(r.statistic, 1830.0);
  EXPECT_NEAR(r.p_value, 0.5 * std::erfc(z / std::sqrt(2.0)), 1e-12 * r.p_value);
  EXPECT_NEAR(Wilcoxon(d, A::kLess).p_value, 1.0 - 0.5 * std::erfc(z / std::sqrt(2.0)), 1e-15);
  // 14 values with a tie (13 < n <= 50): normal, with the tie correction:
  // |d| = 1..13 and another 13: ranks 1..12, 13.5, 13.5; one negative (rank 1).
  d = {-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 13};
  const double se = std::sqrt((14.0 * 15.0 * 29.0 - (8.0 - 2.0) / 2) / 24);
  const double z2 = (104.0 - 14.0 * 15.0 / 4) / se;
  r = Wilcoxon(d, A::kGreater);
  EXPECT_EQ(r.method, WilcoxonResult::Method::kAsymptotic);
  EXPECT_EQ(r.statistic, 104.0);
  EXPECT_NEAR(r.p_value, 0.5 * std::erfc(z2 / std::sqrt(2.0)), 1e-12 * r.p_value);
  r = Wilcoxon(d, A::kTwoSided);
  EXPECT_EQ(r.statistic, 1.0);
  EXPECT_NEAR(r.p_value, std::erfc(z2 / std::sqrt(2.0)), 1e-12 * r.p_value);
  // Nothing to test: NaN. A single zero (SciPy's permutation test raises): NaN too.
  EXPECT_TRUE(std::isnan(Wilcoxon({}, A::kGreater).p_value));
  EXPECT_TRUE(std::isnan(Wilcoxon({0.0}, A::kGreater).p_value));
  EXPECT_TRUE(std::isnan(Wilcoxon({1, kNaN, 2}, A::kGreater).p_value));
}

// Runs tools/optuna_reference/pruner_decisions.py on `input`; its output.
Json RunReference(const std::string& python, const Json& input, const std::string& name) {
  const std::string in_path = ::testing::TempDir() + "/" + name + "_in.json";
  const std::string out_path = ::testing::TempDir() + "/" + name + "_out.json";
  std::ofstream(in_path) << input.dump();
  const std::string cmd = "'" + python + "' " + MGR_SOURCE_DIR +
                          "/tools/optuna_reference/pruner_decisions.py < " + in_path + " > " +
                          out_path + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << cmd;
    return Json();
  }
  std::ifstream f(out_path);
  return Json::parse(f);
}

const char* AlternativeName(WilcoxonAlternative a) {
  return a == WilcoxonAlternative::kLess      ? "less"
         : a == WilcoxonAlternative::kGreater ? "greater"
                                              : "two-sided";
}

const char* MethodName(WilcoxonResult::Method m) {
  return m == WilcoxonResult::Method::kExact         ? "exact"
         : m == WilcoxonResult::Method::kPermutation ? "permutation"
                                                     : "asymptotic";
}

// WilcoxonSignedRankTest against scipy.stats.wilcoxon(d, zero_method="zsplit") of the
// Optuna 5 venv (SciPy 1.17) on random samples of 1 to 90 values: continuous, integers and
// halves (ties and zeros), mostly zeros, signed zeros, huge and infinite values, a NaN.
// Statistics equal; p-values equal bit for bit for the exact and permutation methods and
// within 1e-12 relative for the normal approximation (in fact bit for bit too). SciPy's
// permutation test takes ~0.1 ms per sign flip (2^n of them), so n = 11-13 are few.
TEST(WilcoxonTest, MatchesScipy) {
  const std::string python = testing_util::OptunaVenvPython("5.1.0");
  ASSERT_FALSE(python.empty()) << "tools/optuna_venv.sh failed (PyPI reachable?)";
  std::mt19937_64 rng(20261215);
  std::uniform_int_distribution<int> percent(0, 99), kind(0, 6);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<int> sizes;  // n of each case
  auto add = [&](int n, int count) { sizes.insert(sizes.end(), count, n); };
  for (int n = 1; n <= 8; ++n) add(n, 40);
  for (int n : {9, 10}) add(n, 20);
  for (int n : {11, 12, 13}) add(n, 4);
  for (int n : {14, 15, 20, 25, 30, 40, 48, 49, 50, 51, 52, 60, 75, 90}) add(n, 25);
  struct Case {
    std::vector<double> d;
    WilcoxonAlternative alternative;
  };
  std::vector<Case> cases;
  Json input = {{"wilcoxon", Json::array()}};
  for (size_t k = 0; k < sizes.size(); ++k) {
    Case c;
    const int n = sizes[k];
    const int how = kind(rng);
    const double shift = 0.8 * normal(rng);
    for (int i = 0; i < n; ++i) {
      double v = normal(rng) + shift;
      if (how == 1) v = std::round(2 * v);            // integers: ties and zeros
      if (how == 2) v = std::round(4 * v) / 2;        // halves
      if (how == 3) v = percent(rng) < 70 ? 0.0 : v;  // mostly zeros
      if (how == 4 && percent(rng) < 20) v = percent(rng) < 50 ? 0.0 : -0.0;
      if (how == 5) v *= 1e300;
      if (how == 6 && percent(rng) < 10) v = percent(rng) < 50 ? kInf : -kInf;
      c.d.push_back(v);
    }
    if (k % 97 == 5) c.d[0] = kNaN;
    if (n == 1 && c.d[0] == 0) c.d[0] = 0.5;  // SciPy raises: no permutation of one value
    c.alternative = static_cast<WilcoxonAlternative>(k % 3);
    Json d = Json::array();
    for (double v : c.d) d.push_back(ValueJson(v));
    input["wilcoxon"].push_back({{"d", d}, {"alternative", AlternativeName(c.alternative)}});
    cases.push_back(std::move(c));
  }
  const Json out = RunReference(python, input, "wilcoxon_scipy");
  ASSERT_TRUE(out.contains("wilcoxon"));
  ASSERT_EQ(out["wilcoxon"].size(), cases.size());
  auto number = [](const Json& j) {
    return j.is_string() ? std::stod(j.get<std::string>()) : j.get<double>();
  };
  std::map<std::string, int> by_method;
  int bit_exact = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    const WilcoxonResult got = WilcoxonSignedRankTest(c.d, c.alternative);
    const double statistic = number(out["wilcoxon"][k][0]);
    const double p = number(out["wilcoxon"][k][1]);
    std::ostringstream what;
    what << "case " << k << " (" << AlternativeName(c.alternative) << ", n " << c.d.size() << ", "
         << MethodName(got.method) << "): d =";
    for (double v : c.d) what << " " << JsonNumber(v);
    if (std::isnan(p)) {
      EXPECT_TRUE(std::isnan(got.p_value) && std::isnan(got.statistic)) << what.str();
      continue;
    }
    ++by_method[MethodName(got.method)];
    EXPECT_EQ(got.statistic, statistic) << what.str();
    if (got.method == WilcoxonResult::Method::kAsymptotic) {
      EXPECT_NEAR(got.p_value, p, 1e-12 * p) << what.str();
    } else {
      EXPECT_EQ(got.p_value, p) << what.str();
    }
    bit_exact += got.p_value == p;
  }
  for (const char* m : {"exact", "permutation", "asymptotic"}) {
    EXPECT_GT(by_method[m], 100) << m;
  }
  // Cephes' ndtr as SciPy's: the normal approximation's p-values come out bit for bit too.
  EXPECT_EQ(bit_exact, by_method["exact"] + by_method["permutation"] + by_method["asymptotic"]);
}

WilcoxonPruner MakeWilcoxon(double p_threshold = 0.1, int64_t n_startup_steps = 2) {
  WilcoxonPrunerOptions o;
  o.p_threshold = p_threshold;
  o.n_startup_steps = n_startup_steps;
  return WilcoxonPruner(o);
}

TEST(WilcoxonPrunerTest, HandComputedDecisions) {
  const WilcoxonPruner pruner = MakeWilcoxon();
  // Trial 0 is the best (value 1): 1 at steps 0-3. Trial 1 is worse; trial 2 is not COMPLETE.
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kComplete, 1.0, {}, {{0, 1}, {1, 1}, {2, 1}, {3, 1}}),
      MakeTrial(1, TrialState::kComplete, 2.0, {}, {{0, 9}, {1, 9}, {2, 9}, {3, 9}}),
      MakeTrial(2, TrialState::kPruned, 0.0, {}, {{0, 9}, {1, 9}, {2, 9}, {3, 9}})};
  trials[2].values = {0.0};
  StudyView view{{StudyDirection::kMinimize}, trials};
  // d = 1, 2, 3, 4 in report order: p = 1/4 (2 steps), 1/8 (3), 1/16 (4) < 0.1.
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 2}})));
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 2}, {1, 3}})));
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 2}, {1, 3}, {2, 4}})));
  EXPECT_TRUE(pruner.Prune(view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}})));
  // A step the best trial lacks (7) is left out of the test.
  EXPECT_TRUE(pruner.Prune(view, Running({{3, 2}, {7, 0}, {1, 3}, {0, 4}, {2, 5}})));
  EXPECT_FALSE(pruner.Prune(view, Running({{7, 2}, {8, 3}, {9, 4}, {3, 5}})));
  // Better than the best at every step: kept.
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 0}, {1, 0}, {2, 0}, {3, 0}})));
  // n_startup_steps 5 and p_threshold 0.05 keep it.
  EXPECT_FALSE(MakeWilcoxon(0.1, 5).Prune(view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}})));
  EXPECT_FALSE(MakeWilcoxon(0.05).Prune(view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}})));
  // p_threshold 0.2 prunes at 3 steps (1/8), 0.3 at 2 (1/4); n_startup_steps 0 and 1 still
  // wait for 2 steps.
  EXPECT_TRUE(MakeWilcoxon(0.2).Prune(view, Running({{0, 2}, {1, 3}, {2, 4}})));
  EXPECT_TRUE(MakeWilcoxon(0.3, 0).Prune(view, Running({{0, 2}, {1, 3}})));
  EXPECT_FALSE(MakeWilcoxon(1.0, 0).Prune(view, Running({{0, 2}})));
  EXPECT_FALSE(MakeWilcoxon(1.0, 1).Prune(view, Running({{0, 2}})));
  // A NaN or infinite report anywhere in the trial or in the best trial: never pruned.
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}, {9, kNaN}})));
  EXPECT_FALSE(pruner.Prune(view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}, {9, kInf}})));
  std::vector<FrozenTrial> bad_best = trials;
  bad_best[0].intermediate_values[9] = -kInf;
  StudyView bad_view{{StudyDirection::kMinimize}, bad_best};
  EXPECT_FALSE(pruner.Prune(bad_view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}})));
  // The best trial without reports, or no COMPLETE trial: never pruned.
  bad_best[0].intermediate_values.clear();
  EXPECT_FALSE(pruner.Prune(bad_view, Running({{0, 2}, {1, 3}, {2, 4}, {3, 5}})));
  std::vector<FrozenTrial> none = {trials[2]};
  StudyView none_view{{StudyDirection::kMinimize}, none};
  EXPECT_FALSE(pruner.Prune(none_view, Running({{0, 20}, {1, 30}, {2, 40}, {3, 50}})));
  // Maximising: the best is trial 1 (value 2, reports 9); values below it are worse.
  StudyView max_view{{StudyDirection::kMaximize}, trials};
  EXPECT_TRUE(pruner.Prune(max_view, Running({{0, 8}, {1, 7}, {2, 6}, {3, 5}})));
  EXPECT_FALSE(pruner.Prune(max_view, Running({{0, 10}, {1, 11}, {2, 12}, {3, 13}})));
}

TEST(WilcoxonPrunerTest, BestTrialIsTheFirstWithTheBestValue) {
  const WilcoxonPruner pruner = MakeWilcoxon();
  // Trials 0 and 1 share the best value; trial 0 (reports 0) is the best, not trial 1 (10).
  std::vector<FrozenTrial> trials = {
      MakeTrial(0, TrialState::kComplete, 1.0, {}, {{0, 0}, {1, 0}, {2, 0}, {3, 0}}),
      MakeTrial(1, TrialState::kComplete, 1.0, {}, {{0, 10}, {1, 10}, {2, 10}, {3, 10}})};
  StudyView view{{StudyDirection::kMinimize}, trials};
  EXPECT_TRUE(pruner.Prune(view, Running({{0, 1}, {1, 2}, {2, 3}, {3, 4}})));
  std::swap(trials[0].intermediate_values, trials[1].intermediate_values);
  StudyView swapped{{StudyDirection::kMinimize}, trials};
  EXPECT_FALSE(pruner.Prune(swapped, Running({{0, 1}, {1, 2}, {2, 3}, {3, 4}})));
}

TEST(WilcoxonPrunerTest, KeptWhenItsMeanIsNotWorse) {
  // d = 1..6 and -7 or -100 (ranks 1..6 positive, 7 negative): r+ = 21 of 28, p = P(r+ >=
  // 21) = 19/128 ~ 0.148 < 0.2. With -7 the trial's mean is worse (pruned); with -100 it is
  // better, and Optuna keeps it.
  const WilcoxonPruner pruner = MakeWilcoxon(0.2);
  std::map<int64_t, double> zeros;
  for (int64_t s = 0; s < 7; ++s) zeros[s] = 0.0;
  std::vector<FrozenTrial> trials = {Complete(0, zeros)};
  StudyView view{{StudyDirection::kMinimize}, trials};
  std::map<int64_t, double> curve = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, -7}};
  EXPECT_TRUE(pruner.Prune(view, Running(curve)));
  EXPECT_FALSE(MakeWilcoxon(0.1).Prune(view, Running(curve)));
  curve[6] = -100;
  EXPECT_FALSE(pruner.Prune(view, Running(curve)));
  // The means cover every report: a far better value at a step the best trial lacks keeps
  // the trial too.
  curve[6] = -7;
  curve[50] = -1000;
  EXPECT_FALSE(pruner.Prune(view, Running(curve)));
}

// WilcoxonPruner against Optuna 5.1's, on random studies of problem instances: each
// instance (a step: 0.., or strided, offset) has a difficulty; trials report some or all
// instances (the candidate in a shuffled order, as Optuna's docs advise), values continuous,
// integer (ties and zeros everywhere), copies of the best trial's (zeros), or heavy-tailed
// (worse at most instances, far better at a few: the mean check). Up to 75 common steps, so
// the exact (n <= 50, no ties), permutation (n <= 13, ties) and normal paths all decide.
// NaN / inf reports, trials without reports, tied best values, PRUNED / FAIL / RUNNING
// trials and random p_threshold / n_startup_steps. Every decision must equal Optuna's.
TEST(PrunerParityTest, WilcoxonDecidesAsOptuna5) {
  const std::string python = testing_util::OptunaVenvPython("5.1.0");
  ASSERT_FALSE(python.empty()) << "tools/optuna_venv.sh failed (PyPI reachable?)";
  std::mt19937_64 rng(20261216);
  auto pick = [&](const std::vector<double>& choices) {
    return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
  };
  std::uniform_int_distribution<int> percent(0, 99), n_trials(0, 5);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<Scenario> scenarios;
  std::vector<Json> configs;
  for (int k = 0; k < 400; ++k) {
    Scenario sc;
    sc.direction = k % 4 < 2 ? StudyDirection::kMinimize : StudyDirection::kMaximize;
    const double sign = sc.direction == StudyDirection::kMinimize ? 1.0 : -1.0;
    Json config = {{"type", "wilcoxon"}};
    const double p_threshold = pick({-1, -1, 0.05, 0.2, 0.3, 0.5, 0.01, 0.0, 1.0});
    if (p_threshold >= 0) config["p_threshold"] = p_threshold;
    double startup = pick({-1, -1, 0, 1, 3, 6, 15});
    const int kind = k % 5;  // 0 continuous, 1 integer, 2 halves, 3 copies, 4 heavy tail
    int n_instances = static_cast<int>(pick({3, 6, 10, 16, 30, 55, 75}));
    if (kind >= 1 && kind <= 3) {
      // Ties and zeros: SciPy's permutation test (n <= 13) takes ~0.1 ms per sign flip, 2^n
      // of them. Most such studies stay at n <= 8 or start at n = 14 (n_startup_steps);
      // a few run it up to n = 13.
      n_instances = static_cast<int>(pick({3, 5, 6, 8, 8, 20, 30, 60}));
      if (n_instances > 8) startup = pick({14, 20});
      if (k % 100 == 3) {
        n_instances = 13;
        startup = -1;
      }
    }
    if (startup >= 0) config["n_startup_steps"] = static_cast<int64_t>(startup);
    const int64_t stride = static_cast<int64_t>(pick({1, 1, 1, 3}));
    const int64_t offset = static_cast<int64_t>(pick({0, 0, 5}));
    auto quantize = [&](double v) {
      if (kind == 1) return std::round(v);
      if (kind == 2) return std::round(2 * v) / 2;
      return v;
    };
    std::vector<double> difficulty;
    for (int i = 0; i < n_instances; ++i) difficulty.push_back(quantize(2 * normal(rng)));
    // Reports of a trial of quality q at a random subset (most often all) of the instances.
    auto reports = [&](double q, double noise, bool all) {
      std::vector<std::pair<int64_t, double>> out;
      for (int i = 0; i < n_instances; ++i) {
        if (!all && percent(rng) < 30) continue;
        double v = quantize(difficulty[i] + q + noise * normal(rng));
        if (kind == 4 && percent(rng) < 10) v -= sign * 8.0;
        out.emplace_back(offset + stride * i, v);
      }
      const int c = percent(rng);
      if (!out.empty() && c < 4) {
        out[std::uniform_int_distribution<size_t>(0, out.size() - 1)(rng)].second =
            c < 2 ? kNaN : (c < 3 ? kInf : -kInf);
      }
      return out;
    };
    const int nt = n_trials(rng);
    std::vector<double> quality;
    for (int t = 0; t < nt; ++t) {
      quality.push_back(quantize(normal(rng)));
      const int s = percent(rng);
      const TrialState state = s < 75   ? TrialState::kComplete
                               : s < 85 ? TrialState::kPruned
                               : s < 95 ? TrialState::kFail
                                        : TrialState::kRunning;
      std::map<int64_t, double> curve;
      if (percent(rng) >= 5) {
        for (auto& [step, v] : reports(quality.back(), 0.5, percent(rng) < 80)) {
          curve[step] = v;
        }
      }
      // The objective value: the reports' mean, rounded so that trials tie now and then.
      double sum = 0.0;
      for (auto& [step, v] : curve) sum += std::isfinite(v) ? v : 0.0;
      const double value = std::round(2 * sum / std::max<size_t>(curve.size(), 1)) / 2;
      sc.trials.push_back(MakeTrial(t, state, value, {}, curve));
    }
    // The candidate: better or worse than the best by a random shift, or a copy of the
    // best trial's reports (kind 3) with a few changed.
    const FrozenTrial* best = nullptr;
    double best_quality = 0.0;
    for (size_t t = 0; t < sc.trials.size(); ++t) {
      const FrozenTrial& trial = sc.trials[t];
      if (trial.state == TrialState::kComplete &&
          (!best || sign * trial.values[0] < sign * best->values[0])) {
        best = &trial;
        best_quality = quality[t];
      }
    }
    std::vector<std::pair<int64_t, double>> candidate;
    if (kind == 3 && best != nullptr && percent(rng) < 80) {
      for (auto& [step, v] : best->intermediate_values) {
        const int c = percent(rng);
        candidate.emplace_back(step, c < 70 ? v : v + sign * (c < 90 ? 1.0 : -1.0));
      }
    } else {
      const double q = best_quality + 0.6 * normal(rng) + sign * 0.3;
      candidate = reports(q, 1.0, percent(rng) < 75);
    }
    std::shuffle(candidate.begin(), candidate.end(), rng);
    sc.candidate = candidate;
    scenarios.push_back(std::move(sc));
    configs.push_back(config);
  }
  Json doc = Json::parse(ScenariosToJson(scenarios));
  for (size_t k = 0; k < scenarios.size(); ++k) doc["scenarios"][k]["config"] = configs[k];
  const Json out = RunReference(python, doc, "wilcoxon_parity");
  ASSERT_TRUE(out.contains("decisions"));
  const Json& decisions = out["decisions"];
  ASSERT_EQ(decisions.size(), scenarios.size());
  // What each check exercised, from the same inputs (the pruner's rule as documented):
  // the p-value's method and the decision, and the mean check.
  std::map<std::string, std::pair<int, int>> pruned_checked;
  int kept_by_mean = 0, mismatches = 0;
  for (size_t k = 0; k < scenarios.size() && mismatches < 20; ++k) {
    const Scenario& sc = scenarios[k];
    auto pruner = MakePruner(configs[k]);
    ASSERT_TRUE(pruner.ok()) << configs[k].dump() << ": " << pruner.status().ToString();
    const bool maximize = sc.direction == StudyDirection::kMaximize;
    const FrozenTrial* best = nullptr;
    for (const FrozenTrial& t : sc.trials) {
      if (t.state == TrialState::kComplete &&
          (!best || (maximize ? t.values[0] > best->values[0] : t.values[0] < best->values[0]))) {
        best = &t;
      }
    }
    StudyView view{{sc.direction}, sc.trials};
    FrozenTrial running = MakeTrial(1000, TrialState::kRunning, 0, {}, {});
    ASSERT_EQ(decisions[k].size(), sc.candidate.size());
    for (size_t c = 0; c < sc.candidate.size(); ++c) {
      running.intermediate_values[sc.candidate[c].first] = sc.candidate[c].second;
      const bool expected = decisions[k][c].get<bool>();
      const bool got = (*pruner)->Prune(view, running);
      if (got != expected) ++mismatches;
      EXPECT_EQ(got, expected) << "scenario " << k << " " << configs[k].dump() << " after report "
                               << c << " (step " << sc.candidate[c].first << ")";
      auto finite = [](const FrozenTrial& t) {
        return std::all_of(t.intermediate_values.begin(), t.intermediate_values.end(),
                           [](const auto& sv) { return std::isfinite(sv.second); });
      };
      std::string what = "no test";
      if (best != nullptr && finite(*best) && finite(running)) {
        std::vector<double> d;
        for (auto& [step, v] : running.intermediate_values) {
          auto it = best->intermediate_values.find(step);
          if (it != best->intermediate_values.end()) d.push_back(v - it->second);
        }
        if (d.size() >= 2) {
          const WilcoxonResult r = WilcoxonSignedRankTest(
              d, maximize ? WilcoxonAlternative::kLess : WilcoxonAlternative::kGreater);
          what = MethodName(r.method);
          if (!expected && r.p_value < configs[k].value("p_threshold", 0.1) &&
              static_cast<int64_t>(d.size()) >= configs[k].value("n_startup_steps", 2)) {
            ++kept_by_mean;
          }
        }
      }
      pruned_checked[what].first += expected;
      ++pruned_checked[what].second;
    }
  }
  for (const char* m : {"exact", "permutation", "asymptotic"}) {
    EXPECT_GT(pruned_checked[m].first, 20) << m << ": few prunes, the comparison proves little";
    EXPECT_GT(pruned_checked[m].second - pruned_checked[m].first, 20) << m << ": few keeps";
  }
  EXPECT_GT(kept_by_mean, 5) << "the mean check was hardly exercised";
  for (const auto& [what, counts] : pruned_checked) {
    std::printf("wilcoxon parity: %s: %d pruned of %d checks\n", what.c_str(), counts.first,
                counts.second);
  }
  std::printf("wilcoxon parity: %d kept by the mean check\n", kept_by_mean);
}

TEST(MakePrunerTest, WilcoxonOptionsAreChecked) {
  auto error = [](const Json& c) {
    auto p = MakePruner(c);
    return p.ok() ? std::string("ok") : p.status().message();
  };
  EXPECT_EQ(error({{"type", "wilcoxon"}}), "ok");
  EXPECT_EQ(error({{"type", "wilcoxon"}, {"p_threshold", 0}, {"n_startup_steps", 0}}), "ok");
  EXPECT_EQ(error({{"type", "wilcoxon"}, {"p_threshold", 1.5}}),
            "pruner.p_threshold: must be in [0, 1] (got 1.5)");
  EXPECT_EQ(error({{"type", "wilcoxon"}, {"p_threshold", "0.1"}}),
            "pruner.p_threshold: must be a number (got \"0.1\")");
  EXPECT_EQ(error({{"type", "wilcoxon"}, {"n_startup_steps", -1}}),
            "pruner.n_startup_steps: must be >= 0 (got -1)");
  EXPECT_EQ(error({{"type", "wilcoxon"}, {"n_startup_steps", 2.5}}),
            "pruner.n_startup_steps: must be an integer (got 2.5)");
  EXPECT_EQ(error({{"type", "wilcoxon"}, {"n_warmup_steps", 2}})
                .rfind("pruner.n_warmup_steps: unknown key", 0),
            0u);
  auto made = MakePruner({{"type", "wilcoxon"}, {"p_threshold", 0.05}, {"n_startup_steps", 4}});
  ASSERT_TRUE(made.ok());
  const auto* w = dynamic_cast<const WilcoxonPruner*>(made->get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->Name(), "WilcoxonPruner");
  EXPECT_EQ(w->options().p_threshold, 0.05);
  EXPECT_EQ(w->options().n_startup_steps, 4);
  auto made_default = MakePruner({{"type", "wilcoxon"}});
  ASSERT_TRUE(made_default.ok());
  const auto* d = dynamic_cast<const WilcoxonPruner*>(made_default->get());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->options().p_threshold, 0.1);
  EXPECT_EQ(d->options().n_startup_steps, 2);
}

}  // namespace
}  // namespace mgr
