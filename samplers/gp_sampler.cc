#include "samplers/gp_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "samplers/acquisition.h"
#include "samplers/gaussian_process.h"
#include "samplers/qmc_sampler.h"
#include "samplers/search_space.h"

namespace mgr {
namespace {

constexpr double kEps = 1e-10;      // Optuna's floor on the values' std
constexpr double kTol = 1e-4;       // Optuna's optimize_acqf_mixed tol
constexpr int kMaxExhaustive = 16;  // Optuna's MAX_INT_EXHAUSTIVE_SEARCH_PARAMS
constexpr int kMaxLocalSearchIters = 100;
constexpr int kQmcSamples = 128;  // Optuna's n_qmc_samples for qLogEI
// A grid with more values is searched as a continuous parameter and rounded at the end
// (Optuna enumerates every grid, which for an int range of 1e9 would not fit in memory).
constexpr int64_t kMaxGridSize = 100000;
// The trial system attribute that carries a fit to the next trial's warm start.
constexpr char kKernelParamsAttr[] = "gp:kernel_params";

// One parameter of the relative space, as Optuna's gp/search_space.py sees it.
struct Dim {
  Distribution dist;
  bool categorical = false;
  bool log = false;
  TransformedBounds bounds{0.0, 0.0};
  std::vector<double> choices;   // normalised grid of a discrete parameter; empty if continuous
  double low = 0.0, step = 0.0;  // the grid in internal values

  double Normalize(double v) const {
    if (categorical) return v;
    const double t = log ? std::log(v) : v;
    if (bounds.high == bounds.low) return 0.5;
    return (t - bounds.low) / (bounds.high - bounds.low);
  }
  double Unnormalize(double x) const {
    if (categorical) return std::round(x);
    return Untransform(dist, bounds.low + x * (bounds.high - bounds.low));
  }
  // A [0, 1) draw moved onto the grid, as Optuna's _sample_normalized_params.
  double Discretize(double u) const {
    if (choices.empty()) return u;
    const int k = static_cast<int>(choices.size());
    if (categorical) return std::min(std::floor(u * k), k - 1.0);
    const double t = bounds.low + u * (bounds.high - bounds.low);
    const double v = log ? std::exp(t) : t;
    const double i = std::floor((v - low) / step + 0.5);
    return choices[static_cast<size_t>(std::clamp(i, 0.0, k - 1.0))];
  }
};

Dim MakeDim(const Distribution& dist) {
  Dim d;
  d.dist = dist;
  d.bounds = TransformBounds(dist);
  if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
    d.categorical = true;
    for (size_t i = 0; i < c->choices.size(); ++i) d.choices.push_back(static_cast<double>(i));
  } else if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    d.log = f->log;
    if (f->step && (f->high - f->low) / *f->step < kMaxGridSize) {
      d.low = f->low;
      d.step = *f->step;
      const int64_t k = static_cast<int64_t>(std::floor((f->high - f->low) / *f->step + 1e-9));
      for (int64_t i = 0; i <= k; ++i) d.choices.push_back(d.Normalize(f->low + i * *f->step));
    }
  } else {
    const auto& n = std::get<IntDistribution>(dist);
    d.log = n.log;
    d.low = static_cast<double>(n.low);
    d.step = static_cast<double>(n.step);
    if ((static_cast<double>(n.high) - d.low) / d.step >= kMaxGridSize) return d;
    for (int64_t v = n.low; v <= n.high; v += n.step) {
      d.choices.push_back(d.Normalize(static_cast<double>(v)));
    }
  }
  return d;
}

// Maximises the acquisition function from starting points, as Optuna's
// local_search_mixed_batched does for each. ils: the GP's inverse squared lengthscales.
class AcqfOptimizer {
 public:
  AcqfOptimizer(const Acquisition& acqf, const Eigen::VectorXd& ils, const std::vector<Dim>& dims)
      : acqf_(acqf), dims_(dims) {
    for (size_t i = 0; i < dims.size(); ++i) {
      (dims[i].choices.empty() ? continuous_ : discrete_).push_back(static_cast<int>(i));
    }
    lengthscales_.resize(continuous_.size());
    for (size_t j = 0; j < continuous_.size(); ++j) {
      lengthscales_[j] = 1.0 / std::sqrt(ils[continuous_[j]]);
    }
  }

  double Eval(const Eigen::VectorXd& x) const { return acqf_.Eval(x); }

  void LocalSearch(Eigen::VectorXd& x, double& f) const {
    constexpr int kContinuous = -1;
    int last_changed = kContinuous;
    for (int iter = 0; iter < kMaxLocalSearchIters; ++iter) {
      if (GradientAscent(x, f)) last_changed = kContinuous;
      for (int i : discrete_) {
        if (last_changed == i) return;  // a full round without a change
        if (DiscreteSearch(i, x, f)) last_changed = i;
      }
      if (last_changed == kContinuous) return;
    }
  }

 private:
  // L-BFGS-B on the continuous parameters in z = x / lengthscale (Optuna's preconditioning).
  bool GradientAscent(Eigen::VectorXd& x, double& f) const {
    const int c = static_cast<int>(continuous_.size());
    if (c == 0) return false;
    Eigen::VectorXd z0(c), lower = Eigen::VectorXd::Zero(c), upper(c);
    for (int j = 0; j < c; ++j) {
      z0[j] = x[continuous_[j]] / lengthscales_[j];
      upper[j] = 1.0 / lengthscales_[j];
    }
    Eigen::VectorXd point = x, grad;
    auto neg_acqf = [&](const Eigen::VectorXd& z, Eigen::VectorXd* g) {
      for (int j = 0; j < c; ++j) point[continuous_[j]] = z[j] * lengthscales_[j];
      const double v = acqf_.Eval(point, &grad);
      g->resize(c);
      for (int j = 0; j < c; ++j) (*g)[j] = -grad[continuous_[j]] * lengthscales_[j];
      return -v;
    };
    const LbfgsResult r = MinimizeLbfgsB(neg_acqf, z0, lower, upper, std::sqrt(kTol), 200);
    if (!(-r.f > f) || r.iterations == 0) return false;
    for (int j = 0; j < c; ++j) x[continuous_[j]] = r.x[j] * lengthscales_[j];
    f = -r.f;
    return true;
  }

  bool DiscreteSearch(int i, Eigen::VectorXd& x, double& f) const {
    const std::vector<double>& choices = dims_[i].choices;
    if (choices.size() <= 1) return false;
    Eigen::VectorXd point = x;
    if (dims_[i].categorical || static_cast<int>(choices.size()) <= kMaxExhaustive) {
      double best_f = f, best_v = x[i];
      for (double v : choices) {
        if (v == x[i]) continue;
        point[i] = v;
        const double fv = Eval(point);
        if (fv > best_f) {
          best_f = fv;
          best_v = v;
        }
      }
      if (best_v == x[i]) return false;
      x[i] = best_v;
      f = best_f;
      return true;
    }
    // Golden-section search over the grid index, on the linear interpolation of the values
    // at grid points (Optuna: Brent's method on the same function), to a quarter step.
    const int k = static_cast<int>(choices.size());
    const int current = static_cast<int>(
        std::lower_bound(choices.begin(), choices.end(), x[i] - 1e-12) - choices.begin());
    std::vector<double> cache(k, std::numeric_limits<double>::quiet_NaN());
    cache[std::min(current, k - 1)] = f;
    auto at = [&](int j) {
      if (std::isnan(cache[j])) {
        point[i] = choices[j];
        cache[j] = Eval(point);
      }
      return cache[j];
    };
    auto interp = [&](double t) {
      const int left = std::clamp(static_cast<int>(std::floor(t)), 0, k - 2);
      const double w = t - left;
      return (1.0 - w) * at(left) + w * at(left + 1);
    };
    const double ratio = (std::sqrt(5.0) - 1.0) / 2.0;
    double a = 0.0, b = k - 1.0;
    double c = b - ratio * (b - a), d = a + ratio * (b - a);
    double fc = interp(c), fd = interp(d);
    while (b - a > 0.25) {
      if (fc > fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - ratio * (b - a);
        fc = interp(c);
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + ratio * (b - a);
        fd = interp(d);
      }
    }
    const int best = std::clamp(static_cast<int>(std::lround((a + b) / 2)), 0, k - 1);
    const double best_f = at(best);
    if (best == current || !(best_f > f)) return false;
    x[i] = choices[best];
    f = best_f;
    return true;
  }

  const Acquisition& acqf_;
  const std::vector<Dim>& dims_;
  std::vector<int> continuous_, discrete_;
  std::vector<double> lengthscales_;
};

std::vector<std::string> ParamNames(const SearchSpace& space) {
  std::vector<std::string> names;
  for (const auto& [name, dist] : space) names.push_back(name);
  return names;
}

// The kernel parameters recorded by the newest trial before `trial` that recorded any, if that
// fit was over the same parameters: the start of this trial's fit, as Optuna's GPSampler
// starts from its previous fit (there kept in the sampler object). A record that does not
// parse is no start; one that parses to unusable values is left to Fit(), which then starts
// from the defaults.
std::optional<GpParams> PreviousFit(const StudyView& study, const FrozenTrial& trial,
                                    const SearchSpace& space) {
  const Json* record = nullptr;
  for (auto t = study.trials.rbegin(); t != study.trials.rend() && record == nullptr; ++t) {
    auto attr = t->system_attrs.find(kKernelParamsAttr);
    if (t->number < trial.number && attr != t->system_attrs.end()) record = &attr->second;
  }
  if (record == nullptr) return std::nullopt;
  try {
    std::vector<double> ils = record->at("inverse_squared_lengthscales").get<std::vector<double>>();
    if (record->at("params").get<std::vector<std::string>>() != ParamNames(space) ||
        ils.size() != space.size()) {
      return std::nullopt;
    }
    GpParams p;
    p.inverse_squared_lengthscales = Eigen::Map<Eigen::VectorXd>(ils.data(), ils.size());
    p.kernel_scale = record->at("kernel_scale").get<double>();
    p.noise_var = record->at("noise_var").get<double>();
    return p;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

Json KernelParamsRecord(const SearchSpace& space, const GpParams& p) {
  const Eigen::VectorXd& ils = p.inverse_squared_lengthscales;
  return {
      {"params", ParamNames(space)},
      {"inverse_squared_lengthscales", std::vector<double>(ils.data(), ils.data() + ils.size())},
      {"kernel_scale", p.kernel_scale},
      {"noise_var", p.noise_var}};
}

}  // namespace

GpSampler::GpSampler(const GpOptions& options)
    : options_(options), random_(options.seed), seeder_(options.seed) {}

SearchSpace GpSampler::InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) {
  SearchSpace space;
  for (const auto& [name, dist] : IntersectionSearchSpace(study.trials, false)) {
    if (!IsSingle(dist)) space.emplace(name, dist);
  }
  return space;
}

std::map<std::string, double> GpSampler::SampleRelative(const StudyView& study,
                                                        const FrozenTrial& trial,
                                                        const SearchSpace& space) {
  if (space.empty() || study.directions.size() != 1) return {};
  // Other RUNNING trials that have a value for every parameter of the space get fantasies
  // (qLogEI), as in Optuna, where the trial being sampled has no parameters yet.
  std::vector<const FrozenTrial*> complete, running;
  for (const FrozenTrial& t : study.trials) {
    const bool is_complete = t.state == TrialState::kComplete && t.values.size() == 1;
    const bool is_running = t.state == TrialState::kRunning && t.number != trial.number;
    if (!is_complete && !is_running) continue;
    bool has_all = true;
    for (const auto& [name, dist] : space) has_all = has_all && t.params.count(name) > 0;
    if (has_all) (is_complete ? complete : running).push_back(&t);
  }
  if (static_cast<int64_t>(complete.size()) < options_.n_startup_trials || complete.empty()) {
    return {};
  }
  std::vector<Dim> dims;
  std::vector<bool> is_categorical;
  for (const auto& [name, dist] : space) {
    dims.push_back(MakeDim(dist));
    is_categorical.push_back(dims.back().categorical);
  }
  const int n = static_cast<int>(complete.size());
  const int d = static_cast<int>(dims.size());
  auto normalize = [&](const std::vector<const FrozenTrial*>& trials) {
    Eigen::MatrixXd x(trials.size(), d);
    for (int i = 0; i < x.rows(); ++i) {
      int j = 0;
      for (const auto& [name, dist] : space) {
        x(i, j) = dims[j].Normalize(trials[i]->params.at(name));
        ++j;
      }
    }
    return x;
  };
  const Eigen::MatrixXd x = normalize(complete);
  Eigen::VectorXd y(n);
  const double sign = study.directions[0] == StudyDirection::kMinimize ? -1.0 : 1.0;
  for (int i = 0; i < n; ++i) y[i] = sign * complete[i]->values[0];
  // Optuna's _standardize_values: infinities clipped to the finite range, then z-scores.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : y) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = hi = 0.0;
  for (double& v : y) v = std::clamp(std::isnan(v) ? lo : v, lo, hi);
  const double mean = y.mean();
  const double std = std::sqrt((y.array() - mean).square().mean());
  y = (y.array() - mean) / std::max(kEps, std);

  GaussianProcess gp(x, y, is_categorical, GpParams{});
  gp.Fit(PreviousFit(study, trial, space).value_or(GpParams{}), options_.deterministic_objective);
  if (study.set_trial_system_attr) {
    study.set_trial_system_attr(trial.trial_id, kKernelParamsAttr,
                                KernelParamsRecord(space, gp.params()));
  }

  int best_row = 0;
  y.maxCoeff(&best_row);
  const double threshold = y[best_row];
  std::mt19937_64 rng = seeder_.Rng(study, trial, "gp");
  std::unique_ptr<Acquisition> acqf;
  if (!running.empty()) {
    // Drawn before the candidates' seed, as Optuna draws qmc_seed before optimising; without
    // running trials the draws are those of log EI alone.
    const uint64_t qmc_seed = rng();
    std::optional<Eigen::MatrixXd> samples =
        NormalSobolSamples(static_cast<int>(running.size()) + 1, kQmcSamples, qmc_seed);
    std::optional<ConditionalGp> conditional;
    if (samples) conditional = ConditionalGp::Create(gp, normalize(running), *samples);
    // Without one (too many running trials for the Sobol table, or their posterior
    // covariance is singular) the running trials are ignored.
    if (conditional) acqf = std::make_unique<QLogEIAcquisition>(*std::move(conditional), threshold);
  }
  if (!acqf) acqf = std::make_unique<LogEIAcquisition>(gp, threshold);

  // Candidates: scrambled Sobol points, discrete parameters moved onto their grids.
  const int m = options_.n_preliminary_samples;
  Result<QmcSequence> sobol = QmcSequence::Create(QmcType::kSobol, d, true, rng());
  if (!sobol.ok()) return {};  // more dimensions than the Sobol table: sample at random
  Eigen::MatrixXd candidates(m, d);
  for (int i = 0; i < m; ++i) {
    const std::vector<double> u = sobol->Point(static_cast<uint64_t>(i));
    for (int j = 0; j < d; ++j) candidates(i, j) = dims[j].Discretize(u[j]);
  }
  const Eigen::VectorXd f = acqf->EvalBatch(candidates);
  int best = 0;
  f.maxCoeff(&best);
  // Starts: the best candidate, up to n_local_search - 2 more by roulette on exp(acquisition),
  // and the best trial.
  std::vector<double> weights(m);
  int nonzero = 0;
  for (int i = 0; i < m; ++i) {
    weights[i] = i == best ? 0.0 : std::exp(f[i] - f[best]);
    nonzero += weights[i] > 0.0;
  }
  std::vector<int> starts = {best};
  const int n_additional = std::min(options_.n_local_search - 2, nonzero);
  for (int s = 0; s < n_additional; ++s) {
    double total = 0.0;
    for (double w : weights) total += w;
    double u = UniformUnit(rng) * total;
    int pick = 0;
    while (pick < m - 1 && (weights[pick] == 0.0 || u >= weights[pick])) {
      u -= weights[pick];
      ++pick;
    }
    if (weights[pick] == 0.0) break;  // rounding left nothing to pick
    starts.push_back(pick);
    weights[pick] = 0.0;
  }
  AcqfOptimizer optimizer(*acqf, gp.params().inverse_squared_lengthscales, dims);
  Eigen::VectorXd best_x;
  double best_f = -std::numeric_limits<double>::infinity();
  auto search_from = [&](Eigen::VectorXd start, double start_f) {
    optimizer.LocalSearch(start, start_f);
    if (start_f > best_f) {
      best_f = start_f;
      best_x = std::move(start);
    }
  };
  for (int s : starts) search_from(candidates.row(s).transpose(), f[s]);
  const Eigen::VectorXd best_trial = x.row(best_row).transpose();
  search_from(best_trial, optimizer.Eval(best_trial));

  std::map<std::string, double> out;
  int j = 0;
  for (const auto& [name, dist] : space) {
    out[name] = dims[j].Unnormalize(best_x[j]);
    ++j;
  }
  return out;
}

double GpSampler::SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                                    const std::string& name, const Distribution& dist) {
  return random_.SampleIndependent(study, trial, name, dist);
}

}  // namespace mgr
