// Checks samplers/truncnorm against Optuna 3.1's _truncnorm (values in
// tests/samplers/data/tpe_reference.json) and against hand-derived identities.
#include "samplers/truncnorm.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/samplers/reference_data.h"

namespace mgr {
namespace {

using testing_util::TpeReference;

void ExpectRelNear(double actual, double expected, double rel, const std::string& what) {
  EXPECT_NEAR(actual, expected, rel * std::max(1e-300, std::fabs(expected))) << what;
}

TEST(TruncnormTest, LogNdtrMatchesOptuna) {
  for (const Json& c : TpeReference()["truncnorm"]["log_ndtr"]) {
    ExpectRelNear(truncnorm::LogNdtr(c[0].get<double>()), c[1].get<double>(), 1e-12,
                  "log_ndtr(" + c[0].dump() + ")");
  }
}

TEST(TruncnormTest, LogGaussMassMatchesOptuna) {
  for (const Json& c : TpeReference()["truncnorm"]["log_gauss_mass"]) {
    double a = c[0].get<double>(), b = c[1].get<double>(), expected = c[2].get<double>();
    // Optuna's central case uses erf, which loses ~1e-16 absolute; allow that too.
    EXPECT_NEAR(truncnorm::LogGaussMass(a, b), expected, 1e-12 * std::fabs(expected) + 2e-16)
        << "log_gauss_mass(" << a << ", " << b << ")";
  }
}

TEST(TruncnormTest, PpfMatchesOptuna) {
  for (const Json& c : TpeReference()["truncnorm"]["ppf"]) {
    double q = c[0].get<double>(), a = c[1].get<double>(), b = c[2].get<double>();
    // Optuna's quantile bisects over [-100, 100] 100 times, which is exact to ~1e-13.
    EXPECT_NEAR(truncnorm::Ppf(q, a, b), c[3].get<double>(), 1e-9)
        << "ppf(" << q << ", " << a << ", " << b << ")";
  }
}

TEST(TruncnormTest, PpfInvertsTheCdf) {
  // cdf(ppf(q)) = q: exp(LogGaussMass(a, x) - LogGaussMass(a, b)).
  for (double a : {-8.0, -1.0, 0.3, 5.0}) {
    for (double width : {0.01, 1.0, 6.0}) {
      double b = a + width;
      for (double q : {1e-6, 0.2, 0.5, 0.9, 1 - 1e-6}) {
        double x = truncnorm::Ppf(q, a, b);
        ASSERT_GE(x, a);
        ASSERT_LE(x, b);
        double cdf = std::exp(truncnorm::LogGaussMass(a, x) - truncnorm::LogGaussMass(a, b));
        EXPECT_NEAR(cdf, q, 1e-9) << a << " " << b << " " << q;
      }
    }
  }
}

TEST(TruncnormTest, NdtriExpIsTheInverseOfLogNdtr) {
  for (double x : {-300.0, -40.0, -8.0, -1.5, 0.0, 0.4, 3.0, 7.5}) {
    double y = truncnorm::LogNdtr(x);
    EXPECT_NEAR(truncnorm::NdtriExp(y), x, 1e-9 * std::max(1.0, std::fabs(x))) << x;
  }
}

TEST(TruncnormTest, LogPdfOfUntruncatedNormal) {
  // A wide truncation is a plain normal: log N(1; 0.5, 2) = -log(2 sqrt(2 pi)) - 1/32.
  double expected = -std::log(2.0 * std::sqrt(2.0 * M_PI)) - 0.25 * 0.25 / 2.0;
  EXPECT_NEAR(truncnorm::LogPdf(1.0, -1e3, 1e3, 0.5, 2.0), expected, 1e-14);
  // Truncated to [0, inf) the density doubles.
  EXPECT_NEAR(truncnorm::LogPdf(1.0, -0.25, 1e3, 0.5, 2.0),
              expected - truncnorm::LogGaussMass(-0.25, 1e3), 1e-14);
  EXPECT_EQ(truncnorm::LogPdf(-5.0, -1.0, 1.0, 0.0, 1.0), -INFINITY);
}

}  // namespace
}  // namespace mgr
