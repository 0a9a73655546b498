#include "samplers/acquisition.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "samplers/qmc_sampler.h"
#include "samplers/truncnorm.h"

namespace mgr {
namespace {

constexpr double kUtilityFloor = 1e-12;  // Optuna's _EPS: keeps log and its gradient finite

}  // namespace

double LogEIAcquisition::Eval(const Eigen::VectorXd& x, Eigen::VectorXd* grad) const {
  return gp_.LogEI(x, threshold_, grad);
}

Eigen::VectorXd LogEIAcquisition::EvalBatch(const Eigen::MatrixXd& xs) const {
  return gp_.LogEIBatch(xs, threshold_);
}

QLogEIAcquisition::QLogEIAcquisition(ConditionalGp gp, double threshold)
    : gp_(std::move(gp)), threshold_(threshold) {
  fantasy_max_ =
      ((gp_.fantasies().array() - threshold_).max(kUtilityFloor).log()).rowwise().maxCoeff();
}

double QLogEIAcquisition::LogMeanMax(const Eigen::Ref<const Eigen::ArrayXd>& samples,
                                     Eigen::ArrayXd* weights) const {
  const Eigen::ArrayXd gain = samples - threshold_;
  const Eigen::ArrayXd utility = gain.max(kUtilityFloor).log();
  const Eigen::ArrayXd best = utility.max(fantasy_max_);
  const double top = best.maxCoeff();
  const Eigen::ArrayXd e = (best - top).exp();
  const double sum = e.sum();
  if (weights != nullptr) {
    // Softmax weight / gain where f(x) is the best and above the floor; 0 elsewhere.
    const auto active = (gain > kUtilityFloor) && (utility >= fantasy_max_);
    *weights = active.select(e / (sum * gain), 0.0);
  }
  return top + std::log(sum / static_cast<double>(samples.size()));
}

double QLogEIAcquisition::Eval(const Eigen::VectorXd& x, Eigen::VectorXd* grad) const {
  Eigen::MatrixXd jac;
  const Eigen::VectorXd samples = gp_.Sample(x, grad != nullptr ? &jac : nullptr);
  Eigen::ArrayXd weights;
  const double value = LogMeanMax(samples.array(), grad != nullptr ? &weights : nullptr);
  if (grad != nullptr) *grad = jac.transpose() * weights.matrix();
  return value;
}

Eigen::VectorXd QLogEIAcquisition::EvalBatch(const Eigen::MatrixXd& xs) const {
  const Eigen::MatrixXd samples = gp_.SampleBatch(xs);
  Eigen::VectorXd out(xs.rows());
  for (int j = 0; j < xs.rows(); ++j) out[j] = LogMeanMax(samples.col(j).array(), nullptr);
  return out;
}

std::optional<Eigen::MatrixXd> NormalSobolSamples(int dims, int n, uint64_t seed) {
  Result<QmcSequence> sobol = QmcSequence::Create(QmcType::kSobol, dims, true, seed);
  if (!sobol.ok()) return std::nullopt;
  Eigen::MatrixXd out(n, dims);
  for (int i = 0; i < n; ++i) {
    const std::vector<double> u = sobol->Point(static_cast<uint64_t>(i));
    for (int j = 0; j < dims; ++j) {
      // Phi^-1(u) by symmetry from the nearer tail, where 1 - u is exact (Sobol points are
      // dyadic); u = 0 moved off -inf.
      const double v = std::max(u[j], 0x1p-33);
      out(i, j) =
          v <= 0.5 ? truncnorm::NdtriExp(std::log(v)) : -truncnorm::NdtriExp(std::log1p(-v));
    }
  }
  return out;
}

}  // namespace mgr
