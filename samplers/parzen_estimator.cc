#include "samplers/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "samplers/search_space.h"
#include "samplers/truncnorm.h"

namespace mgr {
namespace {

constexpr double kEps = 1e-12;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Index of the first cumulative entry >= u (the last one if rounding leaves u above all).
int PickIndex(const double* cumulative, int n, double u, int stride = 1) {
  for (int k = 0; k < n - 1; ++k) {
    if (u <= cumulative[k * stride]) return k;
  }
  return n - 1;
}

}  // namespace

std::vector<double> TpeDefaultWeights(int64_t n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(n, 1.0);
  // numpy.linspace(1/n, 1, n - 25): start + i * (stop - start) / (num - 1), last = stop.
  std::vector<double> w;
  w.reserve(n);
  const int64_t num = n - 25;
  const double start = 1.0 / static_cast<double>(n);
  if (num == 1) {
    w.push_back(start);
  } else if (num > 1) {
    const double delta = (1.0 - start) / static_cast<double>(num - 1);
    for (int64_t i = 0; i < num - 1; ++i) w.push_back(start + static_cast<double>(i) * delta);
    w.push_back(1.0);
  }
  for (int i = 0; i < 25; ++i) w.push_back(1.0);
  return w;
}

ParzenEstimator::ParzenEstimator(const SearchSpace& space,
                                 const std::vector<std::vector<double>>& observations,
                                 const std::vector<double>& weights,
                                 const ParzenEstimatorParameters& params) {
  const size_t n = observations.empty() ? weights.size() : observations[0].size();
  // Mixture weights: the observations' weights and the prior's, normalised.
  if (n == 0) {
    weights_ = Eigen::VectorXd::Ones(1);
  } else {
    weights_.resize(static_cast<Eigen::Index>(n + 1));
    for (size_t k = 0; k < n; ++k) weights_[k] = weights[k];
    weights_[n] = params.prior_weight;
    weights_ /= weights_.sum();
  }
  log_weights_ = weights_.array().log();
  cumulative_weights_.resize(weights_.size());
  std::partial_sum(weights_.data(), weights_.data() + weights_.size(), cumulative_weights_.begin());

  int i = 0;
  for (const auto& [name, dist] : space) {
    Param p;
    if (auto* c = std::get_if<CategoricalDistribution>(&dist)) {
      BuildCategorical(p, *c, observations[i], params.prior_weight);
    } else {
      BuildNumerical(p, dist, observations[i], static_cast<int>(space.size()), params);
    }
    params_.push_back(std::move(p));
    ++i;
  }
  base_log_ = log_weights_.array();
  for (Param& p : params_) {
    if (p.categorical) continue;
    p.inv_sigma = p.sigma.array().inverse();
    if (p.step == 0.0) base_log_ -= truncnorm::kLogSqrt2Pi + p.log_norm.array();
  }
}

void ParzenEstimator::BuildCategorical(Param& p, const CategoricalDistribution& dist,
                                       const std::vector<double>& obs, double prior_weight) {
  p.categorical = true;
  const int n_choices = static_cast<int>(dist.choices.size());
  if (obs.empty()) {
    p.cat_weights = Eigen::MatrixXd::Constant(1, n_choices, 1.0 / n_choices);
  } else {
    const int n_kernels = static_cast<int>(obs.size()) + 1;
    p.cat_weights = Eigen::MatrixXd::Constant(n_kernels, n_choices, prior_weight / n_kernels);
    for (size_t k = 0; k < obs.size(); ++k) p.cat_weights(k, static_cast<int>(obs[k])) += 1.0;
    for (int k = 0; k < n_kernels; ++k) {
      double s = p.cat_weights.row(k).sum();
      if (s != 0) p.cat_weights.row(k) /= s;
    }
  }
  p.cat_log_weights_t = p.cat_weights.array().log().matrix().transpose();
  p.cat_cumulative = p.cat_weights;
  for (int c = 1; c < n_choices; ++c) p.cat_cumulative.col(c) += p.cat_cumulative.col(c - 1);
}

void ParzenEstimator::BuildNumerical(Param& p, const Distribution& dist,
                                     const std::vector<double>& obs, int n_space_params,
                                     const ParzenEstimatorParameters& params) {
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    p.low = f->low;
    p.high = f->high;
    p.log = f->log;
    p.step = f->step ? *f->step : 0.0;
  } else {
    const auto& d = std::get<IntDistribution>(dist);
    p.low = static_cast<double>(d.low);
    p.high = static_cast<double>(d.high);
    p.log = d.log;
    p.step = static_cast<double>(d.step);
  }
  double low = p.low - p.step / 2, high = p.high + p.step / 2;
  if (p.log) {
    low = std::log(low);
    high = std::log(high);
  }
  p.tlow = low;
  p.thigh = high;
  const int n = static_cast<int>(obs.size());
  Eigen::VectorXd mus(n);
  for (int k = 0; k < n; ++k) mus[k] = p.log ? std::log(obs[k]) : obs[k];

  Eigen::VectorXd sigmas(n);
  if (params.multivariate) {
    double sigma = 0.2 *
                   std::pow(static_cast<double>(std::max(n, 1)),
                            -1.0 / (static_cast<double>(n_space_params) + 4.0)) *
                   (high - low);
    sigmas.setConstant(sigma);
  } else if (n > 0) {
    // Sort the observations together with the prior's centre, pad with the bounds; each
    // sigma is the larger gap to a neighbour.
    const double prior_mu = 0.5 * (low + high);
    std::vector<double> with_prior(mus.data(), mus.data() + n);
    with_prior.push_back(prior_mu);
    std::vector<int> order(n + 1);
    std::iota(order.begin(), order.end(), 0);
    // numpy.argsort's default quicksort is not stable; ties give equal sigmas either way.
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return with_prior[a] < with_prior[b]; });
    std::vector<double> padded(n + 3);
    padded[0] = low;
    for (int k = 0; k <= n; ++k) padded[k + 1] = with_prior[order[k]];
    padded[n + 2] = high;
    std::vector<double> sorted_sigmas(n + 1);
    for (int k = 0; k <= n; ++k) {
      sorted_sigmas[k] = std::max(padded[k + 1] - padded[k], padded[k + 2] - padded[k + 1]);
    }
    if (!params.consider_endpoints && padded.size() >= 4) {
      sorted_sigmas[0] = padded[2] - padded[1];
      sorted_sigmas[n] = padded[n + 1] - padded[n];
    }
    std::vector<double> unsorted(n + 1);
    for (int k = 0; k <= n; ++k) unsorted[order[k]] = sorted_sigmas[k];
    for (int k = 0; k < n; ++k) sigmas[k] = unsorted[k];
  }
  const double max_sigma = high - low;
  const double min_sigma =
      params.consider_magic_clip ? (high - low) / std::min(100.0, 1.0 + (n + 1)) : kEps;
  for (int k = 0; k < n; ++k) sigmas[k] = std::clamp(sigmas[k], min_sigma, max_sigma);

  p.mu.resize(n + 1);
  p.sigma.resize(n + 1);
  p.mu.head(n) = mus;
  p.sigma.head(n) = sigmas;
  p.mu[n] = 0.5 * (low + high);
  p.sigma[n] = high - low;
  p.log_norm.resize(n + 1);
  for (int k = 0; k <= n; ++k) {
    double a = (low - p.mu[k]) / p.sigma[k], b = (high - p.mu[k]) / p.sigma[k];
    p.log_norm[k] = truncnorm::LogGaussMass(a, b) + (p.step == 0.0 ? std::log(p.sigma[k]) : 0.0);
  }
}

Eigen::MatrixXd ParzenEstimator::Sample(std::mt19937_64& rng, int n) const {
  Eigen::MatrixXd out(n, static_cast<Eigen::Index>(params_.size()));
  const int n_kernels = static_cast<int>(weights_.size());
  for (int j = 0; j < n; ++j) {
    const int k = PickIndex(cumulative_weights_.data(), n_kernels, UniformUnit(rng));
    for (size_t i = 0; i < params_.size(); ++i) {
      const Param& p = params_[i];
      if (p.categorical) {
        const int n_choices = static_cast<int>(p.cat_cumulative.cols());
        out(j, i) = PickIndex(&p.cat_cumulative(k, 0), n_choices, UniformUnit(rng),
                              static_cast<int>(p.cat_cumulative.rows()));
        continue;
      }
      const double mu = p.mu[k], sigma = p.sigma[k];
      double z = truncnorm::Ppf(UniformUnit(rng), (p.tlow - mu) / sigma, (p.thigh - mu) / sigma);
      double v = mu + sigma * z;
      if (p.log) v = std::exp(v);
      if (p.step != 0.0) {
        v = std::clamp(p.low + std::round((v - p.low) / p.step) * p.step, p.low, p.high);
      } else {
        v = std::clamp(v, p.low, p.high);
      }
      out(j, i) = v;
    }
  }
  return out;
}

Eigen::VectorXd ParzenEstimator::LogPdf(const Eigen::MatrixXd& x) const {
  const Eigen::Index m = x.rows();
  Eigen::VectorXd out(m);
  // One sample at a time, kernels contiguous: acc(k) = log w_k + sum_i log p_ik(x_i).
  // The continuous kernels' normalising constants are folded into base_log_ already.
  Eigen::ArrayXd acc(base_log_.size());
  for (Eigen::Index j = 0; j < m; ++j) {
    acc = base_log_;
    for (size_t i = 0; i < params_.size(); ++i) {
      const Param& p = params_[i];
      const double xi = x(j, static_cast<Eigen::Index>(i));
      if (p.categorical) {
        acc += p.cat_log_weights_t.row(static_cast<Eigen::Index>(xi)).transpose().array();
      } else if (p.step == 0.0) {
        const double xt = p.log ? std::log(xi) : xi;
        if (xt < p.tlow || xt > p.thigh) {
          acc.setConstant(-kInf);
          continue;
        }
        acc -= 0.5 * ((xt - p.mu.array()) * p.inv_sigma).square();
      } else {
        double left = xi - p.step / 2, right = xi + p.step / 2;
        if (p.log) {
          left = std::log(left);
          right = std::log(right);
        }
        for (Eigen::Index k = 0; k < acc.size(); ++k) {
          acc[k] += truncnorm::LogGaussMass((left - p.mu[k]) * p.inv_sigma[k],
                                            (right - p.mu[k]) * p.inv_sigma[k]) -
                    p.log_norm[k];
        }
      }
    }
    // Log-sum-exp over kernels; exp(-700) ~ 1e-304 adds nothing to a sum >= 1 and keeps
    // exp off its slow underflow path.
    double mx = acc.maxCoeff();
    if (mx == -kInf) mx = 0.0;
    out[j] = std::log((acc - mx).max(-700.0).exp().sum()) + mx;
  }
  return out;
}

}  // namespace mgr
