// The acquisition functions GpSampler maximises, as Optuna 5.1's optuna/_gp/acqf.py: log
// expected improvement, and with other RUNNING trials qLogEI, the log of the expected
// improvement of the best of (fantasies at the running trials' points, f(x)) over quasi-Monte
// Carlo samples (Ament et al. 2023, eq. 10). The candidate scoring and the local searches of
// GpSampler use both through Acquisition.
//
// Plain values referring to their GaussianProcess; safe to read concurrently.
#ifndef MGR_SAMPLERS_ACQUISITION_H_
#define MGR_SAMPLERS_ACQUISITION_H_

#include <cstdint>
#include <optional>

#include <Eigen/Dense>

#include "samplers/gaussian_process.h"

namespace mgr {

class Acquisition {
 public:
  virtual ~Acquisition() = default;
  // The value at a normalised point, and its gradient in it if grad is given (0 on
  // categorical dimensions).
  virtual double Eval(const Eigen::VectorXd& x, Eigen::VectorXd* grad = nullptr) const = 0;
  // Eval at each row of xs, batched.
  virtual Eigen::VectorXd EvalBatch(const Eigen::MatrixXd& xs) const = 0;
};

// Optuna's LogEI over `threshold` (the best standardised value).
class LogEIAcquisition final : public Acquisition {
 public:
  LogEIAcquisition(const GaussianProcess& gp, double threshold) : gp_(gp), threshold_(threshold) {}
  double Eval(const Eigen::VectorXd& x, Eigen::VectorXd* grad = nullptr) const override;
  Eigen::VectorXd EvalBatch(const Eigen::MatrixXd& xs) const override;

 private:
  const GaussianProcess& gp_;
  double threshold_;
};

// Optuna's qLogEI: log mean over the samples of max(utility of each fantasy, utility of f(x)),
// utility log(max(y - threshold, 1e-12)). Its gradient flows only through the samples where
// f(x)'s utility is the largest and above the floor.
class QLogEIAcquisition final : public Acquisition {
 public:
  QLogEIAcquisition(ConditionalGp gp, double threshold);
  double Eval(const Eigen::VectorXd& x, Eigen::VectorXd* grad = nullptr) const override;
  Eigen::VectorXd EvalBatch(const Eigen::MatrixXd& xs) const override;

 private:
  // The log mean max of f(x)'s samples, and d value / d sample into weights if given.
  double LogMeanMax(const Eigen::Ref<const Eigen::ArrayXd>& samples, Eigen::ArrayXd* weights) const;

  ConditionalGp gp_;
  double threshold_;
  Eigen::ArrayXd fantasy_max_;  // per sample, the best utility of the fantasies
};

// n points of a scrambled Sobol sequence in `dims` dimensions (seeded by `seed`) mapped
// through the inverse normal cdf: Optuna's sample_from_normal_sobol (not bit-identical to
// torch's SobolEngine). nullopt beyond QmcSequence::kMaxSobolDims.
std::optional<Eigen::MatrixXd> NormalSobolSamples(int dims, int n, uint64_t seed);

}  // namespace mgr

#endif  // MGR_SAMPLERS_ACQUISITION_H_
