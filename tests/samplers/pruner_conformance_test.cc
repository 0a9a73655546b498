// One suite run over every pruner configuration MakePruner builds: the contract of
// samplers/pruner.h and samplers/pruners.h that every pruner keeps, whatever its rule.
// - no decision without an intermediate value, before n_startup_trials COMPLETE trials or
//   during the n_warmup_steps;
// - only COMPLETE trials count: RUNNING, WAITING, PRUNED and FAIL trials change nothing;
// - a trial at least as good as every COMPLETE trial at its step is never pruned;
// - maximising mirrors minimising the negated values;
// - stateless: the same study and trial give the same answer, from any instance or thread;
// - NaN and infinite values are decided without crashing (the sanitizer build checks UB);
// - a pruner that prunes at all prunes a trial far worse than every COMPLETE trial.
// The ranking properties (startup, as good as every COMPLETE trial, only COMPLETE trials
// count, mirroring, far worse) hold for pruners that rank (median, percentile) or compare
// with the best COMPLETE trial (wilcoxon, which needs several reports to prune); the
// threshold and patient pruners judge a trial by its own values, and successive halving and
// hyperband rank it among the rung values trials recorded (none here), so they skip them.
// Each check is asked of a fresh study: what a pruner records through
// set_trial_system_attr goes to a store that is then dropped.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "samplers/pruner.h"
#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::MakeTrial;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

struct Config {
  std::string name;
  Json json;
  int64_t startup;   // COMPLETE trials needed before any pruning (at least 1)
  int64_t warmup;    // steps never pruned
  int64_t interval;  // pruning points are warmup + k * interval
  bool prunes;       // false: never prunes (NopPruner)
  // Ranks the trial among the COMPLETE ones (median, percentile) or against the best one
  // (wilcoxon). Absolute rules (threshold, patient: the trial's own values only) skip the
  // ranking properties.
  bool relative = true;
  // Reports (steps 0, 1, ...) after which a trial far worse than every COMPLETE trial at
  // each is surely pruned: 1 for a single value's rule; a test needs more.
  int64_t reports_to_prune = 1;
};

// Failure messages name the config, not its bytes.
void PrintTo(const Config& c, std::ostream* os) { *os << c.name; }

std::vector<Config> Configs() {
  return {
      {"nop", {{"type", "nop"}}, 1, 0, 1, false},
      {"median", {{"type", "median"}}, 5, 0, 1, true},
      {"median_warmup_interval",
       {{"type", "median"}, {"n_startup_trials", 2}, {"n_warmup_steps", 3}, {"interval_steps", 2}},
       2,
       3,
       2,
       true},
      {"median_no_startup", {{"type", "median"}, {"n_startup_trials", 0}}, 1, 0, 1, true},
      {"percentile_25",
       {{"type", "percentile"}, {"percentile", 25}, {"n_startup_trials", 3}},
       3,
       0,
       1,
       true},
      {"percentile_0_min_trials",
       {{"type", "percentile"}, {"percentile", 0}, {"n_startup_trials", 1}, {"n_min_trials", 3}},
       3,  // n_min_trials: fewer COMPLETE trials at a step never prune either
       0,
       1,
       true},
      {"percentile_100",
       {{"type", "percentile"}, {"percentile", 100}, {"n_warmup_steps", 2}},
       5,
       2,
       1,
       true},
      {"threshold",
       {{"type", "threshold"}, {"lower", -1.0}, {"upper", 10.0}, {"n_warmup_steps", 2}},
       1,
       2,
       1,
       true,
       false},
      {"patient", {{"type", "patient"}, {"patience", 2}}, 1, 0, 1, true, false},
      {"patient_median",
       {{"type", "patient"}, {"patience", 1}, {"wrapped", {{"type", "median"}}}},
       5,
       0,
       1,
       true,
       false},
      // Warm-up: rung 0 ends at min_resource * reduction_factor^min_early_stopping_rate.
      {"successive_halving",
       {{"type", "successive_halving"}, {"min_resource", 2}, {"reduction_factor", 2}},
       1,
       2,
       1,
       true,
       false},
      // "auto": the History curves end before step 100, so min_resource is 1; 1 * 3^1.
      {"successive_halving_auto",
       {{"type", "successive_halving"}, {"reduction_factor", 3}, {"min_early_stopping_rate", 1}},
       1,
       3,
       1,
       true,
       false},
      {"successive_halving_bootstrap",
       {{"type", "successive_halving"}, {"min_resource", 1}, {"bootstrap_count", 2}},
       1,
       1,
       1,
       true,
       false},
      // Bracket b's rung 0 ends at min_resource * reduction_factor^b >= min_resource.
      {"hyperband",
       {{"type", "hyperband"}, {"min_resource", 2}, {"max_resource", 20}},
       1,
       2,
       1,
       true,
       false},
      {"hyperband_auto", {{"type", "hyperband"}}, 1, 1, 1, true, false},
      // Never decides on fewer than max(2, n_startup_steps) steps common with the best trial
      // (steps 0 .. that - 2 are the warm-up); a trial worse at all of n steps has p = 2^-n,
      // below 0.1 from 4 steps on.
      {"wilcoxon", {{"type", "wilcoxon"}}, 1, 1, 1, true, true, 4},
      {"wilcoxon_startup_p",
       {{"type", "wilcoxon"}, {"n_startup_steps", 5}, {"p_threshold", 0.3}},
       1,
       4,
       1,
       true,
       true,
       5},
  };
}

std::unique_ptr<Pruner> Make(const Config& c) {
  auto p = MakePruner(c.json);
  EXPECT_TRUE(p.ok()) << c.name << ": " << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

// A learning curve of `steps` reports, each in [low, high).
std::map<int64_t, double> Curve(std::mt19937_64& rng, int64_t steps, double low, double high) {
  std::uniform_real_distribution<double> u(low, high);
  std::map<int64_t, double> curve;
  for (int64_t s = 0; s < steps; ++s) curve[s] = u(rng);
  return curve;
}

// A study's trials: `complete` COMPLETE trials with curves in [0, 1) over `steps` steps.
std::vector<FrozenTrial> History(std::mt19937_64& rng, int complete, int64_t steps) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < complete; ++i) {
    auto curve = Curve(rng, steps, 0.0, 1.0);
    trials.push_back(MakeTrial(i, TrialState::kComplete, curve.rbegin()->second, {}, curve));
  }
  return trials;
}

// Asks `pruner` about `curve` the way the study API does: the trial is RUNNING and is the
// last of the study's trials.
bool Decide(const Pruner& pruner, std::vector<FrozenTrial> trials,
            const std::map<int64_t, double>& curve,
            StudyDirection direction = StudyDirection::kMinimize) {
  const int64_t number = static_cast<int64_t>(trials.size());
  trials.push_back(MakeTrial(number, TrialState::kRunning, 0.0, {}, curve));
  StudyView view{{direction}, trials};
  view.set_trial_system_attr = [](int64_t, const std::string&, const Json&) {};
  return pruner.Prune(view, trials.back());
}

// The first step >= `step` that is a pruning point of `c` (a trial reporting only that
// step is checked there).
int64_t CheckedStep(const Config& c, int64_t step) {
  step = std::max(step, c.warmup);
  return c.warmup + (step - c.warmup + c.interval - 1) / c.interval * c.interval;
}

class PrunerConformanceTest : public ::testing::TestWithParam<Config> {};

TEST_P(PrunerConformanceTest, BuildsAndHasAName) {
  auto pruner = Make(GetParam());
  ASSERT_NE(pruner, nullptr);
  EXPECT_FALSE(pruner->Name().empty());
}

TEST_P(PrunerConformanceTest, NeverPrunesATrialWithoutIntermediateValues) {
  auto pruner = Make(GetParam());
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(1);
  auto trials = History(rng, 20, 10);
  for (auto direction : {StudyDirection::kMinimize, StudyDirection::kMaximize}) {
    EXPECT_FALSE(Decide(*pruner, trials, {}, direction));
  }
}

TEST_P(PrunerConformanceTest, NeverPrunesBeforeStartupTrialsComplete) {
  const Config& c = GetParam();
  if (!c.relative) GTEST_SKIP() << "absolute rule: no ranking among trials";
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(2);
  const int64_t step = CheckedStep(c, 0);
  for (int64_t complete = 0; complete < c.startup; ++complete) {
    auto trials = History(rng, static_cast<int>(complete), step + 1);
    // Finished trials that are not COMPLETE do not count towards the startup.
    for (TrialState s :
         {TrialState::kPruned, TrialState::kFail, TrialState::kRunning, TrialState::kWaiting}) {
      const int64_t n = static_cast<int64_t>(trials.size());
      trials.push_back(MakeTrial(n, s, 0.0, {}, Curve(rng, step + 1, 0.0, 1.0)));
    }
    EXPECT_FALSE(Decide(*pruner, trials, {{step, 1e9}})) << complete << " complete";
    EXPECT_FALSE(Decide(*pruner, trials, {{step, -1e9}}, StudyDirection::kMaximize));
  }
}

TEST_P(PrunerConformanceTest, NeverPrunesDuringWarmup) {
  const Config& c = GetParam();
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(3);
  auto trials = History(rng, static_cast<int>(c.startup) + 10, c.warmup + 5);
  std::map<int64_t, double> curve;
  for (int64_t s = 0; s < c.warmup; ++s) {
    curve[s] = 1e9;
    EXPECT_FALSE(Decide(*pruner, trials, curve)) << "step " << s;
    EXPECT_FALSE(Decide(*pruner, trials, {{s, kNaN}})) << "step " << s;
  }
}

TEST_P(PrunerConformanceTest, PrunesATrialFarWorseThanEveryCompleteTrial) {
  const Config& c = GetParam();
  if (!c.relative) GTEST_SKIP() << "absolute rule: no ranking among trials";
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(4);
  // Reports at the reports_to_prune steps up to a checked step.
  const int64_t step = CheckedStep(c, std::max<int64_t>(1, c.reports_to_prune - 1));
  auto trials = History(rng, static_cast<int>(c.startup), step + 3);
  std::map<int64_t, double> worst_min, worst_max;
  for (int64_t s = step - c.reports_to_prune + 1; s <= step; ++s) {
    worst_min[s] = 1e9;
    worst_max[s] = -1e9;
  }
  EXPECT_EQ(Decide(*pruner, trials, worst_min), c.prunes);
  EXPECT_EQ(Decide(*pruner, trials, worst_max, StudyDirection::kMaximize), c.prunes);
  // The same values are the best there are the other way round.
  EXPECT_FALSE(Decide(*pruner, trials, worst_min, StudyDirection::kMaximize));
  EXPECT_FALSE(Decide(*pruner, trials, worst_max));
}

TEST_P(PrunerConformanceTest, NeverPrunesATrialAsGoodAsEveryCompleteTrial) {
  const Config& c = GetParam();
  if (!c.relative) GTEST_SKIP() << "absolute rule: no ranking among trials";
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(5);
  const int64_t steps = c.warmup + 3 * c.interval + 2;
  for (int round = 0; round < 30; ++round) {
    auto trials = History(rng, static_cast<int>(c.startup) + round % 7, steps);
    // Ties count as good: the trial reports the best COMPLETE value at each step.
    std::map<int64_t, double> best_min, best_max;
    for (int64_t s = 0; s < steps; ++s) {
      best_min[s] = kInf;
      best_max[s] = -kInf;
      for (const auto& t : trials) {
        best_min[s] = std::min(best_min[s], t.intermediate_values.at(s));
        best_max[s] = std::max(best_max[s], t.intermediate_values.at(s));
      }
    }
    std::map<int64_t, double> min_curve, max_curve;
    for (int64_t s = 0; s < steps; ++s) {
      min_curve[s] = best_min[s];
      max_curve[s] = best_max[s];
      EXPECT_FALSE(Decide(*pruner, trials, min_curve)) << "round " << round << " step " << s;
      EXPECT_FALSE(Decide(*pruner, trials, max_curve, StudyDirection::kMaximize))
          << "round " << round << " step " << s;
    }
  }
}

// Random studies and trials: only COMPLETE trials may change a decision.
TEST_P(PrunerConformanceTest, OnlyCompleteTrialsCount) {
  const Config& c = GetParam();
  if (!c.relative) GTEST_SKIP() << "absolute rule: no ranking among trials";
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(6);
  const int64_t steps = c.warmup + 4 * c.interval + 2;
  std::uniform_int_distribution<int> len(1, static_cast<int>(steps));
  for (int round = 0; round < 40; ++round) {
    auto complete = History(rng, static_cast<int>(c.startup) + round % 5, steps);
    std::vector<FrozenTrial> noisy;
    for (const auto& t : complete) {
      noisy.push_back(t);
      for (TrialState s :
           {TrialState::kPruned, TrialState::kFail, TrialState::kRunning, TrialState::kWaiting}) {
        auto curve = Curve(rng, len(rng), -2.0, 3.0);
        curve[0] = (round % 2) ? kNaN : -kInf;
        noisy.push_back(MakeTrial(0, s, 0.0, {}, curve));
      }
    }
    for (size_t i = 0; i < noisy.size(); ++i) noisy[i].number = noisy[i].trial_id = i;
    auto curve = Curve(rng, len(rng), 0.0, 1.0);
    for (auto direction : {StudyDirection::kMinimize, StudyDirection::kMaximize}) {
      EXPECT_EQ(Decide(*pruner, complete, curve, direction),
                Decide(*pruner, noisy, curve, direction))
          << "round " << round;
    }
  }
}

TEST_P(PrunerConformanceTest, MaximizingMirrorsMinimizingTheNegatedValues) {
  const Config& c = GetParam();
  if (!c.relative) GTEST_SKIP() << "absolute rule: no ranking among trials";
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(7);
  const int64_t steps = c.warmup + 4 * c.interval + 2;
  std::uniform_int_distribution<int> len(1, static_cast<int>(steps));
  int pruned = 0;
  for (int round = 0; round < 60; ++round) {
    auto trials = History(rng, static_cast<int>(c.startup) + round % 5, steps);
    auto curve = Curve(rng, len(rng), 0.0, 1.0);
    auto negated_trials = trials;
    for (auto& t : negated_trials) {
      for (auto& [s, v] : t.intermediate_values) v = -v;
      for (double& v : t.values) v = -v;  // the best trial stays the best
    }
    auto negated_curve = curve;
    for (auto& [s, v] : negated_curve) v = -v;
    const bool decision = Decide(*pruner, trials, curve);
    pruned += decision;
    EXPECT_EQ(decision, Decide(*pruner, negated_trials, negated_curve, StudyDirection::kMaximize))
        << "round " << round;
  }
  if (!c.prunes) {
    EXPECT_EQ(pruned, 0);
  }
}

TEST_P(PrunerConformanceTest, StatelessAndThreadSafe) {
  const Config& c = GetParam();
  auto pruner = Make(c);
  auto other = Make(c);
  ASSERT_NE(pruner, nullptr);
  ASSERT_NE(other, nullptr);
  std::mt19937_64 rng(8);
  const int64_t steps = c.warmup + 4 * c.interval + 2;
  std::uniform_int_distribution<int> len(1, static_cast<int>(steps));
  auto trials = History(rng, static_cast<int>(c.startup) + 4, steps);
  std::vector<std::map<int64_t, double>> curves;
  std::vector<bool> expected;
  for (int i = 0; i < 50; ++i) {
    curves.push_back(Curve(rng, len(rng), 0.0, 1.2));
    expected.push_back(Decide(*pruner, trials, curves.back()));
  }
  // Asking again, or asking a fresh instance, in any order gives the same answers.
  for (int i = 49; i >= 0; --i) {
    EXPECT_EQ(Decide(*pruner, trials, curves[i]), expected[i]) << i;
    EXPECT_EQ(Decide(*other, trials, curves[i]), expected[i]) << i;
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        for (size_t i = 0; i < curves.size(); ++i) {
          if (Decide(*pruner, trials, curves[i]) != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_P(PrunerConformanceTest, NaNAndInfinityAreDecidedWithoutCrashing) {
  const Config& c = GetParam();
  auto pruner = Make(c);
  ASSERT_NE(pruner, nullptr);
  std::mt19937_64 rng(9);
  const int64_t steps = c.warmup + 2 * c.interval + 2;
  auto trials = History(rng, static_cast<int>(c.startup) + 3, steps);
  trials[0].intermediate_values[CheckedStep(c, 0)] = kNaN;
  trials[1].intermediate_values[CheckedStep(c, 0)] = kInf;
  for (auto& [s, v] : trials[2].intermediate_values) v = kNaN;
  for (double bad : {kNaN, kInf, -kInf}) {
    for (auto direction : {StudyDirection::kMinimize, StudyDirection::kMaximize}) {
      for (int64_t s = 0; s < steps; ++s) {
        std::map<int64_t, double> curve = Curve(rng, s, 0.0, 1.0);
        curve[s] = bad;
        (void)Decide(*pruner, trials, curve, direction);
        (void)Decide(*pruner, trials, {{s, bad}}, direction);
      }
    }
  }
  // A trial at the best end of the scale is still kept when COMPLETE trials report NaN
  // and inf (a threshold's range has no best end).
  if (!c.relative) return;
  const int64_t step = CheckedStep(c, 0);
  EXPECT_FALSE(Decide(*pruner, trials, {{step, -kInf}}));
  EXPECT_FALSE(Decide(*pruner, trials, {{step, kInf}}, StudyDirection::kMaximize));
}

INSTANTIATE_TEST_SUITE_P(AllPruners, PrunerConformanceTest, ::testing::ValuesIn(Configs()),
                         [](const ::testing::TestParamInfo<Config>& info) {
                           return info.param.name;
                         });

// The suite must cover every pruner type MakePruner accepts: its error for an unknown type
// lists them all.
TEST(PrunerConformanceCoverageTest, EveryPrunerTypeHasAConfig) {
  auto r = MakePruner(Json{{"type", "no-such-pruner"}});
  ASSERT_FALSE(r.ok());
  const std::string message = r.status().message();
  std::set<std::string> covered;
  for (const Config& c : Configs()) covered.insert(c.json.at("type").get<std::string>());
  size_t listed = 0;
  for (size_t open = message.find('"'); open != std::string::npos;) {
    size_t close = message.find('"', open + 1);
    if (close == std::string::npos) break;
    const std::string type = message.substr(open + 1, close - open - 1);
    if (type == "no-such-pruner") break;  // the "(got ...)" part
    EXPECT_TRUE(covered.count(type)) << "no conformance config for pruner type " << type;
    ++listed;
    open = message.find('"', close + 1);
  }
  EXPECT_GE(listed, covered.size()) << message;
}

}  // namespace
}  // namespace mgr
