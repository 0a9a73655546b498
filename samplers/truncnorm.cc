#include "samplers/truncnorm.h"

#include <cmath>
#include <limits>

namespace mgr {
namespace truncnorm {
namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInf = std::numeric_limits<double>::infinity();

// log(exp(p) - exp(q)) for p >= q.
double LogDiff(double log_p, double log_q) { return log_p + std::log1p(-std::exp(log_q - log_p)); }

double LogAddExp(double x, double y) {
  if (x == -kInf) return y;
  if (y == -kInf) return x;
  double m = std::max(x, y);
  return m + std::log1p(std::exp(-std::fabs(x - y)));
}

// Acklam's rational approximation of Phi^-1(p) (relative error < 1.2e-9); NdtriExp then
// polishes it with Newton steps on log Phi.
double NdtriApprox(double p, double one_minus_p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double p_low = 0.02425;
  if (p < p_low) {
    double q = std::sqrt(-2.0 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  if (one_minus_p < p_low) {
    double q = std::sqrt(-2.0 * std::log(one_minus_p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  double q = p - 0.5;
  double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

}  // namespace

double Ndtr(double a) {
  // erfc keeps full relative precision in the left tail.
  return a < 0 ? 0.5 * std::erfc(-a * kSqrt1_2) : 1.0 - 0.5 * std::erfc(a * kSqrt1_2);
}

double LogNdtr(double a) {
  if (a > 6.0) return -0.5 * std::erfc(a * kSqrt1_2);  // log(1 - x) ~ -x
  if (a > -20.0) return std::log(0.5 * std::erfc(-a * kSqrt1_2));
  // Asymptotic series of log Phi(a) for a -> -inf, as in Optuna/SciPy.
  double log_lhs = -0.5 * a * a - std::log(-a) - kLogSqrt2Pi;
  double last_total = 0.0, rhs = 1.0, numerator = 1.0, denom_factor = 1.0;
  const double denom_cons = 1.0 / (a * a);
  double sign = 1.0;
  for (int i = 1; std::fabs(last_total - rhs) > std::numeric_limits<double>::epsilon() && i < 200;
       ++i) {
    last_total = rhs;
    sign = -sign;
    denom_factor *= denom_cons;
    numerator *= 2 * i - 1;
    rhs += sign * numerator * denom_factor;
  }
  return log_lhs + std::log(rhs);
}

double LogGaussMass(double a, double b) {
  if (b <= 0.0) return LogDiff(LogNdtr(b), LogNdtr(a));
  if (a > 0.0) return LogDiff(LogNdtr(-a), LogNdtr(-b));
  // Central case: 1 - Phi(a) - Phi(-b) avoids cancellation near mass 1.
  return std::log1p(-Ndtr(a) - Ndtr(-b));
}

double NdtriExp(double y) {
  if (y >= 0.0) return kInf;
  if (y == -kInf) return -kInf;
  double x;
  if (y > -700.0) {
    double p = std::exp(y);
    x = NdtriApprox(p, -std::expm1(y));
  } else {
    // Far tail: log Phi(x) ~ -x^2/2 - log(-x) - log sqrt(2 pi).
    x = -std::sqrt(-2.0 * y);
    for (int k = 0; k < 3; ++k) x = -std::sqrt(-2.0 * (y + std::log(-x) + kLogSqrt2Pi));
  }
  // Newton on f(x) = log Phi(x) - y; f' = phi(x) / Phi(x). log Phi is concave, so this
  // converges from either side.
  for (int k = 0; k < 3; ++k) {
    double lp = LogNdtr(x);
    double step = (lp - y) * std::exp(lp - NormLogPdf(x));
    if (!std::isfinite(step)) break;
    x -= step;
    if (std::fabs(step) <= 1e-15 * std::max(1.0, std::fabs(x))) break;
  }
  return x;
}

double Ppf(double q, double a, double b) {
  if (a == b) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0.0) return a;
  if (q >= 1.0) return b;
  double x;
  if (a < 0.0) {
    double log_phi_x = LogAddExp(LogNdtr(a), std::log(q) + LogGaussMass(a, b));
    x = NdtriExp(log_phi_x);
  } else {
    double log_phi_x = LogAddExp(LogNdtr(-b), std::log1p(-q) + LogGaussMass(a, b));
    x = -NdtriExp(log_phi_x);
  }
  return std::min(std::max(x, a), b);
}

double LogPdf(double x, double a, double b, double loc, double scale) {
  double z = (x - loc) / scale;
  if (z < a || z > b) return -kInf;
  return NormLogPdf(z) - LogGaussMass(a, b) - std::log(scale);
}

}  // namespace truncnorm
}  // namespace mgr
