// The standard normal and the truncated normal in log space, accurate far into the tails.
//
// Follows the algorithms of Optuna's samplers/_tpe/_truncnorm.py (itself from SciPy):
// log Phi by erfc or an asymptotic series below -20, the log of a Gaussian interval mass
// computed in the left tail by symmetry, and the truncated-normal quantile through
// log Phi^-1. Pure functions; thread-safe.
#ifndef MGR_SAMPLERS_TRUNCNORM_H_
#define MGR_SAMPLERS_TRUNCNORM_H_

namespace mgr {
namespace truncnorm {

// log(2 pi) / 2.
constexpr double kLogSqrt2Pi = 0.91893853320467274178;

// log of the standard normal density.
inline double NormLogPdf(double x) { return -0.5 * x * x - kLogSqrt2Pi; }
// Phi(a), the standard normal cdf.
double Ndtr(double a);
// log Phi(a), accurate for every a (no underflow to -inf above a = -1e150 or so).
double LogNdtr(double a);
// log(Phi(b) - Phi(a)) for a <= b.
double LogGaussMass(double a, double b);
// Phi^-1(exp(y)) for y <= 0.
double NdtriExp(double y);
// Quantile q in [0, 1] of the standard normal truncated to [a, b] (a < b).
double Ppf(double q, double a, double b);
// log density at x of N(loc, scale^2) truncated to [loc + a scale, loc + b scale];
// -inf outside. Includes the -log(scale) term.
double LogPdf(double x, double a, double b, double loc, double scale);

}  // namespace truncnorm
}  // namespace mgr

#endif  // MGR_SAMPLERS_TRUNCNORM_H_
