// The acquisition functions of GpSampler: qLogEI against Optuna 5.1's qLogEI fed the same
// normal samples (tests/samplers/optuna_qlogei_reference.py, PyPI's Optuna and torch in
// BUILD/optuna5-venv; label python), values and gradients (torch autograd); its gradient
// against finite differences; the normal Sobol samples.
#include "samplers/acquisition.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "samplers/qmc_sampler.h"
#include "samplers/search_space.h"
#include "storage/distribution.h"
#include "tests/samplers/test_util.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::Rows;

// 25 observations in [0, 1]^2 plus a categorical column of 3 choices, standardised; running
// points in the same space, one of them next to the best observation.
struct Problem {
  Eigen::MatrixXd x, running;
  Eigen::VectorXd y;
  std::vector<bool> is_categorical = {false, false, true};
  GpParams params;
};
Problem MakeProblem() {
  std::mt19937_64 rng(7);
  Problem p;
  const int n = 25;
  p.x.resize(n, 3);
  p.y.resize(n);
  for (int i = 0; i < n; ++i) {
    p.x(i, 0) = UniformUnit(rng);
    p.x(i, 1) = UniformUnit(rng);
    p.x(i, 2) = std::floor(UniformUnit(rng) * 3);
    p.y[i] = std::cos(5 * p.x(i, 0)) - 3 * (p.x(i, 1) - 0.4) * (p.x(i, 1) - 0.4) + 0.3 * p.x(i, 2) +
             0.05 * (UniformUnit(rng) - 0.5);
  }
  p.y = (p.y.array() - p.y.mean()) / std::sqrt((p.y.array() - p.y.mean()).square().mean());
  int best = 0;
  p.y.maxCoeff(&best);
  p.running.resize(3, 3);
  p.running << p.x(best, 0) + 0.03, p.x(best, 1) - 0.02, p.x(best, 2), 0.8, 0.2, 1, 0.4, 0.9, 0;
  p.params.inverse_squared_lengthscales = Eigen::Vector3d(3.0, 5.0, 0.8);
  p.params.kernel_scale = 1.2;
  p.params.noise_var = 0.01;
  return p;
}

// Points where qLogEI is evaluated: near the best observation and the first running point,
// and elsewhere.
Eigen::MatrixXd Points(const Problem& p) {
  int best = 0;
  p.y.maxCoeff(&best);
  Eigen::MatrixXd points(6, 3);
  points << p.x(best, 0) - 0.05, p.x(best, 1) + 0.04, p.x(best, 2),  //
      p.running(0, 0) + 0.01, p.running(0, 1), p.running(0, 2),      //
      0.1, 0.2, 0,                                                   //
      0.5, 0.5, 1,                                                   //
      0.95, 0.45, 2,                                                 //
      0.3, 0.35, 1;
  return points;
}

TEST(NormalSobolSamplesTest, StandardNormalColumns) {
  const std::optional<Eigen::MatrixXd> z = NormalSobolSamples(4, 128, 11);
  ASSERT_TRUE(z.has_value());
  ASSERT_EQ(z->rows(), 128);
  ASSERT_EQ(z->cols(), 4);
  ASSERT_TRUE(z->allFinite());
  for (int j = 0; j < 4; ++j) {
    const Eigen::ArrayXd c = z->col(j).array();
    EXPECT_NEAR(c.mean(), 0.0, 0.02) << j;
    EXPECT_NEAR((c - c.mean()).square().mean(), 1.0, 0.1) << j;
  }
  EXPECT_EQ(*z, *NormalSobolSamples(4, 128, 11));  // deterministic per seed
  EXPECT_NE(*z, *NormalSobolSamples(4, 128, 12));
  EXPECT_FALSE(NormalSobolSamples(QmcSequence::kMaxSobolDims + 1, 4, 0).has_value());
}

TEST(QLogEITest, GradientMatchesFiniteDifferences) {
  const Problem p = MakeProblem();
  GaussianProcess gp(p.x, p.y, p.is_categorical, p.params);
  ASSERT_TRUE(gp.Prepare());
  const Eigen::MatrixXd z = *NormalSobolSamples(4, 128, 3);
  std::optional<ConditionalGp> cond = ConditionalGp::Create(gp, p.running, z);
  ASSERT_TRUE(cond.has_value());
  const QLogEIAcquisition acqf(*cond, p.y.maxCoeff());
  const Eigen::MatrixXd points = Points(p);
  const Eigen::VectorXd batch = acqf.EvalBatch(points);
  for (int i = 0; i < points.rows(); ++i) {
    const Eigen::VectorXd x = points.row(i).transpose();
    Eigen::VectorXd grad;
    const double value = acqf.Eval(x, &grad);
    EXPECT_NEAR(batch[i], value, 1e-12 * std::max(1.0, std::abs(value))) << i;
    EXPECT_LT((cond->SampleBatch(points.row(i)).col(0) - cond->Sample(x)).cwiseAbs().maxCoeff(),
              1e-10);
    for (int d = 0; d < 2; ++d) {
      Eigen::VectorXd a = x, b = x;
      a[d] += 1e-6;
      b[d] -= 1e-6;
      const double fd = (acqf.Eval(a) - acqf.Eval(b)) / 2e-6;
      EXPECT_NEAR(grad[d], fd, 1e-5 * std::max(1.0, std::abs(fd))) << "point " << i << " dim " << d;
    }
    EXPECT_EQ(grad[2], 0.0);  // categorical
  }
}

TEST(QLogEITest, FantasiesFarAwayLeaveLogEIAlmostUnchanged) {
  // A running point far from x in every lengthscale: f(x) barely depends on its fantasy, so
  // qLogEI is the Monte Carlo estimate of log EI (the fantasy rarely beats f(x) near the best
  // observation: a loose bound).
  Problem p = MakeProblem();
  GaussianProcess gp(p.x, p.y, p.is_categorical, p.params);
  ASSERT_TRUE(gp.Prepare());
  int best = 0;
  p.y.maxCoeff(&best);
  const Eigen::VectorXd x = p.x.row(best).transpose();
  Eigen::MatrixXd far(1, 3);
  far << (x[0] < 0.5 ? 1.0 : 0.0), (x[1] < 0.5 ? 1.0 : 0.0), x[2] == 0 ? 1 : 0;
  const QLogEIAcquisition q(*ConditionalGp::Create(gp, far, *NormalSobolSamples(2, 128, 5)),
                            p.y.maxCoeff());
  const LogEIAcquisition logei(gp, p.y.maxCoeff());
  EXPECT_NEAR(q.Eval(x), logei.Eval(x), 0.3);
}

TEST(QLogEITest, MatchesOptuna) {
  std::string log;
  const std::string python = testing_util::OptunaVenvPython("5.1.0", "torch", &log);
  ASSERT_FALSE(python.empty()) << log;
  const Problem p = MakeProblem();
  GaussianProcess gp(p.x, p.y, p.is_categorical, p.params);
  ASSERT_TRUE(gp.Prepare());
  const Eigen::MatrixXd z = *NormalSobolSamples(4, 128, 3);
  std::optional<ConditionalGp> cond = ConditionalGp::Create(gp, p.running, z);
  ASSERT_TRUE(cond.has_value());
  const double threshold = p.y.maxCoeff();
  const QLogEIAcquisition acqf(*cond, threshold);
  const Eigen::MatrixXd points = Points(p);

  const Eigen::VectorXd& ils = p.params.inverse_squared_lengthscales;
  const Json cfg = {{"X", Rows(p.x)},
                    {"y", std::vector<double>(p.y.data(), p.y.data() + p.y.size())},
                    {"is_categorical", p.is_categorical},
                    {"params",
                     {{"ils", std::vector<double>(ils.data(), ils.data() + ils.size())},
                      {"scale", p.params.kernel_scale},
                      {"noise", p.params.noise_var}}},
                    {"threshold", threshold},
                    {"running", Rows(p.running)},
                    {"samples", Rows(z)},
                    {"points", Rows(points)}};
  testing_util::TempDir dir;
  const std::string file = dir.path() + "/qlogei.json";
  testing_util::WriteFile(file, cfg.dump());
  std::string out;
  ASSERT_EQ(
      testing_util::Shell("'" + python + "' '" + std::string(MGR_SOURCE_DIR) +
                              "/tests/samplers/optuna_qlogei_reference.py' '" + file + "' 2>&1",
                          &out),
      0)
      << out;
  const Json ref = Json::parse(out, nullptr, false);
  ASSERT_TRUE(ref.is_object()) << out;
  ASSERT_EQ(ref.value("optuna", ""), "5.1.0");

  double max_value_diff = 0.0, max_grad_diff = 0.0, max_fantasy_diff = 0.0;
  for (int s = 0; s < z.rows(); ++s) {
    for (int j = 0; j < p.running.rows(); ++j) {
      max_fantasy_diff = std::max(max_fantasy_diff, std::abs(cond->fantasies()(s, j) -
                                                             ref["fantasies"][s][j].get<double>()));
    }
  }
  const Eigen::VectorXd batch = acqf.EvalBatch(points);
  for (int i = 0; i < points.rows(); ++i) {
    Eigen::VectorXd grad;
    const double value = acqf.Eval(points.row(i).transpose(), &grad);
    const double want = ref["qlogei"][i].get<double>();
    const double scale = std::max(1.0, std::abs(want));
    EXPECT_NEAR(value, want, 1e-9 * scale) << "point " << i;
    EXPECT_NEAR(batch[i], want, 1e-9 * scale) << "point " << i;
    max_value_diff = std::max(max_value_diff, std::abs(value - want) / scale);
    for (int d = 0; d < 3; ++d) {
      const double g = ref["grad"][i][d].get<double>();
      const double gscale = std::max(1.0, std::abs(g));
      EXPECT_NEAR(grad[d], g, 1e-9 * gscale) << "point " << i << " dim " << d;
      max_grad_diff = std::max(max_grad_diff, std::abs(grad[d] - g) / gscale);
    }
  }
  EXPECT_LT(max_fantasy_diff, 1e-12);
  std::printf("max relative difference to Optuna: qLogEI %.3g, gradient %.3g, fantasies %.3g\n",
              max_value_diff, max_grad_diff, max_fantasy_diff);
}

}  // namespace
}  // namespace mgr
