// The Gaussian process of GpSampler against hand-computed Matérn values, finite differences
// and Optuna 5.1's optuna/_gp (tests/samplers/optuna_gp_reference.py, run with PyPI's Optuna
// and torch in BUILD/optuna5-venv; label python): kernel matrix, marginal log likelihood,
// log prior, log EI and standard_logei to 1e-10, and the MAP fit to Optuna's loss.
#include "samplers/gaussian_process.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "samplers/search_space.h"
#include "storage/distribution.h"
#include "tests/samplers/test_util.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::Rows;

const std::string kScript = std::string(MGR_SOURCE_DIR) + "/tests/samplers/optuna_gp_reference.py";

TEST(Matern52Test, HandComputedValues) {
  EXPECT_DOUBLE_EQ(Matern52(0.0), 1.0);
  const double s = std::sqrt(5.0);
  EXPECT_DOUBLE_EQ(Matern52(1.0), std::exp(-s) * (1.0 + s + 5.0 / 3.0));
  // d2 = 0.2: s = 1, exp(-1) * (1 + 1 + 1/3).
  EXPECT_NEAR(Matern52(0.2), std::exp(-1.0) * (7.0 / 3.0), 1e-15);
  EXPECT_NEAR(Matern52Deriv(0.2), -5.0 / 6.0 * 2.0 * std::exp(-1.0), 1e-15);
  for (double d2 : {0.01, 0.3, 2.0, 7.5}) {
    const double h = 1e-6 * d2;
    EXPECT_NEAR(Matern52Deriv(d2), (Matern52(d2 + h) - Matern52(d2 - h)) / (2 * h), 1e-7);
  }
}

TEST(StandardLogEITest, DerivativeMatchesFiniteDifferences) {
  for (double z : {-200.0, -40.0, -25.5, -24.5, -8.0, -1.0, 0.0, 0.7, 5.0, 30.0}) {
    const double h = 1e-5 * std::max(1.0, std::abs(z));
    const double fd = (StandardLogEI(z + h) - StandardLogEI(z - h)) / (2 * h);
    EXPECT_NEAR(StandardLogEIDeriv(z), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "z=" << z;
  }
  // Continuous across the branch at -25.
  EXPECT_NEAR(StandardLogEI(-25.0), StandardLogEI(std::nextafter(-25.0, -30.0)), 1e-9);
}

TEST(LbfgsTest, RosenbrockAndBounds) {
  auto rosen = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    const double a = 1.0 - x[0], b = x[1] - x[0] * x[0];
    *g = Eigen::Vector2d(-2.0 * a - 400.0 * x[0] * b, 200.0 * b);
    return a * a + 100.0 * b * b;
  };
  LbfgsResult r = MinimizeLbfgsB(rosen, Eigen::Vector2d(-1.2, 1.0), {}, {}, 1e-8, 1000, 0.0);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(r.x[0], 1.0, 1e-5);
  EXPECT_NEAR(r.x[1], 1.0, 1e-5);
  // (x - 3)^2 + (y + 1)^2 on [0, 2] x [0, 2]: the minimum is the corner (2, 0).
  auto bowl = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    *g = Eigen::Vector2d(2 * (x[0] - 3), 2 * (x[1] + 1));
    return (x[0] - 3) * (x[0] - 3) + (x[1] + 1) * (x[1] + 1);
  };
  r = MinimizeLbfgsB(bowl, Eigen::Vector2d(0.5, 1.5), Eigen::Vector2d(0, 0), Eigen::Vector2d(2, 2),
                     1e-8, 100);
  EXPECT_TRUE(r.converged);
  EXPECT_DOUBLE_EQ(r.x[0], 2.0);
  EXPECT_DOUBLE_EQ(r.x[1], 0.0);
}

// Fixed data: n points in [0, 1]^2 plus a categorical column with 3 choices, and a smooth
// function of them with a little noise.
struct Data {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  std::vector<bool> is_categorical = {false, false, true};
};
Data MakeData(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Data d;
  d.x.resize(n, 3);
  d.y.resize(n);
  for (int i = 0; i < n; ++i) {
    d.x(i, 0) = UniformUnit(rng);
    d.x(i, 1) = UniformUnit(rng);
    d.x(i, 2) = std::floor(UniformUnit(rng) * 3);
    d.y[i] = std::sin(6 * d.x(i, 0)) - 2 * (d.x(i, 1) - 0.3) * (d.x(i, 1) - 0.3) + 0.4 * d.x(i, 2) +
             0.05 * (UniformUnit(rng) - 0.5);
  }
  d.y = (d.y.array() - d.y.mean()) / std::sqrt((d.y.array() - d.y.mean()).square().mean());
  return d;
}

class OptunaGpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string log;
    python_ = testing_util::OptunaVenvPython("5.1.0", "torch", &log);
    ASSERT_FALSE(python_.empty()) << log;
  }

  static Json Reference(const Data& data, const GpParams& p, const Eigen::MatrixXd& points,
                        double threshold, const std::vector<double>& z, bool deterministic) {
    Json cfg = {{"X", Rows(data.x)},
                {"y", std::vector<double>(data.y.data(), data.y.data() + data.y.size())},
                {"is_categorical", data.is_categorical},
                {"params",
                 {{"ils", std::vector<double>(p.inverse_squared_lengthscales.data(),
                                              p.inverse_squared_lengthscales.data() +
                                                  p.inverse_squared_lengthscales.size())},
                  {"scale", p.kernel_scale},
                  {"noise", p.noise_var}}},
                {"points", Rows(points)},
                {"threshold", threshold},
                {"z", z},
                {"deterministic", deterministic}};
    std::string out;
    const int rc =
        testing_util::Shell("'" + python_ + "' '" + kScript + "' '" + cfg.dump() + "' 2>&1", &out);
    EXPECT_EQ(rc, 0) << out;
    Json j = Json::parse(out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << out;
    return j.is_object() ? j : Json::object();
  }

  static inline std::string python_;  // the Optuna 5.1 + torch venv's, set by SetUp
};

TEST_F(OptunaGpTest, KernelLikelihoodPriorAndLogEIMatchOptuna) {
  const Data data = MakeData(30, 1);
  GpParams p;
  p.inverse_squared_lengthscales = Eigen::Vector3d(4.0, 0.7, 1.5);
  p.kernel_scale = 1.3;
  p.noise_var = 0.02;
  Eigen::MatrixXd points(5, 3);
  points << 0.1, 0.2, 0, 0.5, 0.5, 1, 0.9, 0.05, 2, 0.27, 0.3, 2, 1.0, 1.0, 0;
  const std::vector<double> z = {-1e4,  -300.0, -40.0, -25.0001, -24.9999,
                                 -10.0, -1.0,   0.0,   2.5,      40.0};
  const Json ref = Reference(data, p, points, data.y.maxCoeff(), z, false);
  ASSERT_EQ(ref.value("optuna", ""), "5.1.0");

  GaussianProcess gp(data.x, data.y, data.is_categorical, p);
  const Eigen::MatrixXd k = gp.KernelMatrix();
  for (int i = 0; i < k.rows(); ++i) {
    for (int j = 0; j < k.cols(); ++j) {
      EXPECT_NEAR(k(i, j), ref["kernel"][i][j].get<double>(), 1e-13);
    }
  }
  EXPECT_NEAR(*gp.MarginalLogLikelihood(), ref["mll"].get<double>(), 1e-10);
  EXPECT_NEAR(GpLogPrior(p), ref["log_prior"].get<double>(), 1e-12);
  for (size_t i = 0; i < z.size(); ++i) {
    const double want = ref["standard_logei"][i].get<double>();
    EXPECT_NEAR(StandardLogEI(z[i]), want, 1e-12 * std::max(1.0, std::abs(want))) << z[i];
  }
  ASSERT_TRUE(gp.Prepare());
  const Eigen::VectorXd batch = gp.LogEIBatch(points, data.y.maxCoeff());
  for (int i = 0; i < points.rows(); ++i) {
    const double want = ref["logei"][i].get<double>();
    EXPECT_NEAR(gp.LogEI(points.row(i).transpose(), data.y.maxCoeff()), want, 1e-9) << i;
    EXPECT_NEAR(batch[i], want, 1e-9) << i;
  }
}

TEST(GaussianProcessTest, LogEIGradientMatchesFiniteDifferences) {
  const Data data = MakeData(20, 2);
  GpParams p;
  p.inverse_squared_lengthscales = Eigen::Vector3d(3.0, 1.2, 0.8);
  p.kernel_scale = 0.9;
  p.noise_var = 1e-4;
  GaussianProcess gp(data.x, data.y, data.is_categorical, p);
  ASSERT_TRUE(gp.Prepare());
  for (const Eigen::Vector3d& x : {Eigen::Vector3d(0.3, 0.6, 1), Eigen::Vector3d(0.05, 0.9, 0),
                                   Eigen::Vector3d(0.7, 0.1, 2)}) {
    for (double threshold : {data.y.maxCoeff(), data.y.maxCoeff() + 3.0}) {
      Eigen::VectorXd grad;
      gp.LogEI(x, threshold, &grad);
      for (int d = 0; d < 2; ++d) {
        Eigen::Vector3d a = x, b = x;
        a[d] += 1e-6;
        b[d] -= 1e-6;
        const double fd = (gp.LogEI(a, threshold) - gp.LogEI(b, threshold)) / 2e-6;
        EXPECT_NEAR(grad[d], fd, 1e-4 * std::max(1.0, std::abs(fd))) << "dim " << d;
      }
      EXPECT_EQ(grad[2], 0.0);  // categorical
    }
  }
}

// The MAP fit from the defaults reaches Optuna's optimum: a loss at most Optuna's + 1e-3 (both
// stop at gtol 1e-2, so the points differ slightly) and the same hyperparameters to 10%.
TEST_F(OptunaGpTest, FitReachesOptunasMapEstimate) {
  for (bool deterministic : {false, true}) {
    for (int n : {12, 40}) {
      const Data data = MakeData(n, 10 + n);
      GpParams unused;
      unused.inverse_squared_lengthscales = Eigen::Vector3d::Ones();
      const Json ref = Reference(data, unused, data.x.topRows(1), 0.0, {0.0}, deterministic)["fit"];
      GaussianProcess gp(data.x, data.y, data.is_categorical, GpParams{});
      gp.Fit(GpParams{}, deterministic);
      const GpParams& p = gp.params();
      const double loss = -*gp.MarginalLogLikelihood() - GpLogPrior(p);
      SCOPED_TRACE("n=" + std::to_string(n) + " deterministic=" + std::to_string(deterministic));
      EXPECT_LE(loss, ref["loss"].get<double>() + 1e-3);
      for (int d = 0; d < 3; ++d) {
        EXPECT_NEAR(std::log(p.inverse_squared_lengthscales[d]),
                    std::log(ref["ils"][d].get<double>()), 0.1)
            << d;
      }
      EXPECT_NEAR(std::log(p.kernel_scale), std::log(ref["scale"].get<double>()), 0.1);
      if (deterministic) {
        EXPECT_EQ(p.noise_var, kGpMinimumNoise);
      } else {
        EXPECT_NEAR(std::log(p.noise_var), std::log(ref["noise"].get<double>()), 0.2);
      }
    }
  }
}

}  // namespace
}  // namespace mgr
