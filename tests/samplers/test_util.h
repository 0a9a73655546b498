// Helpers for sampler and pruner tests: build trials and study views by hand.
#ifndef MGR_TESTS_SAMPLERS_TEST_UTIL_H_
#define MGR_TESTS_SAMPLERS_TEST_UTIL_H_

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "samplers/sampler.h"
#include "storage/distribution.h"
#include "storage/trial.h"

namespace mgr {
namespace testing_util {

inline Distribution Float(double low, double high, bool log = false,
                          std::optional<double> step = std::nullopt) {
  return *MakeFloatDistribution("x", low, high, log, step);
}
inline Distribution Int(int64_t low, int64_t high, bool log = false, int64_t step = 1) {
  return *MakeIntDistribution("x", low, high, log, step);
}
inline Distribution Cat(std::vector<Json> choices) {
  return *MakeCategoricalDistribution("x", std::move(choices));
}

inline FrozenTrial MakeTrial(int64_t number, TrialState state, double value,
                             const std::map<std::string, std::pair<double, Distribution>>& params,
                             const std::map<int64_t, double>& intermediate = {}) {
  FrozenTrial t;
  t.trial_id = number;
  t.number = number;
  t.state = state;
  if (state == TrialState::kComplete) t.values = {value};
  for (const auto& [name, pd] : params) {
    t.params[name] = pd.first;
    t.distributions.emplace(name, pd.second);
  }
  t.intermediate_values = intermediate;
  return t;
}

// A matrix as a JSON array of rows, for the Python references.
inline Json Rows(const Eigen::MatrixXd& m) {
  Json rows = Json::array();
  for (int i = 0; i < m.rows(); ++i) {
    Json row = Json::array();
    for (int j = 0; j < m.cols(); ++j) row.push_back(m(i, j));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_SAMPLERS_TEST_UTIL_H_
