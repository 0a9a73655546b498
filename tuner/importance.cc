#include "tuner/importance.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace mgr {
namespace {

// A parameter's search space as grid indices 0..size-1.
struct Grid {
  int size = 1;
  bool categorical = false;
  std::function<int(double)> index;  // internal value -> grid index
};

Grid MakeGrid(const Distribution& dist, int n_steps) {
  Grid g;
  if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
    g.categorical = true;
    g.size = static_cast<int>(c->choices.size());
    const int top = g.size - 1;
    g.index = [top](double v) { return std::clamp(static_cast<int>(std::lround(v)), 0, top); };
    return g;
  }
  double low, high;
  bool log;
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    low = f->low, high = f->high, log = f->log;
  } else {
    const auto& i = std::get<IntDistribution>(dist);
    low = static_cast<double>(i.low), high = static_cast<double>(i.high), log = i.log;
    const int64_t count = (i.high - i.low) / i.step + 1;
    if (!i.log && count <= n_steps) {  // every value its own grid point
      g.size = static_cast<int>(count);
      const double lo = low, step = static_cast<double>(i.step);
      const int top = g.size - 1;
      g.index = [lo, step, top](double v) {
        return std::clamp(static_cast<int>(std::lround((v - lo) / step)), 0, top);
      };
      return g;
    }
  }
  g.size = n_steps;
  const double a = log ? std::log(low) : low, b = log ? std::log(high) : high;
  const int top = n_steps - 1;
  g.index = [a, b, log, top](double v) {
    if (!(b > a)) return 0;
    const double t = ((log ? std::log(v) : v) - a) / (b - a);
    return std::clamp(static_cast<int>(std::lround(t * top)), 0, top);
  };
  return g;
}

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Optuna's _ScottParzenEstimator over grid indices: one Gaussian kernel per distinct observed
// index (weighted by its count) with Scott's bandwidth, plus a wide prior kernel of weight 1,
// each truncated to [-0.5, size - 0.5] and integrated over the grid cells. Categorical
// parameters get no smoothing: counts plus a uniform prior.
Eigen::VectorXd GridPmf(const Eigen::VectorXd& counts, bool categorical) {
  const int k = static_cast<int>(counts.size());
  const double n = counts.sum();
  Eigen::VectorXd pmf = Eigen::VectorXd::Zero(k);
  if (categorical) {
    pmf = (counts.array() + 1.0 / k).matrix() / (n + 1.0);
    return pmf;
  }
  std::vector<double> mus, weights;
  for (int j = 0; j < k; ++j) {
    if (counts[j] > 0) mus.push_back(j), weights.push_back(counts[j]);
  }
  double mean = 0;
  for (size_t i = 0; i < mus.size(); ++i) mean += mus[i] * weights[i] / n;
  double var = 0;
  for (size_t i = 0; i < mus.size(); ++i) var += (mus[i] - mean) * (mus[i] - mean) * weights[i];
  const double sd = std::sqrt(var / std::max(1.0, n - 1.0));
  // Interquartile range from the cumulative counts (numpy's searchsorted, as Optuna does).
  std::vector<double> cum(weights.size());
  std::partial_sum(weights.begin(), weights.end(), cum.begin());
  const double q25 = std::floor(n / 4), q75 = std::floor(n * 3 / 4);
  const size_t i25 = std::lower_bound(cum.begin(), cum.end(), q25) - cum.begin();
  const size_t i75 = std::upper_bound(cum.begin(), cum.end(), q75) - cum.begin();
  const double iqr = mus[std::min(mus.size() - 1, i75)] - mus[std::min(mus.size() - 1, i25)];
  const double sigma = std::max(1.059 * std::min(iqr / 1.34, sd) * std::pow(n, -0.2), 0.5);
  mus.push_back((k - 1) / 2.0);  // the prior: centred, as wide as the grid
  weights.push_back(1.0);
  const double lo = -0.5, hi = k - 0.5;
  for (size_t i = 0; i < mus.size(); ++i) {
    const double s = i + 1 == mus.size() ? static_cast<double>(k) : sigma;
    const double z = NormalCdf((hi - mus[i]) / s) - NormalCdf((lo - mus[i]) / s);
    if (!(z > 0)) continue;
    for (int j = 0; j < k; ++j) {
      pmf[j] += weights[i] / (n + 1.0) *
                (NormalCdf((j + 0.5 - mus[i]) / s) - NormalCdf((j - 0.5 - mus[i]) / s)) / z;
    }
  }
  return pmf;
}

}  // namespace

std::vector<ParamImportance> PedAnovaImportance(
    const std::vector<FrozenTrial>& trials, StudyDirection direction,
    const std::map<std::string, Distribution>& distributions, const PedAnovaOptions& options) {
  std::vector<const FrozenTrial*> complete;
  for (const FrozenTrial& t : trials) {
    if (t.state == TrialState::kComplete && std::isfinite(t.value())) complete.push_back(&t);
  }
  const bool maximize = direction == StudyDirection::kMaximize;
  std::stable_sort(complete.begin(), complete.end(), [maximize](const auto* a, const auto* b) {
    return maximize ? a->value() > b->value() : a->value() < b->value();
  });
  std::vector<ParamImportance> out;
  for (const auto& [name, dist] : distributions) {
    ParamImportance p{name, 0.0};
    // The trials that searched this parameter (per-layer ones exist only in some), best first.
    std::vector<double> values;
    for (const FrozenTrial* t : complete) {
      auto it = t->params.find(name);
      if (it != t->params.end()) values.push_back(it->second);
    }
    const int n = static_cast<int>(values.size());
    if (n >= 2 && !IsSingle(dist)) {
      const int n_top =
          std::min(n, std::max(options.min_top_trials,
                               static_cast<int>(std::ceil(options.target_quantile * n - 1e-9))));
      const Grid grid = MakeGrid(dist, options.n_steps);
      Eigen::VectorXd all = Eigen::VectorXd::Zero(grid.size), top = all;
      for (int i = 0; i < n; ++i) {
        const int j = grid.index(values[i]);
        all[j] += 1;
        if (i < n_top) top[j] += 1;
      }
      const Eigen::ArrayXd p_top = GridPmf(top, grid.categorical).array() + 1e-12;
      const Eigen::ArrayXd p_all = GridPmf(all, grid.categorical).array() + 1e-12;
      p.importance = (p_all * (p_top / p_all - 1.0).square()).sum();
    }
    out.push_back(p);
  }
  const double total = std::accumulate(out.begin(), out.end(), 0.0,
                                       [](double s, const auto& p) { return s + p.importance; });
  if (options.normalize && total > 0) {
    for (ParamImportance& p : out) p.importance /= total;
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.importance > b.importance;  // names are already in order
  });
  return out;
}

}  // namespace mgr
