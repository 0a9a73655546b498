#include "samplers/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

// Order-preserving bit pattern of a double (no NaNs); -0.0 and +0.0 map to the same key.
uint64_t OrderKey(double v) {
  uint64_t b;
  const double x = v + 0.0;  // -0.0 -> +0.0: they compare equal
  std::memcpy(&b, &x, sizeof b);
  return (b >> 63) ? ~b : (b | (uint64_t{1} << 63));
}

// Indices 0..n-1 of `v` ordered by value, ties by index (what a stable sort gives). No
// NaNs. Small inputs (the "below" estimator's <= 26 points) use an insertion sort; larger
// ones a bucket sort, or if the values are too clustered for it an LSD radix sort on
// 8-bit digits of OrderKey (all eight histograms counted in one pass, passes whose digit
// is the same for every key skipped): several times faster than a comparison sort on the
// ~1,000 observations of an "above" estimator.
void ArgsortStable(const double* v, int n, std::vector<int>& idx) {
  idx.resize(n);
  if (n <= 64) {
    uint64_t key[64];
    for (int k = 0; k < n; ++k) {
      const uint64_t kk = OrderKey(v[k]);
      int j = k;
      for (; j > 0 && key[j - 1] > kk; --j) {  // strict: equal keys keep index order
        key[j] = key[j - 1];
        idx[j] = idx[j - 1];
      }
      key[j] = kk;
      idx[j] = k;
    }
    return;
  }
  // Bucket sort first: n buckets over [min, max] by value (floor((v - min) * scale) is
  // monotone in v, so buckets are ordered and equal values share one), filled in index
  // order, then an insertion sort on OrderKey inside each bucket keeps ties by index.
  // Observations are spread enough that buckets hold a few points each; if one holds
  // more than kMaxBucket, fall back to the radix sort below.
  {
    constexpr int kMaxBucket = 32;
    double lo = v[0], hi = v[0];
    for (int k = 1; k < n; ++k) {
      lo = std::min(lo, v[k]);
      hi = std::max(hi, v[k]);
    }
    const double scale = static_cast<double>(n - 1) / (hi - lo);
    if (hi > lo && std::isfinite(scale)) {
      std::vector<int> bucket(n), start(n + 1, 0);
      bool ok = true;
      for (int k = 0; k < n; ++k) {
        bucket[k] = std::min(n - 1, static_cast<int>((v[k] - lo) * scale));
        if (++start[bucket[k] + 1] > kMaxBucket) {
          ok = false;
          break;
        }
      }
      if (ok) {
        for (int b = 0; b < n; ++b) start[b + 1] += start[b];
        for (int k = 0; k < n; ++k) idx[start[bucket[k]]++] = k;  // start[b] -> end of b
        std::vector<uint64_t> key(n);
        for (int j = 0; j < n; ++j) key[j] = OrderKey(v[idx[j]]);
        int begin = 0;
        for (int b = 0; b < n; ++b) {
          for (int j = begin + 1; j < start[b]; ++j) {
            const uint64_t kk = key[j];
            const int ii = idx[j];
            int i = j;
            for (; i > begin && key[i - 1] > kk; --i) {
              key[i] = key[i - 1];
              idx[i] = idx[i - 1];
            }
            key[i] = kk;
            idx[i] = ii;
          }
          begin = start[b];
        }
        return;
      }
    }
  }
  constexpr int kDigits = 8, kBuckets = 256;
  std::vector<uint64_t> key(n), key2(n);
  std::vector<int> idx2(n);
  std::vector<int> count(kDigits * kBuckets, 0);
  for (int k = 0; k < n; ++k) {
    key[k] = OrderKey(v[k]);
    idx[k] = k;
    for (int d = 0; d < kDigits; ++d) ++count[d * kBuckets + ((key[k] >> (8 * d)) & 0xff)];
  }
  for (int d = 0; d < kDigits; ++d) {
    int* c = &count[d * kBuckets];
    if (*std::max_element(c, c + kBuckets) == n) continue;  // one digit: no-op pass
    int sum = 0;
    for (int b = 0; b < kBuckets; ++b) {
      const int t = c[b];
      c[b] = sum;
      sum += t;
    }
    for (int k = 0; k < n; ++k) {
      const int pos = c[(key[k] >> (8 * d)) & 0xff]++;
      key2[pos] = key[k];
      idx2[pos] = idx[k];
    }
    key.swap(key2);
    idx.swap(idx2);
  }
}

// log(Phi(b) - Phi(a)), the truncation mass of a kernel whose mean lies in the range
// (a <= 0 <= b), as truncnorm::LogGaussMass computes it, except that a tail beyond 9
// sigmas (less than 1.2e-19 next to a mass of at least 1/3) is taken as 0 and its erfc
// skipped: most kernels are far from at least one bound, and these erfc calls were most
// of an estimator's construction time.
double LogKernelMass(double a, double b) {
  if (a > 0.0 || b <= 0.0) return truncnorm::LogGaussMass(a, b);
  const bool far_a = a < -9.0, far_b = b > 9.0;
  if (far_a && far_b) return 0.0;
  if (far_a) return std::log1p(-truncnorm::Ndtr(-b));
  if (far_b) return std::log1p(-truncnorm::Ndtr(a));
  return truncnorm::LogGaussMass(a, b);
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

std::shared_ptr<const ParzenMixture> MakeParzenMixture(const double* weights, size_t n,
                                                       double prior_weight) {
  auto m = std::make_shared<ParzenMixture>();
  if (n == 0) {
    m->weights = Eigen::VectorXd::Ones(1);
  } else {
    m->weights.resize(static_cast<Eigen::Index>(n + 1));
    for (size_t k = 0; k < n; ++k) m->weights[k] = weights[k];
    m->weights[n] = prior_weight;
    m->weights /= m->weights.sum();
  }
  m->log_weights = m->weights.array().log();
  m->cumulative.resize(m->weights.size());
  std::partial_sum(m->weights.data(), m->weights.data() + m->weights.size(),
                   m->cumulative.begin());
  return m;
}

ParzenEstimator::ParzenEstimator(const SearchSpace& space,
                                 const std::vector<std::vector<double>>& observations,
                                 const std::vector<double>& weights,
                                 const ParzenEstimatorParameters& params,
                                 const std::vector<int>* sorted)
    : ParzenEstimator(space, observations,
                      MakeParzenMixture(weights.data(),
                                        observations.empty() ? weights.size()
                                                             : observations[0].size(),
                                        params.prior_weight),
                      params, sorted) {}

ParzenEstimator::ParzenEstimator(const SearchSpace& space,
                                 const std::vector<std::vector<double>>& observations,
                                 std::shared_ptr<const ParzenMixture> mixture,
                                 const ParzenEstimatorParameters& params,
                                 const std::vector<int>* sorted)
    : mixture_(std::move(mixture)) {
  int i = 0;
  for (const auto& [name, dist] : space) {
    Param p;
    if (auto* c = std::get_if<CategoricalDistribution>(&dist)) {
      BuildCategorical(p, *c, observations[i], params.prior_weight);
    } else {
      BuildNumerical(p, dist, observations[i], static_cast<int>(space.size()), params,
                     space.size() == 1 ? sorted : nullptr);
    }
    params_.push_back(std::move(p));
    ++i;
  }
  base_log_ = mixture_->log_weights.array();
  for (Param& p : params_) {
    if (p.categorical) continue;
    p.inv_sigma = p.sigma.array().inverse();
    if (p.step == 0.0) base_log_ -= truncnorm::kLogSqrt2Pi + p.log_norm.array();
  }
  if (params_.size() == 1 && !params_[0].categorical && params_[0].step == 0.0 &&
      base_log_.size() > 1) {
    BuildWindow();
  }
}

namespace {
// Kernels whose term is below the row's largest by more than this are skipped: each adds
// less than exp(-50) ~ 2e-22 of the sum, so even 1e4 of them stay below double rounding.
constexpr double kWindowLogRatio = 50.0;
}  // namespace

void ParzenEstimator::BuildWindow() {
  const Param& p = params_[0];
  const Eigen::Index n = base_log_.size() - 1;  // the last kernel is the prior
  std::vector<int> sorted = p.sorted;
  if (static_cast<Eigen::Index>(sorted.size()) != n) {  // multivariate rule: not sorted yet
    ArgsortStable(p.mu.data(), static_cast<int>(n), sorted);
  }
  w_mu_.resize(n);
  w_base_.resize(n);
  w_inv_sigma_.resize(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const Eigen::Index k = sorted[j];
    w_mu_[j] = p.mu[k];
    w_base_[j] = base_log_[k];
    w_inv_sigma_[j] = p.inv_sigma[k];
  }
  w_max_base_ = w_base_.maxCoeff();
  w_max_sigma_ = p.sigma.head(n).maxCoeff();
  w_prior_mu_ = p.mu[n];
  w_prior_base_ = base_log_[n];
  w_prior_inv_sigma_ = p.inv_sigma[n];
  windowed_ = true;
}

double ParzenEstimator::WindowedLogPdf(double xt) const {
  const Eigen::Index n = w_mu_.size();
  const double* mu = w_mu_.data();
  auto term = [&](Eigen::Index j) {
    const double z = (xt - mu[j]) * w_inv_sigma_[j];
    return w_base_[j] - 0.5 * z * z;
  };
  const double zp = (xt - w_prior_mu_) * w_prior_inv_sigma_;
  const double prior_term = w_prior_base_ - 0.5 * zp * zp;
  // A lower bound on the row's largest term: the prior and the kernels next to xt.
  const Eigen::Index pos = std::lower_bound(mu, mu + n, xt) - mu;
  double lower = prior_term;
  for (Eigen::Index j = std::max<Eigen::Index>(pos - 2, 0); j < std::min(pos + 2, n); ++j) {
    lower = std::max(lower, term(j));
  }
  // Kernel j's term is at most w_max_base_ - (xt - mu_j)^2 / (2 w_max_sigma_^2), which is
  // below lower - kWindowLogRatio once |xt - mu_j| exceeds `half`.
  const double half = w_max_sigma_ * std::sqrt(2.0 * (w_max_base_ - lower + kWindowLogRatio));
  const Eigen::Index first = std::lower_bound(mu, mu + n, xt - half) - mu;
  const Eigen::Index last = std::upper_bound(mu + first, mu + n, xt + half) - mu;
  const Eigen::Index len = last - first;
  if (len == 0) return prior_term;
  // Scratch for the window's terms, kept per thread so that the ~500 calls of a
  // suggestion do not allocate (const methods stay safe to call concurrently).
  thread_local Eigen::ArrayXd scratch;
  if (scratch.size() < len) scratch.resize(std::max<Eigen::Index>(len, 1024));
  auto acc = scratch.head(len);
  acc = w_base_.segment(first, len) -
        0.5 * ((xt - w_mu_.segment(first, len)) * w_inv_sigma_.segment(first, len)).square();
  const double mx = std::max(acc.maxCoeff(), prior_term);
  return std::log((acc - mx).max(-700.0).exp().sum() + std::exp(prior_term - mx)) + mx;
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
                                     const ParzenEstimatorParameters& params,
                                 const std::vector<int>* sorted) {
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
  // Kernel k < n is observation k; kernel n is the prior. Filled in place.
  p.mu.resize(n + 1);
  p.sigma.resize(n + 1);
  auto mus = p.mu.head(n);
  auto sigmas = p.sigma.head(n);
  for (int k = 0; k < n; ++k) mus[k] = p.log ? std::log(obs[k]) : obs[k];

  if (params.multivariate) {
    double sigma = 0.2 *
                   std::pow(static_cast<double>(std::max(n, 1)),
                            -1.0 / (static_cast<double>(n_space_params) + 4.0)) *
                   (high - low);
    sigmas.setConstant(sigma);
    if (sorted && static_cast<int>(sorted->size()) == n) p.sorted = *sorted;  // for BuildWindow
  } else if (n > 0) {
    // Sort the observations together with the prior's centre, pad with the bounds; each
    // sigma is the larger gap to a neighbour.
    const double prior_mu = 0.5 * (low + high);
    std::vector<double> with_prior(n + 1);  // padded[k + 1] = k-th smallest, below
    std::copy(mus.data(), mus.data() + n, with_prior.begin());
    with_prior[n] = prior_mu;
    // numpy.argsort's default quicksort is not stable; ties give equal sigmas either way.
    std::vector<int> order;
    if (sorted && static_cast<int>(sorted->size()) == n) {
      // The caller's order of the observations; the prior (index n) goes after every
      // observation <= its centre, where a stable argsort puts it.
      auto split = std::partition_point(sorted->begin(), sorted->end(),
                                        [&](int k) { return mus[k] <= prior_mu; });
      order.reserve(n + 1);
      order.insert(order.end(), sorted->begin(), split);
      order.push_back(n);
      order.insert(order.end(), split, sorted->end());
    } else {
      ArgsortStable(with_prior.data(), n + 1, order);
    }
    std::vector<double> padded(n + 3);
    padded[0] = low;
    for (int k = 0; k <= n; ++k) padded[k + 1] = with_prior[order[k]];
    padded[n + 2] = high;
    // Sorted position k holds kernel order[k]; the prior's sigma (range) is set below.
    for (int k = 0; k <= n; ++k) {
      double sg = std::max(padded[k + 1] - padded[k], padded[k + 2] - padded[k + 1]);
      if (!params.consider_endpoints) {  // padded has >= 4 entries here
        if (k == 0) sg = padded[2] - padded[1];
        if (k == n) sg = padded[n + 1] - padded[n];
      }
      if (order[k] != n) sigmas[order[k]] = sg;
    }
    p.sorted.reserve(n);
    for (int k : order) {
      if (k != n) p.sorted.push_back(k);
    }
  }
  const double max_sigma = high - low;
  const double min_sigma =
      params.consider_magic_clip ? (high - low) / std::min(100.0, 1.0 + (n + 1)) : kEps;
  for (int k = 0; k < n; ++k) sigmas[k] = std::clamp(sigmas[k], min_sigma, max_sigma);

  p.mu[n] = 0.5 * (low + high);
  p.sigma[n] = high - low;
  p.log_norm.resize(n + 1);
  for (int k = 0; k <= n; ++k) {
    const double a = (low - p.mu[k]) / p.sigma[k], b = (high - p.mu[k]) / p.sigma[k];
    p.log_norm[k] = LogKernelMass(a, b);
  }
  if (p.step == 0.0) p.log_norm.array() += p.sigma.array().log();
}

Eigen::MatrixXd ParzenEstimator::Sample(std::mt19937_64& rng, int n) const {
  Eigen::MatrixXd out(n, static_cast<Eigen::Index>(params_.size()));
  const int n_kernels = static_cast<int>(mixture_->weights.size());
  for (int j = 0; j < n; ++j) {
    const int k = PickIndex(mixture_->cumulative.data(), n_kernels, UniformUnit(rng));
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
  if (windowed_) {
    const Param& p = params_[0];
    for (Eigen::Index j = 0; j < m; ++j) {
      const double xt = p.log ? std::log(x(j, 0)) : x(j, 0);
      out[j] = (xt < p.tlow || xt > p.thigh) ? -kInf : WindowedLogPdf(xt);
    }
    return out;
  }
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
