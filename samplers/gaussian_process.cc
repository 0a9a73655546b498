#include "samplers/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <utility>

namespace mgr {
namespace {

constexpr double kSqrt5 = 2.23606797749978969641;
constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kStabilizingNoise = 1e-12;  // Optuna's LogEI default

// 1 - w sqrt(pi) erfcx(w) for w = -z / sqrt(2) >= 17 (z <= -25), by its asymptotic series in
// t = 1 / z^2: t - 3 t^2 + 15 t^3 - ... Summed directly, it avoids the cancellation of
// Optuna's 1 + sqrt(pi / 2) z erfcx(-z / sqrt(2)) (same value to rounding).
double TailFactor(double z) {
  const double t = 1.0 / (z * z);
  double term = t, sum = 0.0;
  for (int k = 1; k < 30; ++k) {
    sum += term;
    term *= -(2.0 * k + 1.0) * t;
    if (std::abs(term) < 1e-17 * std::abs(sum)) break;
  }
  return sum;
}

// Overwrites the lower triangle of `a` (lower triangular) with its inverse, by 2 x 2 blocks:
// [A 0; B C]^-1 = [A^-1 0; -C^-1 B A^-1 C^-1]. A third of the flops of solving against the
// identity, which does not skip the zeros.
void InvertLowerInPlace(Eigen::Ref<Eigen::MatrixXd> a) {
  const Eigen::Index n = a.rows();
  if (n <= 16) {
    for (Eigen::Index j = 0; j < n; ++j) {
      a(j, j) = 1.0 / a(j, j);
      for (Eigen::Index i = j + 1; i < n; ++i) {
        double sum = 0.0;
        for (Eigen::Index k = j; k < i; ++k) sum += a(i, k) * a(k, j);
        a(i, j) = -sum / a(i, i);
      }
    }
    return;
  }
  const Eigen::Index h = n / 2;
  InvertLowerInPlace(a.topLeftCorner(h, h));
  InvertLowerInPlace(a.bottomRightCorner(n - h, n - h));
  Eigen::MatrixXd b =
      a.bottomLeftCorner(n - h, h) * a.topLeftCorner(h, h).triangularView<Eigen::Lower>();
  a.bottomLeftCorner(n - h, h).noalias() =
      -(a.bottomRightCorner(n - h, n - h).triangularView<Eigen::Lower>() * b);
}

// p = m' m for a lower-triangular m (zeros above the diagonal), by 2 x 2 blocks: with
// m = [A 0; B C], m' m = [A'A + B'B, B'C; C'B, C'C]. Half the flops of a triangular-dense
// product.
void LowerGram(const Eigen::Ref<const Eigen::MatrixXd>& m, Eigen::Ref<Eigen::MatrixXd> p) {
  const Eigen::Index n = m.rows();
  if (n <= 16) {
    p.noalias() = m.transpose() * m;
    return;
  }
  const Eigen::Index h = n / 2;
  const auto b = m.bottomLeftCorner(n - h, h);
  const auto c = m.bottomRightCorner(n - h, n - h);
  LowerGram(m.topLeftCorner(h, h), p.topLeftCorner(h, h));
  p.topLeftCorner(h, h).noalias() += b.transpose() * b;
  p.bottomLeftCorner(n - h, h).noalias() = c.transpose().triangularView<Eigen::Upper>() * b;
  p.topRightCorner(h, n - h) = p.bottomLeftCorner(n - h, h).transpose();
  LowerGram(c, p.bottomRightCorner(n - h, n - h));
}

}  // namespace

double Matern52(double d2) {
  const double s = std::sqrt(5.0 * d2);
  return std::exp(-s) * ((5.0 / 3.0) * d2 + s + 1.0);
}

double Matern52Deriv(double d2) {
  const double s = std::sqrt(5.0 * d2);
  return (-5.0 / 6.0) * (s + 1.0) * std::exp(-s);
}

double StandardLogEI(double z) {
  if (z >= -25.0) {
    return std::log(0.5 * z * std::erfc(-kSqrtHalf * z) + std::exp(-0.5 * z * z) * kInvSqrt2Pi);
  }
  return -0.5 * z * z - kLogSqrt2Pi + std::log(TailFactor(z));
}

double StandardLogEIDeriv(double z) {
  if (z >= -25.0) {
    const double cdf = 0.5 * std::erfc(-kSqrtHalf * z);
    return cdf / (0.5 * z * std::erfc(-kSqrtHalf * z) + std::exp(-0.5 * z * z) * kInvSqrt2Pi);
  }
  const double s = TailFactor(z);
  return (1.0 - s) / (-z * s);
}

double GpLogPrior(const GpParams& p) {
  const Eigen::ArrayXd ils = p.inverse_squared_lengthscales.array();
  return -(0.1 / ils + 0.1 * ils).sum() + (2.0 - 1.0) * std::log(p.kernel_scale) - p.kernel_scale +
         (1.1 - 1.0) * std::log(p.noise_var) - 30.0 * p.noise_var;
}

GaussianProcess::GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y,
                                 std::vector<bool> is_categorical, GpParams params)
    : x_(std::move(x)),
      y_(std::move(y)),
      is_categorical_(std::move(is_categorical)),
      params_(std::move(params)) {}

double GaussianProcess::Sqd(double a, double b, int dim) const {
  if (is_categorical_[dim]) return a != b ? 1.0 : 0.0;
  return (a - b) * (a - b);
}

Eigen::MatrixXd GaussianProcess::KernelMatrix() const {
  const int n = static_cast<int>(x_.rows());
  Eigen::MatrixXd k(n, n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) {
      double d2 = 0.0;
      for (int d = 0; d < dims(); ++d) {
        d2 += Sqd(x_(i, d), x_(j, d), d) * params_.inverse_squared_lengthscales[d];
      }
      k(i, j) = k(j, i) = params_.kernel_scale * Matern52(d2);
    }
  }
  return k;
}

std::optional<double> GaussianProcess::MarginalLogLikelihood() const {
  Eigen::MatrixXd c = KernelMatrix();
  c.diagonal().array() += params_.noise_var;
  Eigen::LLT<Eigen::MatrixXd> llt(c);
  if (llt.info() != Eigen::Success) return std::nullopt;
  const Eigen::MatrixXd& l = llt.matrixLLT();
  const Eigen::VectorXd u = llt.matrixL().solve(y_);
  return -l.diagonal().array().log().sum() - 0.5 * u.squaredNorm();
}

bool GaussianProcess::Prepare() {
  Eigen::MatrixXd c = KernelMatrix();
  c.diagonal().array() += params_.noise_var;
  Eigen::LLT<Eigen::MatrixXd> llt(c);
  if (llt.info() != Eigen::Success) return false;
  const int n = static_cast<int>(x_.rows());
  chol_inv_ = llt.matrixL();
  InvertLowerInPlace(chol_inv_);
  cov_inv_ = llt.solve(Eigen::MatrixXd::Identity(n, n));
  cov_inv_y_ = llt.solve(y_);
  return true;
}

void GaussianProcess::Fit(const GpParams& initial, bool deterministic_objective,
                          double minimum_noise) {
  const int n = static_cast<int>(x_.rows());
  const int dims = this->dims();
  // Per-dimension squared distances, computed once for all the loss evaluations.
  std::vector<Eigen::MatrixXd> sqd(dims, Eigen::MatrixXd(n, n));
  for (int d = 0; d < dims; ++d) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j <= i; ++j) sqd[d](i, j) = sqd[d](j, i) = Sqd(x_(i, d), x_(j, d), d);
    }
  }
  auto to_params = [&](const Eigen::VectorXd& raw) {
    GpParams p;
    p.inverse_squared_lengthscales = raw.head(dims).array().exp();
    p.kernel_scale = std::exp(raw[dims]);
    p.noise_var = deterministic_objective ? minimum_noise : std::exp(raw[dims + 1]) + minimum_noise;
    return p;
  };
  // -(marginal log likelihood + log prior) and its gradient in the raw (log) parameters.
  // Whole-matrix array expressions, so that Eigen vectorises the square roots and exponentials.
  Eigen::MatrixXd r2(n, n), kern(n, n), dkern(n, n), c(n, n), w(n, n);
  Eigen::ArrayXXd s(n, n), e(n, n);
  auto loss = [&](const Eigen::VectorXd& raw, Eigen::VectorXd* grad) -> double {
    const GpParams p = to_params(raw);
    r2.setZero();
    for (int d = 0; d < dims; ++d) r2 += sqd[d] * p.inverse_squared_lengthscales[d];
    s = (5.0 * r2.array()).sqrt();
    e = (-s).exp();
    kern = (p.kernel_scale * e * ((5.0 / 3.0) * r2.array() + s + 1.0)).matrix();
    c = kern;
    c.diagonal().array() += p.noise_var;
    Eigen::LLT<Eigen::MatrixXd> llt(c);
    if (llt.info() != Eigen::Success) return std::numeric_limits<double>::infinity();
    const Eigen::VectorXd alpha = llt.solve(y_);
    const double mll = -llt.matrixLLT().diagonal().array().log().sum() - 0.5 * y_.dot(alpha);
    const double value = -mll - GpLogPrior(p);
    if (!std::isfinite(value)) return std::numeric_limits<double>::infinity();
    // d mll / d theta = tr((alpha alpha' - C^-1) dC/dtheta) / 2.
    // C^-1 = L^-T L^-1.
    w = llt.matrixL();
    InvertLowerInPlace(w);
    LowerGram(w, c);
    w = alpha * alpha.transpose() - c;
    grad->resize(dims + 2);
    dkern = (p.kernel_scale * (-5.0 / 6.0) * (s + 1.0) * e * w.array()).matrix();
    for (int d = 0; d < dims; ++d) {
      const double ils = p.inverse_squared_lengthscales[d];
      const double dmll = 0.5 * ils * dkern.cwiseProduct(sqd[d]).sum();
      const double dprior = 0.1 / ils - 0.1 * ils;
      (*grad)[d] = -dmll - dprior;
    }
    (*grad)[dims] = -0.5 * w.cwiseProduct(kern).sum() - (1.0 - p.kernel_scale);
    if (deterministic_objective) {
      (*grad)[dims + 1] = 0.0;
    } else {
      const double e = p.noise_var - minimum_noise;
      (*grad)[dims + 1] = -0.5 * e * w.trace() - (0.1 / p.noise_var - 30.0) * e;
    }
    return value;
  };
  GpParams defaults;
  defaults.inverse_squared_lengthscales = Eigen::VectorXd::Ones(dims);
  defaults.kernel_scale = 1.0;
  defaults.noise_var = 1.0;
  const bool initial_fits = initial.inverse_squared_lengthscales.size() == dims;
  const GpParams* starts[] = {initial_fits ? &initial : &defaults, &defaults};
  for (const GpParams* start : starts) {
    Eigen::VectorXd raw(dims + 2);
    raw.head(dims) = start->inverse_squared_lengthscales.array().log();
    raw[dims] = std::log(start->kernel_scale);
    // Optuna starts the noise 1% of minimum_noise above the floor, for stability.
    raw[dims + 1] =
        std::log(std::max(start->noise_var - 0.99 * minimum_noise, 0.01 * minimum_noise));
    const LbfgsResult result = MinimizeLbfgsB(loss, raw, {}, {}, 1e-2, 15000);
    if (std::isfinite(result.f) && result.x.allFinite()) {
      params_ = to_params(result.x);
      if (Prepare()) return;
    }
  }
  params_ = defaults;
  Prepare();
}

void GaussianProcess::KernelAt(const Eigen::VectorXd& x, const Eigen::MatrixXd& points,
                               Eigen::VectorXd* k, Eigen::VectorXd* dk_dr2) const {
  const int n = static_cast<int>(points.rows());
  const Eigen::VectorXd& ils = params_.inverse_squared_lengthscales;
  k->resize(n);
  if (dk_dr2 != nullptr) dk_dr2->resize(n);
  for (int i = 0; i < n; ++i) {
    double d2 = 0.0;
    for (int d = 0; d < dims(); ++d) d2 += Sqd(x[d], points(i, d), d) * ils[d];
    (*k)[i] = params_.kernel_scale * Matern52(d2);
    if (dk_dr2 != nullptr) (*dk_dr2)[i] = params_.kernel_scale * Matern52Deriv(d2);
  }
}

Eigen::VectorXd GaussianProcess::KernelGrad(const Eigen::VectorXd& x, const Eigen::MatrixXd& points,
                                            const Eigen::VectorXd& dk_dr2,
                                            const Eigen::VectorXd& w) const {
  Eigen::VectorXd grad = Eigen::VectorXd::Zero(dims());
  for (int d = 0; d < dims(); ++d) {
    if (is_categorical_[d]) continue;
    // dk_i / dx_d = k'(r2_i) * 2 (x_d - P_id) ils_d.
    double g = 0.0;
    for (int i = 0; i < points.rows(); ++i) g += w[i] * dk_dr2[i] * (x[d] - points(i, d));
    grad[d] = 2.0 * params_.inverse_squared_lengthscales[d] * g;
  }
  return grad;
}

void GaussianProcess::KernelBlock(const Eigen::MatrixXd& a,
                                  const Eigen::Ref<const Eigen::MatrixXd>& b, Eigen::ArrayXXd* r2,
                                  Eigen::ArrayXXd* s, Eigen::MatrixXd* k) const {
  const Eigen::VectorXd& ils = params_.inverse_squared_lengthscales;
  r2->setZero(a.rows(), b.rows());
  for (int d = 0; d < dims(); ++d) {
    for (int j = 0; j < b.rows(); ++j) {
      const double bd = b(j, d);
      if (is_categorical_[d]) {
        r2->col(j) += ils[d] * (a.col(d).array() != bd).cast<double>();
      } else {
        r2->col(j) += ils[d] * (a.col(d).array() - bd).square();
      }
    }
  }
  *s = (5.0 * *r2).sqrt();
  *k = (params_.kernel_scale * (-*s).exp() * ((5.0 / 3.0) * *r2 + *s + 1.0)).matrix();
}

void GaussianProcess::Posterior(const Eigen::VectorXd& x, double* mean, double* var,
                                Eigen::VectorXd* mean_grad, Eigen::VectorXd* var_grad) const {
  Eigen::VectorXd k, dk_dr2;
  PosteriorWithKernel(x, mean, var, mean_grad, var_grad, &k, &dk_dr2);
}

void GaussianProcess::PosteriorWithKernel(const Eigen::VectorXd& x, double* mean, double* var,
                                          Eigen::VectorXd* mean_grad, Eigen::VectorXd* var_grad,
                                          Eigen::VectorXd* k, Eigen::VectorXd* dk_dr2) const {
  KernelAt(x, x_, k, mean_grad != nullptr ? dk_dr2 : nullptr);
  const Eigen::VectorXd v = cov_inv_ * *k;
  *mean = k->dot(cov_inv_y_);
  const double raw_var = params_.kernel_scale - k->dot(v);
  *var = std::max(raw_var, 0.0);
  if (mean_grad == nullptr) return;
  *mean_grad = KernelGrad(x, x_, *dk_dr2, cov_inv_y_);
  if (raw_var > 0.0) {
    *var_grad = -2.0 * KernelGrad(x, x_, *dk_dr2, v);
  } else {
    var_grad->setZero(dims());
  }
}

double GaussianProcess::LogEI(const Eigen::VectorXd& x, double threshold,
                              Eigen::VectorXd* grad) const {
  double mean, var;
  Eigen::VectorXd mean_grad, var_grad;
  Posterior(x, &mean, &var, grad ? &mean_grad : nullptr, grad ? &var_grad : nullptr);
  const double sigma = std::sqrt(var + kStabilizingNoise);
  const double z = (mean - threshold) / sigma;
  const double value = StandardLogEI(z) + std::log(sigma);
  if (grad != nullptr) {
    const double h = StandardLogEIDeriv(z);
    // d/dvar = (h * dz/dsigma + 1 / sigma) * dsigma/dvar, dz/dsigma = -z / sigma.
    const double dvar = (-h * z / sigma + 1.0 / sigma) / (2.0 * sigma);
    *grad = (h / sigma) * mean_grad + dvar * var_grad;
  }
  return value;
}

void GaussianProcess::PosteriorBatch(const Eigen::MatrixXd& xs, Eigen::VectorXd* mean,
                                     Eigen::VectorXd* var, const Eigen::MatrixXd* w,
                                     Eigen::MatrixXd* w_k) const {
  const int n = static_cast<int>(x_.rows());
  const int m = static_cast<int>(xs.rows());
  // Blocks of points (one column each) small enough to stay in cache and below glibc's mmap
  // threshold.
  constexpr int kBlock = 128;
  Eigen::ArrayXXd r2(n, kBlock), s(n, kBlock);
  Eigen::MatrixXd k(n, kBlock), v(n, kBlock);
  mean->resize(m);
  var->resize(m);
  if (w != nullptr) w_k->resize(w->cols(), m);
  for (int start = 0; start < m; start += kBlock) {
    const int b = std::min(kBlock, m - start);
    KernelBlock(x_, xs.middleRows(start, b), &r2, &s, &k);
    // var = scale - |L^-1 k|^2, L^-1 k as a triangular product.
    v.noalias() = chol_inv_.triangularView<Eigen::Lower>() * k;
    mean->segment(start, b).noalias() = k.transpose() * cov_inv_y_;
    var->segment(start, b) =
        (params_.kernel_scale - v.colwise().squaredNorm().transpose().array()).max(0.0);
    if (w != nullptr) w_k->middleCols(start, b).noalias() = w->transpose() * k;
  }
}

Eigen::VectorXd GaussianProcess::LogEIBatch(const Eigen::MatrixXd& xs, double threshold) const {
  Eigen::VectorXd mean, var;
  PosteriorBatch(xs, &mean, &var);
  Eigen::VectorXd out(xs.rows());
  for (int j = 0; j < xs.rows(); ++j) {
    const double sigma = std::sqrt(var[j] + kStabilizingNoise);
    out[j] = StandardLogEI((mean[j] - threshold) / sigma) + std::log(sigma);
  }
  return out;
}

std::optional<ConditionalGp> ConditionalGp::Create(const GaussianProcess& gp,
                                                   Eigen::MatrixXd running,
                                                   const Eigen::MatrixXd& normal_samples) {
  const int r = static_cast<int>(running.rows());
  ConditionalGp c(gp);
  Eigen::ArrayXXd r2, s;
  Eigen::MatrixXd k_xr, k_rr;
  gp.KernelBlock(gp.x_, running, &r2, &s, &k_xr);
  gp.KernelBlock(running, running, &r2, &s, &k_rr);
  c.w_ = gp.cov_inv_ * k_xr;
  // Optuna's posterior(joint=True): the diagonal clamped at 0, then the stabilising noise.
  Eigen::MatrixXd cov = k_rr - k_xr.transpose() * c.w_;
  cov.diagonal() = cov.diagonal().cwiseMax(0.0).array() + kStabilizingNoise;
  Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success) return std::nullopt;
  c.chol_ = llt.matrixL();
  const Eigen::VectorXd mean_r = k_xr.transpose() * gp.cov_inv_y_;
  const Eigen::MatrixXd z_r = normal_samples.leftCols(r);
  c.fantasies_ = (z_r * c.chol_.transpose()).rowwise() + mean_r.transpose();
  // cov^-1 (fantasies - mean)' = L^-T L^-1 L z_r' = L^-T z_r'.
  c.delta_ = c.chol_.transpose().triangularView<Eigen::Upper>().solve(z_r.transpose());
  c.z_ = normal_samples.col(r);
  c.running_ = std::move(running);
  return c;
}

Eigen::VectorXd ConditionalGp::Sample(const Eigen::VectorXd& x, Eigen::MatrixXd* jac) const {
  // Given the fantasies, f(x) has mean mu + c' cov^-1 (f_r - mu_r) and variance
  // var - c' cov^-1 c, with c the posterior covariance between f(x) and f(running).
  double mu, var;
  Eigen::VectorXd mu_grad, var_grad, k, dk_dr2, k_r, dk_r;
  const bool grad = jac != nullptr;
  gp_->PosteriorWithKernel(x, &mu, &var, grad ? &mu_grad : nullptr, grad ? &var_grad : nullptr, &k,
                           &dk_dr2);
  gp_->KernelAt(x, running_, &k_r, grad ? &dk_r : nullptr);
  const Eigen::VectorXd c = k_r - w_.transpose() * k;
  const auto l = chol_.triangularView<Eigen::Lower>();
  const Eigen::VectorXd u = l.solve(c);
  const double cond_var = std::max(var + kStabilizingNoise - u.squaredNorm(), 0.0);
  const double sd = std::sqrt(cond_var);
  const Eigen::VectorXd samples = (delta_.transpose() * c).array() + mu + sd * z_.array();
  if (!grad) return samples;
  const int r = static_cast<int>(running_.rows());
  Eigen::MatrixXd dc(r, gp_->dims());
  for (int j = 0; j < r; ++j) {
    dc.row(j) = (gp_->KernelGrad(x, running_, dk_r, Eigen::VectorXd::Unit(r, j)) -
                 gp_->KernelGrad(x, gp_->x_, dk_dr2, w_.col(j)))
                    .transpose();
  }
  const Eigen::VectorXd cov_inv_c = chol_.transpose().triangularView<Eigen::Upper>().solve(u);
  Eigen::VectorXd sd_grad = Eigen::VectorXd::Zero(gp_->dims());
  if (cond_var > 0.0) sd_grad = (var_grad - 2.0 * dc.transpose() * cov_inv_c) / (2.0 * sd);
  *jac = delta_.transpose() * dc + z_ * sd_grad.transpose();
  jac->rowwise() += mu_grad.transpose();
  return samples;
}

Eigen::MatrixXd ConditionalGp::SampleBatch(const Eigen::MatrixXd& xs) const {
  Eigen::VectorXd mu, var;
  Eigen::MatrixXd w_k, k_r;
  gp_->PosteriorBatch(xs, &mu, &var, &w_, &w_k);
  Eigen::ArrayXXd r2, s;
  gp_->KernelBlock(running_, xs, &r2, &s, &k_r);
  const Eigen::MatrixXd c = k_r - w_k;  // running x m
  const Eigen::MatrixXd u = chol_.triangularView<Eigen::Lower>().solve(c);
  const Eigen::ArrayXd sd =
      (var.array() + kStabilizingNoise - u.colwise().squaredNorm().transpose().array())
          .max(0.0)
          .sqrt();
  Eigen::MatrixXd samples = delta_.transpose() * c;  // n_samples x m
  samples.array().rowwise() += mu.transpose().array();
  samples.noalias() += z_ * sd.matrix().transpose();
  return samples;
}

LbfgsResult MinimizeLbfgsB(
    const std::function<double(const Eigen::VectorXd&, Eigen::VectorXd*)>& f_and_grad,
    Eigen::VectorXd x0, const Eigen::VectorXd& lower, const Eigen::VectorXd& upper, double pgtol,
    int max_iters, double ftol, int memory) {
  const bool bounded = lower.size() > 0;
  const int n = static_cast<int>(x0.size());
  auto project = [&](Eigen::VectorXd& x) {
    if (bounded) x = x.cwiseMax(lower).cwiseMin(upper);
  };
  project(x0);
  Eigen::VectorXd x = std::move(x0), g(n), gn(n), xn(n);
  double f = f_and_grad(x, &g);
  if (!std::isfinite(f)) return {x, f, 0, false};
  std::deque<std::pair<Eigen::VectorXd, Eigen::VectorXd>> history;  // (s, y) pairs
  std::vector<bool> free_var(n, true);
  for (int it = 0; it < max_iters; ++it) {
    // Projected gradient as L-BFGS-B's: P(x - g) - x.
    Eigen::VectorXd pg = -g;
    if (bounded) {
      Eigen::VectorXd t = x - g;
      project(t);
      pg = t - x;
    }
    if (pg.lpNorm<Eigen::Infinity>() <= pgtol) return {x, f, it, true};
    // Variables held at a bound by the gradient stay there this iteration.
    for (int i = 0; i < n; ++i) {
      free_var[i] = !bounded || !((x[i] <= lower[i] && g[i] > 0) || (x[i] >= upper[i] && g[i] < 0));
    }
    auto mask = [&](Eigen::VectorXd& v) {
      for (int i = 0; i < n; ++i)
        if (!free_var[i]) v[i] = 0.0;
    };
    Eigen::VectorXd q = g;
    mask(q);
    std::vector<double> a(history.size());
    for (int k = static_cast<int>(history.size()) - 1; k >= 0; --k) {
      const auto& [s, y] = history[k];
      a[k] = s.dot(q) / y.dot(s);
      q -= a[k] * y;
    }
    if (!history.empty()) {
      const auto& [s, y] = history.back();
      q *= s.dot(y) / y.squaredNorm();
    } else {
      q /= std::max(1.0, g.norm());  // first step: at most 1 long, as L-BFGS-B's
    }
    for (size_t k = 0; k < history.size(); ++k) {
      const auto& [s, y] = history[k];
      q += s * (a[k] - y.dot(q) / y.dot(s));
    }
    Eigen::VectorXd d = -q;
    mask(d);
    if (!(d.dot(g) < 0.0)) {
      d = -g;
      mask(d);
      history.clear();
    }
    // Line search along the projected path for the Wolfe conditions (sufficient decrease,
    // and curvature where the path is not bent by a bound), as L-BFGS-B's: a step that
    // decreases f too little is shortened (quadratic interpolation), one whose slope is still
    // steep is lengthened, so that the (s, y) pairs carry curvature.
    const double slope = g.dot(d);
    double step = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity(), fn = f;
    bool accepted = false;
    Eigen::VectorXd x_ok, g_ok;
    double f_ok = f;
    for (int ls = 0; ls < 30; ++ls) {
      xn = x + step * d;
      project(xn);
      fn = f_and_grad(xn, &gn);
      if (!std::isfinite(fn) || fn > f + 1e-3 * g.dot(xn - x)) {
        if (accepted) break;  // extended too far: keep the last acceptable step
        hi = step;
        const double q =
            std::isfinite(fn) ? -slope * step * step / (2 * (fn - f - slope * step)) : 0.5 * step;
        step = std::clamp(q, lo + 0.1 * (hi - lo), lo + 0.5 * (hi - lo));
        continue;
      }
      accepted = true;
      x_ok = xn;
      g_ok = gn;
      f_ok = fn;
      const bool straight = (xn - (x + step * d)).squaredNorm() == 0.0;
      if (!straight || gn.dot(d) >= 0.9 * slope) break;
      lo = step;  // still descending steeply: go further
      step = std::isfinite(hi) ? 0.5 * (lo + hi) : 2.0 * step;
    }
    if (accepted) {
      xn = std::move(x_ok);
      gn = std::move(g_ok);
      fn = f_ok;
    }
    if (!accepted) return {x, f, it, false};
    Eigen::VectorXd s = xn - x, y = gn - g;
    if (s.dot(y) > 1e-10 * y.squaredNorm()) {
      history.emplace_back(std::move(s), std::move(y));
      if (static_cast<int>(history.size()) > memory) history.pop_front();
    }
    const double rel = (f - fn) / std::max({std::abs(f), std::abs(fn), 1.0});
    x = xn;
    f = fn;
    g = gn;
    if (rel <= ftol) return {x, f, it + 1, true};
  }
  return {x, f, max_iters, false};
}

}  // namespace mgr
