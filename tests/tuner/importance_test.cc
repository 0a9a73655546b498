#include "tuner/importance.h"

#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/distribution.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::Shell;
using testing_util::TempDir;

// A study where the parameters matter in a clear order: a (weight 8) > b (4, log scale)
// > c (2, an int) > d (a categorical that does not matter).
std::vector<FrozenTrial> SyntheticTrials(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const Distribution a = *MakeFloatDistribution("a", 0, 1);
  const Distribution b = *MakeFloatDistribution("b", 1e-3, 1, true);
  const Distribution c = *MakeIntDistribution("c", 0, 10);
  const Distribution d = *MakeCategoricalDistribution("d", {"x", "y", "z"});
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < n; ++i) {
    FrozenTrial t;
    t.number = i;
    t.state = TrialState::kComplete;
    const double av = u(rng), bv = std::pow(10.0, -3 + 3 * u(rng));
    const double cv = std::floor(u(rng) * 11), dv = std::floor(u(rng) * 3);
    t.params = {{"a", av}, {"b", bv}, {"c", cv}, {"d", dv}};
    t.distributions = {{"a", a}, {"b", b}, {"c", c}, {"d", d}};
    t.values = {8 * av + 4 * (std::log10(bv) + 3) / 3 + 2 * cv / 10};
    trials.push_back(std::move(t));
  }
  return trials;
}

std::map<std::string, Distribution> Distributions(const FrozenTrial& t) { return t.distributions; }

std::vector<std::string> Names(const std::vector<ParamImportance>& ranking) {
  std::vector<std::string> names;
  for (const auto& p : ranking) names.push_back(p.name);
  return names;
}

TEST(PedAnovaTest, RanksTheSyntheticStudyAsItWasMade) {
  auto trials = SyntheticTrials(300, 7);
  auto ranking = PedAnovaImportance(trials, StudyDirection::kMinimize, Distributions(trials[0]));
  EXPECT_THAT(Names(ranking), ::testing::ElementsAre("a", "b", "c", "d"));
  double total = 0;
  for (const auto& p : ranking) total += p.importance;
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_LT(ranking.back().importance, 0.05);
}

TEST(PedAnovaTest, DirectionMatters) {
  // Maximizing the same values: the best trials are the largest a; still a first.
  auto trials = SyntheticTrials(300, 8);
  auto ranking = PedAnovaImportance(trials, StudyDirection::kMaximize, Distributions(trials[0]));
  EXPECT_EQ(ranking[0].name, "a");
}

TEST(PedAnovaTest, DegenerateInputsScoreZero) {
  auto trials = SyntheticTrials(1, 9);
  auto ranking = PedAnovaImportance(trials, StudyDirection::kMinimize, Distributions(trials[0]));
  ASSERT_EQ(ranking.size(), 4u);
  for (const auto& p : ranking) EXPECT_EQ(p.importance, 0.0);
  // Trials that are not COMPLETE, or lack a parameter, are left out.
  trials = SyntheticTrials(50, 10);
  for (auto& t : trials) t.state = TrialState::kPruned;
  ranking = PedAnovaImportance(trials, StudyDirection::kMinimize, Distributions(trials[0]));
  for (const auto& p : ranking) EXPECT_EQ(p.importance, 0.0);
}

TEST(PedAnovaTest, AParameterInOnlySomeTrialsIsRankedOverThose) {
  // Like a per-layer parameter: c exists in every other trial only.
  auto trials = SyntheticTrials(400, 12);
  const auto distributions = Distributions(trials[0]);
  for (size_t i = 0; i < trials.size(); i += 2) {
    trials[i].params.erase("c");
    trials[i].distributions.erase("c");
  }
  auto ranking = PedAnovaImportance(trials, StudyDirection::kMinimize, distributions);
  EXPECT_THAT(Names(ranking), ::testing::ElementsAre("a", "b", "c", "d"));
}

// The reference: Optuna's own evaluator (Debian's python3-optuna 3.1 has fANOVA, which
// needs scikit-learn; PED-ANOVA came in 3.6) on the same trials, in the same distributions.
TEST(PedAnovaTest, RanksLikeOptunasFanova) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto trials = SyntheticTrials(300, 11);
  Json rows = Json::array();
  for (const FrozenTrial& t : trials) {
    Json params = Json::object(), dists = Json::object();
    for (const auto& [name, d] : t.distributions) {
      params[name] = ToExternal(d, t.params.at(name));
      dists[name] = DistributionToJsonString(d);
    }
    rows.push_back({{"params", params}, {"distributions", dists}, {"value", t.value()}});
  }
  testing_util::WriteFile(dir.path() + "/trials.json", rows.dump());
  const std::string script =
      "import json, sys, optuna\n"
      "from optuna.distributions import json_to_distribution\n"
      "from optuna.importance import FanovaImportanceEvaluator, get_param_importances\n"
      "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
      "study = optuna.create_study()\n"
      "for r in json.load(open(sys.argv[1])):\n"
      "    study.add_trial(optuna.trial.create_trial(params=r['params'], value=r['value'],\n"
      "        distributions={k: json_to_distribution(v) for k, v in "
      "r['distributions'].items()}))\n"
      "imp = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))\n"
      "print(json.dumps(list(imp.keys())))\n";
  testing_util::WriteFile(dir.path() + "/fanova.py", script);
  std::string out;
  ASSERT_EQ(Shell(std::string(MGR_PYTHON) + " " + dir.path() + "/fanova.py " + dir.path() +
                      "/trials.json",
                  &out),
            0)
      << out;
  const std::vector<std::string> optuna = Json::parse(out).get<std::vector<std::string>>();
  ASSERT_EQ(optuna.size(), 4u);
  auto ranking = PedAnovaImportance(trials, StudyDirection::kMinimize, Distributions(trials[0]));
  EXPECT_EQ(Names(ranking), optuna);
}

}  // namespace
}  // namespace mgr
