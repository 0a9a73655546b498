// The Parzen estimator of TPE: a mixture of product kernels over a search space, built
// from observed parameter values with Optuna 4.x's rules (REFERENCE.md section 4).
//
// Kernel k (one per observation, plus a final prior kernel) has mixture weight w_k. For a
// numerical parameter it is a normal N(mu_k, sigma_k) truncated to the transformed range
// [low', high'] (low' = low - step/2, high' = high + step/2 when there is a step, then
// log when log); with a step the density is replaced by the mass of
// [x - step/2, x + step/2] (edges logged for int log). For a categorical parameter it is
// a row of probabilities over the choices. The prior kernel sits at the range's centre
// with sigma = high' - low' (uniform row for categoricals).
//
// Immutable after construction; Sample() takes the caller's generator, so concurrent
// const use is safe.
#ifndef MGR_SAMPLERS_PARZEN_ESTIMATOR_H_
#define MGR_SAMPLERS_PARZEN_ESTIMATOR_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "samplers/sampler.h"

namespace mgr {

struct ParzenEstimatorParameters {
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  // Scott's-rule widths (Optuna <= 4.x's multivariate estimator); otherwise neighbour gaps
  // per dimension. TpeSampler sets it only with TpeOptions::scott_bandwidth (Optuna 5).
  bool multivariate = false;
};

// Optuna's default_weights(n): n ones below 25, else linspace(1/n, 1, n - 25) followed by
// 25 ones (older observations weigh less).
std::vector<double> TpeDefaultWeights(int64_t n);

// The mixture weights of an estimator: its n observations' weights followed by the
// prior's, normalised (a single weight 1 when n = 0), their logs, and running sums for
// sampling. They depend on nothing else, so TPE builds them once per size and shares
// them between the estimators of all parameters and suggestions.
struct ParzenMixture {
  Eigen::VectorXd weights;
  Eigen::VectorXd log_weights;
  std::vector<double> cumulative;
};
std::shared_ptr<const ParzenMixture> MakeParzenMixture(const double* weights, size_t n,
                                                       double prior_weight);

class ParzenEstimator {
 public:
  // `observations[i]` holds the internal values of the i-th parameter of `space` (map
  // order), one per observation, all of the same length n, oldest first. `weights` has n
  // entries (TpeDefaultWeights(n) in TPE).
  //
  // `sorted` is optional and only read when `space` has one numerical parameter: the
  // observation indices ordered by transformed value (log(x) for log parameters), ties
  // by index, i.e. exactly what a stable argsort gives. A caller that keeps its
  // observations sorted between calls passes it to skip the sort; the estimator is
  // bit-for-bit the same with or without it.
  ParzenEstimator(const SearchSpace& space, const std::vector<std::vector<double>>& observations,
                  const std::vector<double>& weights, const ParzenEstimatorParameters& params,
                  const std::vector<int>* sorted = nullptr);
  // The same with the mixture weights already built: MakeParzenMixture(weights, n,
  // params.prior_weight) for the n observations.
  ParzenEstimator(const SearchSpace& space, const std::vector<std::vector<double>>& observations,
                  std::shared_ptr<const ParzenMixture> mixture,
                  const ParzenEstimatorParameters& params, const std::vector<int>* sorted = nullptr);

  // Draws `n` points; row j holds one internal value per parameter (map order).
  Eigen::MatrixXd Sample(std::mt19937_64& rng, int n) const;
  // Log density (log probability mass for stepped and categorical parameters) of each
  // row of `x` (internal values, map order) under the mixture.
  Eigen::VectorXd LogPdf(const Eigen::MatrixXd& x) const;

  // Introspection (tests): mixture weights, and per parameter (map order) the kernels.
  const Eigen::VectorXd& weights() const { return mixture_->weights; }
  int n_params() const { return static_cast<int>(params_.size()); }
  bool is_categorical(int i) const { return params_[i].categorical; }
  const Eigen::VectorXd& mus(int i) const { return params_[i].mu; }
  const Eigen::VectorXd& sigmas(int i) const { return params_[i].sigma; }
  // Rows = kernels, columns = choices; each row sums to 1.
  const Eigen::MatrixXd& categorical_weights(int i) const { return params_[i].cat_weights; }

 private:
  struct Param {
    bool categorical = false;
    // Numerical.
    bool log = false;
    double step = 0.0;           // 0 for continuous
    double low = 0, high = 0;    // internal bounds, for rounding to the grid
    double tlow = 0, thigh = 0;  // transformed (adapted) bounds
    Eigen::VectorXd mu, sigma;
    Eigen::VectorXd log_norm;  // log mass of [tlow, thigh] per kernel (+ log sigma if continuous)
    Eigen::ArrayXd inv_sigma;
    std::vector<int> sorted;  // observation kernels by mean, if the bandwidth rule sorted them
    // Categorical.
    Eigen::MatrixXd cat_weights;        // kernels x choices
    Eigen::MatrixXd cat_log_weights_t;  // choices x kernels
    Eigen::MatrixXd cat_cumulative;     // kernels x choices
  };

  void BuildNumerical(Param& p, const Distribution& dist, const std::vector<double>& obs,
                      int n_space_params, const ParzenEstimatorParameters& params,
                      const std::vector<int>* sorted);
  void BuildCategorical(Param& p, const CategoricalDistribution& dist,
                        const std::vector<double>& obs, double prior_weight);

  std::vector<Param> params_;
  std::shared_ptr<const ParzenMixture> mixture_;
  // log w_k minus every continuous parameter's log normaliser of kernel k.
  Eigen::ArrayXd base_log_;

  // Fast path of LogPdf for one continuous parameter (univariate TPE): the observation
  // kernels sorted by mean with their base_log_ and 1/sigma, the prior kernel kept apart.
  // Each row only evaluates the kernels whose mean is close enough to contribute more
  // than exp(-kWindowLogRatio) of the row's largest term (see LogPdf).
  bool windowed_ = false;
  Eigen::ArrayXd w_mu_, w_base_, w_inv_sigma_;
  double w_max_base_ = 0, w_max_sigma_ = 0;
  double w_prior_mu_ = 0, w_prior_base_ = 0, w_prior_inv_sigma_ = 0;
  void BuildWindow();
  double WindowedLogPdf(double xt) const;
};

}  // namespace mgr

#endif  // MGR_SAMPLERS_PARZEN_ESTIMATOR_H_
