// Compares ParzenEstimator with Optuna 4.x's Parzen estimator rules as computed by
// tools/optuna_reference/tpe_reference.py (tests/samplers/data/tpe_reference.json).
#include "samplers/parzen_estimator.h"

#include <cmath>
#include <map>
#include <random>
#include <vector>
#include <algorithm>

#include <gtest/gtest.h>

#include "samplers/truncnorm.h"
#include "tests/samplers/reference_data.h"
#include "tests/samplers/test_util.h"

namespace mgr {
namespace {

using testing_util::Num;
using testing_util::TpeReference;

void ExpectVectorNear(const Eigen::VectorXd& actual, const Json& expected, double tol,
                      const std::string& what) {
  ASSERT_EQ(actual.size(), static_cast<Eigen::Index>(expected.size())) << what;
  for (Eigen::Index k = 0; k < actual.size(); ++k) {
    double e = Num(expected[k]);
    EXPECT_NEAR(actual[k], e, tol * std::max(1.0, std::fabs(e))) << what << "[" << k << "]";
  }
}

TEST(TpeDefaultWeightsTest, MatchesOptuna) {
  for (const Json& c : TpeReference()["weights"]) {
    std::vector<double> w = TpeDefaultWeights(c[0].get<int64_t>());
    ASSERT_EQ(w.size(), c[1].size()) << "n=" << c[0];
    for (size_t k = 0; k < w.size(); ++k) {
      EXPECT_DOUBLE_EQ(w[k], c[1][k].get<double>()) << "n=" << c[0] << " k=" << k;
    }
  }
}

class ParzenEstimatorReferenceTest : public ::testing::TestWithParam<int> {};

TEST_P(ParzenEstimatorReferenceTest, KernelsAndLogPdfMatchOptuna) {
  const Json& c = TpeReference()["estimators"][GetParam()];
  SCOPED_TRACE(c["name"].get<std::string>());
  SearchSpace space;
  for (const auto& [name, text] : c["space"].items()) {
    auto d = DistributionFromJsonString(text.get<std::string>());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    space.emplace(name, *d);
  }
  std::vector<std::vector<double>> obs;
  for (const auto& [name, dist] : space) {
    obs.push_back(c["observations"][name].get<std::vector<double>>());
  }
  ParzenEstimatorParameters params;
  params.prior_weight = c["prior_weight"].get<double>();
  params.consider_magic_clip = c["consider_magic_clip"].get<bool>();
  params.consider_endpoints = c["consider_endpoints"].get<bool>();
  params.multivariate = c["multivariate"].get<bool>();
  ParzenEstimator pe(space, obs, TpeDefaultWeights(obs[0].size()), params);

  const Json& expected = c["expected"];
  ExpectVectorNear(pe.weights(), expected["weights"], 1e-14, "weights");
  int i = 0;
  for (const auto& [name, dist] : space) {
    const Json& e = expected["params"][name];
    if (e.contains("cat_weights")) {
      ASSERT_TRUE(pe.is_categorical(i));
      const Eigen::MatrixXd& w = pe.categorical_weights(i);
      ASSERT_EQ(w.rows(), static_cast<Eigen::Index>(e["cat_weights"].size())) << name;
      for (Eigen::Index k = 0; k < w.rows(); ++k) {
        ExpectVectorNear(w.row(k).transpose(), e["cat_weights"][k], 1e-14,
                         name + ".cat_weights row " + std::to_string(k));
      }
    } else {
      ExpectVectorNear(pe.mus(i), e["mus"], 1e-13, name + ".mus");
      ExpectVectorNear(pe.sigmas(i), e["sigmas"], 1e-13, name + ".sigmas");
    }
    ++i;
  }
  const Json& points = c["points"];
  Eigen::MatrixXd x(points.size(), space.size());
  for (size_t j = 0; j < points.size(); ++j) {
    for (size_t k = 0; k < space.size(); ++k) x(j, k) = points[j][k].get<double>();
  }
  ExpectVectorNear(pe.LogPdf(x), expected["log_pdf"], 1e-11, "log_pdf");
}

INSTANTIATE_TEST_SUITE_P(Optuna, ParzenEstimatorReferenceTest,
                         ::testing::Range(0,
                                          static_cast<int>(TpeReference()["estimators"].size())));

TEST(ParzenEstimatorTest, SamplesStayInRangeAndFollowTheMixture) {
  // One observation at 0.9 in [0, 1] with the prior: sigma = max gap with the prior centre
  // 0.5 and the bound 1.0 sorted in = 0.4 (endpoints off: the inner gap). Half the mass is
  // this kernel, half the flat-ish prior; check the empirical mean against the exact one.
  SearchSpace space{{"x", testing_util::Float(0.0, 1.0)}};
  ParzenEstimatorParameters params;
  ParzenEstimator pe(space, {{0.9}}, {1.0}, params);
  EXPECT_NEAR(pe.sigmas(0)[0], 0.4, 1e-15);
  EXPECT_NEAR(pe.mus(0)[1], 0.5, 1e-15);
  EXPECT_NEAR(pe.sigmas(0)[1], 1.0, 1e-15);
  std::mt19937_64 rng(3);
  Eigen::MatrixXd s = pe.Sample(rng, 200000);
  EXPECT_GE(s.minCoeff(), 0.0);
  EXPECT_LE(s.maxCoeff(), 1.0);
  // Mean of N(mu, sigma) truncated to [0, 1]: mu + sigma (phi(a) - phi(b)) / (Phi(b) - Phi(a)).
  auto mean = [](double mu, double sigma) {
    double a = -mu / sigma, b = (1 - mu) / sigma;
    double z = std::exp(truncnorm::LogGaussMass(a, b));
    return mu +
           sigma * (std::exp(truncnorm::NormLogPdf(a)) - std::exp(truncnorm::NormLogPdf(b))) / z;
  };
  double expected = 0.5 * mean(0.9, 0.4) + 0.5 * mean(0.5, 1.0);
  EXPECT_NEAR(s.mean(), expected, 0.003);  // std error ~0.0006
}

TEST(ParzenEstimatorTest, StepSamplesLandOnTheGridAndMassesSumToOne) {
  SearchSpace space{{"u", testing_util::Int(4, 40, false, 4)}};
  ParzenEstimatorParameters params;
  ParzenEstimator pe(space, {{8.0, 36.0, 36.0}}, {1.0, 1.0, 1.0}, params);
  std::mt19937_64 rng(4);
  Eigen::MatrixXd s = pe.Sample(rng, 2000);
  for (Eigen::Index j = 0; j < s.rows(); ++j) {
    ASSERT_TRUE(Contains(space.at("u"), s(j, 0))) << s(j, 0);
  }
  Eigen::MatrixXd grid(10, 1);
  for (int k = 0; k < 10; ++k) grid(k, 0) = 4 + 4 * k;
  EXPECT_NEAR(pe.LogPdf(grid).array().exp().sum(), 1.0, 1e-12);
}

// The univariate continuous LogPdf only evaluates kernels near each point (see
// ParzenEstimator::WindowedLogPdf); check it against the full mixture summed in long
// double, with many narrow kernels (most skipped) and a log scale, in and at the bounds.
TEST(ParzenEstimatorTest, WindowedLogPdfMatchesTheFullMixture) {
  for (bool log : {false, true}) {
    SearchSpace space{{"x", log ? testing_util::Float(1e-3, 10.0, true)
                                : testing_util::Float(-5.0, 5.0)}};
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> obs;
    for (int k = 0; k < 1000; ++k) {
      double v = u(rng) * u(rng);  // denser near the low end: varied sigmas
      obs.push_back(log ? 1e-3 * std::pow(1e4, v) : -5.0 + 10.0 * v);
    }
    ParzenEstimatorParameters params;
    ParzenEstimator pe(space, {obs}, TpeDefaultWeights(1000), params);
    const double lo = log ? std::log(1e-3) : -5.0, hi = log ? std::log(10.0) : 5.0;
    Eigen::MatrixXd x(203, 1);
    for (int j = 0; j < 201; ++j) {
      double t = lo + (hi - lo) * j / 200.0;
      x(j, 0) = log ? std::clamp(std::exp(t), 1e-3, 10.0) : t;
    }
    x(201, 0) = obs[17];
    x(202, 0) = obs[999];
    Eigen::VectorXd got = pe.LogPdf(x);
    const Eigen::VectorXd& mu = pe.mus(0);
    const Eigen::VectorXd& sigma = pe.sigmas(0);
    for (Eigen::Index j = 0; j < x.rows(); ++j) {
      const double xt = std::clamp(log ? std::log(x(j, 0)) : x(j, 0), lo, hi);
      long double sum = 0;
      for (Eigen::Index k = 0; k < mu.size(); ++k) {
        sum += pe.weights()[k] * std::exp(static_cast<long double>(truncnorm::LogPdf(
                                     xt, (lo - mu[k]) / sigma[k], (hi - mu[k]) / sigma[k], mu[k],
                                     sigma[k])));
      }
      EXPECT_NEAR(got[j], static_cast<double>(std::log(sum)), 1e-12) << "x = " << x(j, 0);
    }
  }
}

// The bandwidth rule's sort (insertion sort up to 64 points, bucket sort above, radix
// sort when values are too clustered for buckets) against std::stable_sort, with ties,
// negative values, -0.0 and +0.0, and the bounds themselves.
TEST(ParzenEstimatorTest, BandwidthSortHandlesTiesSignsAndZeros) {
  for (auto [n_random, coarse] : {std::pair{0, false}, {30, false}, {300, false}, {300, true}}) {
    SCOPED_TRACE("n_random = " + std::to_string(n_random) + (coarse ? " coarse" : ""));
    SearchSpace space{{"x", testing_util::Float(-3.0, 3.0)}};
    std::vector<double> obs = {0.5, -0.0, 0.0, -2.25, 0.5, 3.0, -3.0, 1e-300, -1e-300, 0.5,
                               -2.25, 2.0, 0.0};
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-3.0, 3.0);
    for (int k = 0; k < n_random; ++k) {
      // Coarse: 7 distinct values, ~45 per bucket, so the radix sort takes over.
      obs.push_back(coarse ? std::round(u(rng)) : k % 3 ? u(rng) : std::round(u(rng) * 4) / 4);
    }
    const int n = static_cast<int>(obs.size());
    ParzenEstimatorParameters params;
    params.consider_magic_clip = false;
    ParzenEstimator pe(space, {obs}, std::vector<double>(n, 1.0), params);
    std::vector<double> with_prior = obs;
    with_prior.push_back(0.0);
    std::vector<int> order(n + 1);
    for (int k = 0; k <= n; ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return with_prior[a] < with_prior[b]; });
    std::vector<double> padded = {-3.0};
    for (int k : order) padded.push_back(with_prior[k]);
    padded.push_back(3.0);
    std::vector<double> expected(n + 1);
    for (int j = 0; j <= n; ++j) {
      double sg = std::max(padded[j + 1] - padded[j], padded[j + 2] - padded[j + 1]);
      if (j == 0) sg = padded[2] - padded[1];
      if (j == n) sg = padded[n + 1] - padded[n];
      expected[order[j]] = std::clamp(sg, 1e-12, 6.0);
    }
    for (int k = 0; k < n; ++k) EXPECT_EQ(pe.sigmas(0)[k], expected[k]) << "k = " << k;
  }
}

// A caller's sorted order (TpeSampler keeps its observations sorted between suggestions)
// must give the very same estimator as the estimator's own sort: ties, -0.0 and +0.0, a
// value equal to the prior's centre, log and stepped parameters, both bandwidth rules.
TEST(ParzenEstimatorTest, GivenSortedOrderGivesTheSameEstimator) {
  const std::vector<std::pair<std::string, Distribution>> cases = {
      {"float", testing_util::Float(-3.0, 3.0)},
      {"log", testing_util::Float(1e-3, 10.0, true)},
      {"int", testing_util::Int(-3, 3)}};
  for (const auto& [label, dist] : cases) {
    for (bool multivariate : {false, true}) {
      SCOPED_TRACE(label + (multivariate ? " multivariate" : " univariate"));
      const bool log = label == "log";
      std::vector<double> obs;
      if (!log) obs = {0.0, -0.0, 2.0, -3.0, 0.0, 3.0, 2.0, -1.0, -0.0, 1.0};
      std::mt19937_64 rng(9);
      std::uniform_int_distribution<int> level(0, 6);
      for (int k = 0; k < 200; ++k) {
        const double v = level(rng) - 3.0;
        obs.push_back(log ? std::exp(v * 0.75) : v);  // many ties
      }
      const int n = static_cast<int>(obs.size());
      std::vector<int> sorted(n);
      for (int k = 0; k < n; ++k) sorted[k] = k;
      std::stable_sort(sorted.begin(), sorted.end(), [&](int a, int b) {
        return (log ? std::log(obs[a]) : obs[a]) < (log ? std::log(obs[b]) : obs[b]);
      });
      SearchSpace space{{"x", dist}};
      ParzenEstimatorParameters params;
      params.multivariate = multivariate;
      const std::vector<double> weights = TpeDefaultWeights(n);
      ParzenEstimator own(space, {obs}, weights, params);
      ParzenEstimator given(space, {obs}, weights, params, &sorted);
      for (Eigen::Index k = 0; k <= n; ++k) {
        EXPECT_EQ(own.mus(0)[k], given.mus(0)[k]) << k;
        EXPECT_EQ(own.sigmas(0)[k], given.sigmas(0)[k]) << k;
      }
      Eigen::MatrixXd x(50, 1);
      for (int j = 0; j < 50; ++j) {
        const double t = j / 49.0;
        x(j, 0) = log ? std::clamp(1e-3 * std::pow(1e4, t), 1e-3, 10.0)
                      : label == "int" ? std::round(-3.0 + 6.0 * t) : -3.0 + 6.0 * t;
      }
      const Eigen::VectorXd a = own.LogPdf(x), b = given.LogPdf(x);
      for (Eigen::Index j = 0; j < x.rows(); ++j) EXPECT_EQ(a[j], b[j]) << "x = " << x(j, 0);
    }
  }
}

}  // namespace
}  // namespace mgr
