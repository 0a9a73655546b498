// The Gaussian process of GpSampler, with Optuna 5.1's math (optuna/_gp/gp.py, prior.py,
// acqf.py): a Matérn 5/2 kernel with automatic relevance determination (one inverse squared
// lengthscale per parameter) on parameters normalised to [0, 1], a kernel scale and a noise
// variance, fitted by maximum a posteriori (Optuna's priors) with L-BFGS, and the log expected
// improvement computed stably (Ament et al. 2023, eq. 9), as Optuna's standard_logei.
//
// Categorical parameters use the Hamming distance: a categorical dimension contributes its
// inverse squared lengthscale when the two indices differ, 0 when they are equal.
//
// All classes here are plain values: not thread-safe to mutate, safe to read concurrently.
#ifndef MGR_SAMPLERS_GAUSSIAN_PROCESS_H_
#define MGR_SAMPLERS_GAUSSIAN_PROCESS_H_

#include <functional>
#include <optional>
#include <vector>

#include <Eigen/Dense>

namespace mgr {

// Matérn 5/2 of a scaled squared distance d2: exp(-s) (1 + s + s^2 / 3), s = sqrt(5 d2).
double Matern52(double d2);
// Its derivative with respect to d2: -5/6 (1 + s) exp(-s).
double Matern52Deriv(double d2);

// log E_{x ~ N(0, 1)}[max(0, x + z)], accurate for every finite z (erfcx branch below -25).
double StandardLogEI(double z);
// d StandardLogEI / dz = Phi(z) / EI(z).
double StandardLogEIDeriv(double z);

struct GpParams {
  Eigen::VectorXd inverse_squared_lengthscales;  // one per parameter
  double kernel_scale = 1.0;
  double noise_var = 1.0;
};

// Optuna's defaults (prior.py): the noise floor and the log prior of the kernel parameters,
// -sum(0.1 / ils + 0.1 ils) + Gamma(2, 1)(scale) + Gamma(1.1, 30)(noise), constants omitted.
constexpr double kGpMinimumNoise = 1e-6;
double GpLogPrior(const GpParams& params);

class GaussianProcess {
 public:
  // x: one row per observation, normalised (categoricals: the choice index); y: standardised
  // values, to be maximised. is_categorical has one entry per column of x.
  GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y, std::vector<bool> is_categorical,
                  GpParams params);

  // The prior covariance of the observations (without noise), as Optuna's kernel().
  Eigen::MatrixXd KernelMatrix() const;
  // Optuna's marginal_log_likelihood(): -sum log diag(L) - y' C^-1 y / 2 with C = K + noise I
  // = L L'; constant omitted. nullopt if C is not positive definite.
  std::optional<double> MarginalLogLikelihood() const;

  // Maximises MarginalLogLikelihood() + GpLogPrior() over log(ils), log(scale) and
  // log(noise - minimum_noise) from `initial` (Optuna's gtol 1e-2), as Optuna's
  // fit_kernel_params: if that fails, from the defaults (all ones), and if that fails too
  // the defaults are kept. With deterministic_objective the noise is minimum_noise.
  // Prepares Posterior().
  void Fit(const GpParams& initial, bool deterministic_objective,
           double minimum_noise = kGpMinimumNoise);
  // Prepares Posterior() with the current parameters. False if C is not positive definite.
  bool Prepare();

  // Posterior mean and variance (clamped at 0) at a normalised point, and if mean_grad /
  // var_grad are given their gradients with respect to the point (continuous dimensions;
  // categorical ones get 0). Needs Fit() or Prepare().
  void Posterior(const Eigen::VectorXd& x, double* mean, double* var,
                 Eigen::VectorXd* mean_grad = nullptr, Eigen::VectorXd* var_grad = nullptr) const;

  // log EI of the posterior at x over `threshold` (Optuna's LogEI with stabilizing noise
  // 1e-12), and its gradient if `grad` is given.
  double LogEI(const Eigen::VectorXd& x, double threshold, Eigen::VectorXd* grad = nullptr) const;
  // LogEI at each row of xs (no gradient), with one triangular solve for all of them.
  Eigen::VectorXd LogEIBatch(const Eigen::MatrixXd& xs, double threshold) const;

  const GpParams& params() const { return params_; }
  int dims() const { return static_cast<int>(x_.cols()); }

 private:
  friend class ConditionalGp;

  // Squared distance per dimension between rows/points (Hamming for categoricals).
  double Sqd(double a, double b, int dim) const;
  // k(x, row i of points) into k, and its derivative in the scaled squared distance into
  // dk_dr2 if given.
  void KernelAt(const Eigen::VectorXd& x, const Eigen::MatrixXd& points, Eigen::VectorXd* k,
                Eigen::VectorXd* dk_dr2) const;
  // sum_i w_i d k(x, row i of points) / dx from KernelAt's dk_dr2; 0 on categorical dimensions.
  Eigen::VectorXd KernelGrad(const Eigen::VectorXd& x, const Eigen::MatrixXd& points,
                             const Eigen::VectorXd& dk_dr2, const Eigen::VectorXd& w) const;
  // k(rows of a, rows of b) into k (a.rows() x b.rows()) with whole-block array expressions
  // (vectorised exponentials); r2 and s are scratch, kept by callers that loop.
  void KernelBlock(const Eigen::MatrixXd& a, const Eigen::Ref<const Eigen::MatrixXd>& b,
                   Eigen::ArrayXXd* r2, Eigen::ArrayXXd* s, Eigen::MatrixXd* k) const;
  // Posterior() that also returns k(x, X) and KernelAt's dk_dr2 (when mean_grad is given).
  void PosteriorWithKernel(const Eigen::VectorXd& x, double* mean, double* var,
                           Eigen::VectorXd* mean_grad, Eigen::VectorXd* var_grad,
                           Eigen::VectorXd* k, Eigen::VectorXd* dk_dr2) const;
  // Posterior mean and variance at each row of xs, and w' k(X, xs) into w_k if w is given.
  void PosteriorBatch(const Eigen::MatrixXd& xs, Eigen::VectorXd* mean, Eigen::VectorXd* var,
                      const Eigen::MatrixXd* w = nullptr, Eigen::MatrixXd* w_k = nullptr) const;

  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
  std::vector<bool> is_categorical_;
  GpParams params_;
  // After Prepare(): the inverse of C's Cholesky factor, C^-1 and C^-1 y.
  Eigen::MatrixXd chol_inv_;
  Eigen::MatrixXd cov_inv_;
  Eigen::VectorXd cov_inv_y_;
};

// The GP given, besides its data, fantasy values of f at the points of other RUNNING trials:
// Optuna's ConditionalGPRegressor, for qLogEI. Sample s uses row s of `normal_samples`
// (standard normal, n_samples x (running + 1)): its first columns draw the fantasies from the
// joint posterior at `running`, its last column f(x) from the posterior given the data and
// those fantasies. Fixed samples make the draws at x a smooth function of x. Refers to `gp`,
// which must outlive it.
class ConditionalGp {
 public:
  // nullopt if the posterior covariance at `running` (plus 1e-12 I) is not positive definite.
  // gp needs Fit() or Prepare().
  static std::optional<ConditionalGp> Create(const GaussianProcess& gp, Eigen::MatrixXd running,
                                             const Eigen::MatrixXd& normal_samples);

  // The fantasies, n_samples x running.
  const Eigen::MatrixXd& fantasies() const { return fantasies_; }
  int n_samples() const { return static_cast<int>(fantasies_.rows()); }
  // f(x) of each sample, and its Jacobian in x (n_samples x dims) if jac is given.
  Eigen::VectorXd Sample(const Eigen::VectorXd& x, Eigen::MatrixXd* jac = nullptr) const;
  // Sample() at each row of xs, one column per row (n_samples x xs.rows()).
  Eigen::MatrixXd SampleBatch(const Eigen::MatrixXd& xs) const;

 private:
  explicit ConditionalGp(const GaussianProcess& gp) : gp_(&gp) {}

  const GaussianProcess* gp_;
  Eigen::MatrixXd running_;
  Eigen::MatrixXd w_;          // C^-1 k(X, running), n x running
  Eigen::MatrixXd chol_;       // Cholesky factor of the posterior covariance at running
  Eigen::MatrixXd delta_;      // its inverse times the fantasies' deviations, running x samples
  Eigen::VectorXd z_;          // the normal samples' last column
  Eigen::MatrixXd fantasies_;  // n_samples x running
};

// Box-constrained L-BFGS minimiser (projected directions, backtracking line search along the
// projected path): enough for the smooth, low-dimensional problems of the GP sampler. Stops
// when the projected gradient's largest component is <= pgtol, when f improves by less than
// ftol relatively, or after max_iters iterations. lower/upper may be empty (unbounded).
struct LbfgsResult {
  Eigen::VectorXd x;
  double f;
  int iterations;
  bool converged;  // false: max_iters reached or f was not finite at the start
};
LbfgsResult MinimizeLbfgsB(
    const std::function<double(const Eigen::VectorXd&, Eigen::VectorXd*)>& f_and_grad,
    Eigen::VectorXd x0, const Eigen::VectorXd& lower, const Eigen::VectorXd& upper, double pgtol,
    int max_iters, double ftol = 2.220446049250313e-09, int memory = 10);

}  // namespace mgr

#endif  // MGR_SAMPLERS_GAUSSIAN_PROCESS_H_
