// mgr-tune's unscrambled Sobol QMC sampler against Optuna 5.1.0's
// QMCSampler(qmc_type="sobol", scramble=False) on the same search spaces (float, log float,
// step float, int, log int; 5 and 50 dimensions), and QmcSequence against
// scipy.stats.qmc.Sobol(scramble=False) up to all of Boost's 3667 dimensions. Both come from
// PyPI into BUILD/optuna5-venv (tools/optuna_venv.sh; label python). The params of trial n
// must equal Optuna's to 1e-12 relative (ints exactly); sequence points must be identical.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "samplers/qmc_sampler.h"
#include "tests/samplers/test_util.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::MakeTrial;

const std::string kScript = std::string(MGR_SOURCE_DIR) + "/tests/samplers/optuna_qmc_points.py";

class QmcOptuna5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    // Once per build folder; fails (never skips) when PyPI cannot be reached.
    std::string log;
    python_ = testing_util::OptunaVenvPython("5.1.0", "", &log);
    ASSERT_FALSE(python_.empty()) << log;
  }

  static Json RunPython(const std::string& args) {
    std::string out;
    const int rc =
        testing_util::Shell("'" + python_ + "' '" + kScript + "' " + args + " 2>&1", &out);
    EXPECT_EQ(rc, 0) << out;
    Json j = Json::parse(out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << out;
    return j.is_object() ? j : Json::object();
  }
  static inline std::string python_;  // the venv's, set by SetUp

  // `space`: [{name, type, low, high, log, step}], names in sorted order (Optuna keeps the
  // first trial's suggestion order, mgr-tune's SearchSpace sorts by name).
  static void ExpectOptunaPoints(const Json& space, int n_trials, int seed) {
    const Json ref = RunPython("optuna '" + space.dump() + "' " + std::to_string(n_trials) + " " +
                               std::to_string(seed));
    ASSERT_EQ(ref.value("optuna", ""), "5.1.0");
    const Json& trials = ref["trials"];
    ASSERT_EQ(trials.size(), static_cast<size_t>(n_trials));
    std::map<std::string, Distribution> dists;
    for (const Json& p : space) {
      const std::string name = p["name"];
      Result<Distribution> d =
          p["type"] == "float"
              ? MakeFloatDistribution(
                    name, p["low"].get<double>(), p["high"].get<double>(), p.value("log", false),
                    p.contains("step") ? std::optional<double>(p["step"].get<double>())
                                       : std::nullopt)
              : MakeIntDistribution(name, p["low"].get<int64_t>(), p["high"].get<int64_t>(),
                                    p.value("log", false), p.value("step", int64_t{1}));
      ASSERT_TRUE(d.ok()) << d.status().message();
      dists.emplace(name, *d);
    }
    // Trial 0 is Optuna's independent draw; it fixes the relative space for both.
    std::map<std::string, std::pair<double, Distribution>> first;
    for (const auto& [name, dist] : dists)
      first.emplace(name, std::pair(trials[0][name].get<double>(), dist));
    std::vector<FrozenTrial> history = {MakeTrial(0, TrialState::kComplete, 0.0, first)};
    StudyView view{{StudyDirection::kMinimize}, history, "qmc-optuna5"};
    QmcOptions options;
    options.scramble = false;
    options.seed = static_cast<uint64_t>(seed);
    QmcSampler sampler(options);
    for (int n = 1; n < n_trials; ++n) {
      FrozenTrial trial = MakeTrial(n, TrialState::kRunning, 0.0, {});
      const SearchSpace relative = sampler.InferRelativeSearchSpace(view, trial);
      ASSERT_EQ(relative.size(), dists.size());
      std::map<std::string, double> mine = sampler.SampleRelative(view, trial, relative);
      ASSERT_EQ(mine.size(), dists.size()) << "trial " << n;
      for (const Json& p : space) {
        const std::string name = p["name"];
        const double theirs = trials[n][name].get<double>();
        if (p["type"] == "int") {
          EXPECT_EQ(mine[name], theirs) << "trial " << n << " " << name;
        } else {
          EXPECT_NEAR(mine[name], theirs, 1e-12 * std::max(1.0, std::fabs(theirs)))
              << "trial " << n << " " << name;
        }
      }
    }
  }

  // QmcSequence's unscrambled Sobol points at `indices` equal SciPy's, bit for bit.
  static void ExpectScipyPoints(int dims, const std::vector<uint64_t>& indices) {
    const Json ref = RunPython("scipy " + std::to_string(dims) + " '" + Json(indices).dump() + "'");
    ASSERT_EQ(ref["points"].size(), indices.size());
    QmcSequence seq = *QmcSequence::Create(QmcType::kSobol, dims, false, 0);
    for (size_t i = 0; i < indices.size(); ++i) {
      const std::vector<double> mine = seq.Point(indices[i]);
      const std::vector<double> theirs = ref["points"][i].get<std::vector<double>>();
      ASSERT_EQ(theirs.size(), mine.size());
      int mismatches = 0;
      for (int d = 0; d < dims; ++d) {
        if (mine[d] != theirs[d] && ++mismatches <= 5) {
          ADD_FAILURE() << "index " << indices[i] << " dim " << d << ": " << mine[d] << " != scipy "
                        << theirs[d];
        }
      }
      EXPECT_EQ(mismatches, 0) << "index " << indices[i];
    }
  }
};

TEST_F(QmcOptuna5Test, MixedSpaceGivesOptunasPoints) {
  const Json space = Json::parse(R"([
    {"name": "a_float", "type": "float", "low": -2.5, "high": 4.0},
    {"name": "b_log_float", "type": "float", "low": 1e-5, "high": 0.1, "log": true},
    {"name": "c_int", "type": "int", "low": 1, "high": 17},
    {"name": "d_step_float", "type": "float", "low": 0.0, "high": 1.0, "step": 0.125},
    {"name": "e_log_int", "type": "int", "low": 8, "high": 512, "log": true}])");
  ExpectOptunaPoints(space, 64, 7);
}

TEST_F(QmcOptuna5Test, FiftyDimensionsGiveOptunasPoints) {
  // Beyond the 40 dimensions the old hand-typed table had.
  Json space = Json::array();
  for (int i = 0; i < 50; ++i) {
    std::string name = std::string("p") + (i < 10 ? "0" : "") + std::to_string(i);
    space.push_back(i % 3 == 2 ? Json{{"name", name}, {"type", "int"}, {"low", -3}, {"high", 40}}
                               : Json{{"name", name},
                                      {"type", "float"},
                                      {"low", 0.0},
                                      {"high", 2.0},
                                      {"log", i % 3 == 1 && i > 0}});
  }
  for (Json& p : space) {
    if (p.value("log", false)) p["low"] = 1e-3;
  }
  ExpectOptunaPoints(space, 40, 3);
}

TEST_F(QmcOptuna5Test, SequenceMatchesScipyBeyondFortyDimensions) {
  std::vector<uint64_t> indices;
  for (uint64_t i = 0; i < 32; ++i) indices.push_back(i);
  for (uint64_t i : {1000u, 4095u, 65535u, 1000003u}) indices.push_back(i);
  ExpectScipyPoints(60, indices);
}

TEST_F(QmcOptuna5Test, EveryDimensionOfBoostsTableMatchesScipy) {
  // Points up to index 4095 use each dimension's first 12 direction numbers.
  ExpectScipyPoints(QmcSequence::kMaxSobolDims, {0, 1, 2, 3, 5, 8, 13, 100, 1000, 4095});
}

}  // namespace
}  // namespace mgr
