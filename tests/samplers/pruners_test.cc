// Pruner tests: hand-computed cases, then live parity checks against python3-optuna's
// MedianPruner / PercentilePruner (Debian's 3.1) and Optuna 5.1's ThresholdPruner /
// PatientPruner on randomised learning curves.
#include "samplers/pruners.h"

#include "samplers/pruner.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/samplers/test_util.h"

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
  bool median;
  StudyDirection direction;
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
  const std::string venv = std::string(MGR_BINARY_DIR) + "/optuna5-venv";
  ASSERT_EQ(std::system(("bash '" + std::string(MGR_SOURCE_DIR) + "/tools/optuna_venv.sh' '" +
                         venv + "' 5.1.0 >/dev/null 2>&1")
                            .c_str()),
            0)
      << "tools/optuna_venv.sh " << venv << " 5.1.0 failed (PyPI reachable?)";
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
  const std::string cmd = "'" + venv + "/bin/python' " + MGR_SOURCE_DIR +
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

}  // namespace
}  // namespace mgr
