#include "samplers/pruners.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

namespace mgr {

double NanPercentile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  // numpy 1.22+: virtual index n*q + (alpha + q*(1 - alpha - beta)) - 1 with alpha = beta = 1.
  const double quantile = q / 100.0;
  const double n = static_cast<double>(values.size());
  double virtual_index = n * quantile + (1.0 + quantile * (1.0 - 1.0 - 1.0)) - 1.0;
  double previous = std::floor(virtual_index);
  double gamma = virtual_index - previous;
  auto clamp_index = [&](double i) { return static_cast<size_t>(std::clamp(i, 0.0, n - 1.0)); };
  double a = values[clamp_index(previous)];
  double b = values[clamp_index(previous + 1.0)];
  if (virtual_index >= n - 1.0) return values.back();
  if (virtual_index <= 0.0) return values.front();
  // numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5.
  double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

bool IsFirstInIntervalStep(const FrozenTrial& trial, int64_t step, int64_t n_warmup_steps,
                           int64_t interval_steps) {
  const int64_t nearest_lower =
      (step - n_warmup_steps) / interval_steps * interval_steps + n_warmup_steps;
  int64_t second_last = -1;
  for (const auto& [s, v] : trial.intermediate_values) {
    if (s > second_last && s != step) second_last = s;
  }
  return second_last < nearest_lower;
}

bool ThresholdPruner::Prune(const StudyView& study, const FrozenTrial& trial) const {
  std::optional<int64_t> last = trial.LastStep();
  if (!last || *last < options_.n_warmup_steps) return false;
  if (!IsFirstInIntervalStep(trial, *last, options_.n_warmup_steps, options_.interval_steps)) {
    return false;
  }
  const double v = trial.intermediate_values.at(*last);
  return std::isnan(v) || v < options_.lower || v > options_.upper;
}

bool PatientPruner::Prune(const StudyView& study, const FrozenTrial& trial) const {
  const int64_t n = static_cast<int64_t>(trial.intermediate_values.size());
  if (n <= patience_ + 1) return false;
  const bool maximize =
      !study.directions.empty() && study.directions[0] == StudyDirection::kMaximize;
  // numpy's nanmin / nanmax of [first, last) in step order: NaN when all are NaN.
  auto best = [&](int64_t first, int64_t last) {
    double b = std::numeric_limits<double>::quiet_NaN();
    int64_t i = 0;
    for (const auto& [s, v] : trial.intermediate_values) {
      if (i >= first && i < last && !std::isnan(v) &&
          (std::isnan(b) || (maximize ? v > b : v < b))) {
        b = v;
      }
      ++i;
    }
    return b;
  };
  const double before = best(0, n - patience_ - 1);
  const double after = best(n - patience_ - 1, n);
  const bool stalled = maximize ? before - min_delta_ > after : before + min_delta_ < after;
  if (!stalled) return false;
  return wrapped_ == nullptr || wrapped_->Prune(study, trial);
}

uint32_t Crc32(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

namespace {

// base * factor^exponent, or INT64_MAX when that does not fit (Python's ints do not
// overflow; no reported step reaches the saturated value).
int64_t SaturatingScaledPower(int64_t base, int64_t factor, int64_t exponent) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t result = base;
  for (int64_t i = 0; i < exponent; ++i) {
    if (result > kMax / factor) return kMax;
    result *= factor;
  }
  return result;
}

std::string CompletedRungKey(int64_t rung) { return "completed_rung_" + std::to_string(rung); }

// Optuna's _estimate_min_resource: max(1, s // 100) for s the largest last step of the
// COMPLETE trials; nullopt when there is none.
std::optional<int64_t> EstimateMinResource(const std::vector<const FrozenTrial*>& trials) {
  std::optional<int64_t> last_step;
  for (const FrozenTrial* t : trials) {
    if (t->state != TrialState::kComplete) continue;
    std::optional<int64_t> s = t->LastStep();
    if (s && (!last_step || *s > *last_step)) last_step = s;
  }
  if (!last_step) return std::nullopt;
  return std::max<int64_t>(*last_step / 100, 1);
}

// Optuna's _is_trial_promotable_to_next_rung: `value` is at least as good as the
// max(n / reduction_factor, 1)-th best of `competing` (which holds it).
bool IsPromotable(double value, std::vector<double> competing, int64_t reduction_factor,
                  bool maximize) {
  const int64_t n = static_cast<int64_t>(competing.size());
  const int64_t index = std::max<int64_t>(n / reduction_factor - 1, 0);
  std::sort(competing.begin(), competing.end());
  return maximize ? value >= competing[n - 1 - index] : value <= competing[index];
}

}  // namespace

bool SuccessiveHalvingPruner::Prune(const StudyView& study, const FrozenTrial& trial) const {
  std::vector<const FrozenTrial*> trials;
  trials.reserve(study.trials.size());
  for (const FrozenTrial& t : study.trials) trials.push_back(&t);
  return PruneAmong(study, trial, trials);
}

bool SuccessiveHalvingPruner::PruneAmong(const StudyView& study, const FrozenTrial& trial,
                                         const std::vector<const FrozenTrial*>& trials) const {
  const std::optional<int64_t> last = trial.LastStep();
  if (!last) return false;
  const int64_t step = *last;
  const double value = trial.intermediate_values.at(step);
  const bool maximize =
      !study.directions.empty() && study.directions[0] == StudyDirection::kMaximize;

  std::lock_guard<std::mutex> lock(mu_);
  // Rungs live in the trials' system attributes; without a place to write them, also in
  // recorded_ (which then counts as part of every trial's attributes).
  const bool in_memory = !study.set_trial_system_attr;
  const std::string study_name(study.study_name);
  auto memory = [&](const FrozenTrial& t) -> const std::map<std::string, double>* {
    if (!in_memory) return nullptr;
    auto it = recorded_.find({study_name, t.trial_id});
    return it == recorded_.end() ? nullptr : &it->second;
  };
  auto has_key = [&](const FrozenTrial& t, const std::string& key) {
    if (t.system_attrs.count(key)) return true;
    const auto* m = memory(t);
    return m != nullptr && m->count(key) > 0;
  };
  // Optuna's _get_current_rung: the first rung the trial has not completed.
  int64_t rung = 0;
  while (has_key(trial, CompletedRungKey(rung))) ++rung;

  while (true) {
    if (!min_resource_) {
      min_resource_ = options_.min_resource ? options_.min_resource : EstimateMinResource(trials);
      if (!min_resource_) return false;
    }
    const int64_t rung_promotion_step = SaturatingScaledPower(
        *min_resource_, options_.reduction_factor, options_.min_early_stopping_rate + rung);
    if (step < rung_promotion_step) return false;
    if (std::isnan(value)) return true;

    const std::string key = CompletedRungKey(rung);
    // The values the other trials recorded for this rung (Optuna's _get_competing_values;
    // it reads the trials as they were before this check recorded anything). A value that
    // is not a number (no pruner writes one) is left out.
    std::vector<double> competing;
    for (const FrozenTrial* t : trials) {
      if (t->trial_id == trial.trial_id) continue;
      auto it = t->system_attrs.find(key);
      if (it != t->system_attrs.end()) {
        if (it->second.is_number()) competing.push_back(it->second.get<double>());
        continue;
      }
      if (const auto* m = memory(*t)) {
        auto v = m->find(key);
        if (v != m->end()) competing.push_back(v->second);
      }
    }
    competing.push_back(value);

    if (in_memory) {
      recorded_[{study_name, trial.trial_id}][key] = value;
    } else {
      study.set_trial_system_attr(trial.trial_id, key, Json(value));
    }

    // `competing` includes this trial's value, hence <=.
    if (static_cast<int64_t>(competing.size()) <= options_.bootstrap_count) return true;
    if (!IsPromotable(value, std::move(competing), options_.reduction_factor, maximize)) {
      return true;
    }
    ++rung;
  }
}

bool HyperbandPruner::Initialize(const StudyView& study) const {
  if (!n_brackets_) {
    std::optional<int64_t> max_resource = options_.max_resource;
    if (!max_resource) {
      for (const FrozenTrial& t : study.trials) {
        if (t.state != TrialState::kComplete) continue;
        std::optional<int64_t> s = t.LastStep();
        if (s && (!max_resource || *s + 1 > *max_resource)) max_resource = *s + 1;
      }
      if (!max_resource) return false;
    }
    // Python's math.floor(math.log(max / min, reduction_factor)) + 1: log(x) / log(base).
    const double ratio =
        static_cast<double>(*max_resource) / static_cast<double>(options_.min_resource);
    n_brackets_ = static_cast<int64_t>(std::floor(
                      std::log(ratio) / std::log(static_cast<double>(options_.reduction_factor)))) +
                  1;
    for (int64_t bracket = 0; bracket < *n_brackets_; ++bracket) {
      // Optuna's _calculate_trial_allocation_budget: ceil(n * eta^s / (s + 1)) in floats
      // (exact while n * eta^s < 2^53).
      const int64_t s = *n_brackets_ - 1 - bracket;
      const int64_t scaled = SaturatingScaledPower(*n_brackets_, options_.reduction_factor, s);
      const int64_t budget =
          static_cast<int64_t>(std::ceil(static_cast<double>(scaled) / static_cast<double>(s + 1)));
      budgets_.push_back(budget);
      total_budget_ += budget;
      SuccessiveHalvingPrunerOptions o;
      o.min_resource = options_.min_resource;
      o.reduction_factor = options_.reduction_factor;
      o.min_early_stopping_rate = bracket;
      o.bootstrap_count = options_.bootstrap_count;
      pruners_.push_back(std::make_unique<SuccessiveHalvingPruner>(o));
    }
  }
  return !pruners_.empty();
}

int64_t HyperbandPruner::BracketIdLocked(std::string_view study_name, int64_t number) const {
  if (pruners_.empty()) return 0;
  std::string id(study_name);
  id += "_" + std::to_string(number);
  int64_t n = static_cast<int64_t>(Crc32(id)) % total_budget_;
  for (int64_t bracket = 0; bracket < *n_brackets_; ++bracket) {
    n -= budgets_[bracket];
    if (n < 0) return bracket;
  }
  return *n_brackets_ - 1;  // unreachable: the budgets sum to total_budget_
}

int64_t HyperbandPruner::BracketId(std::string_view study_name, int64_t number) const {
  std::lock_guard<std::mutex> lock(mu_);
  return BracketIdLocked(study_name, number);
}

std::optional<int64_t> HyperbandPruner::NumBrackets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return n_brackets_;
}

bool HyperbandPruner::Prune(const StudyView& study, const FrozenTrial& trial) const {
  const SuccessiveHalvingPruner* pruner = nullptr;
  std::vector<const FrozenTrial*> bracket_trials;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Initialize(study)) return false;
    const int64_t bracket = BracketIdLocked(study.study_name, trial.number);
    pruner = pruners_[bracket].get();
    // Optuna's _BracketStudy: the study as the bracket's pruner sees it.
    for (const FrozenTrial& t : study.trials) {
      if (BracketIdLocked(study.study_name, t.number) == bracket) bracket_trials.push_back(&t);
    }
  }
  return pruner->PruneAmong(study, trial, bracket_trials);
}

bool PercentilePruner::Prune(const StudyView& study, const FrozenTrial& trial) const {
  std::vector<const FrozenTrial*> completed;
  for (const FrozenTrial& t : study.trials) {
    if (t.state == TrialState::kComplete) completed.push_back(&t);
  }
  const int64_t n_trials = static_cast<int64_t>(completed.size());
  if (n_trials == 0 || n_trials < options_.n_startup_trials) return false;

  std::optional<int64_t> last = trial.LastStep();
  if (!last) return false;
  const int64_t step = *last;
  const int64_t warmup = options_.n_warmup_steps;
  if (step < warmup) return false;

  if (!IsFirstInIntervalStep(trial, step, warmup, options_.interval_steps)) return false;

  const bool maximize =
      !study.directions.empty() && study.directions[0] == StudyDirection::kMaximize;
  // nanmin / nanmax over the trial's reported values.
  double best = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [s, v] : trial.intermediate_values) {
    if (std::isnan(v)) continue;
    if (std::isnan(best) || (maximize ? v > best : v < best)) best = v;
  }
  if (std::isnan(best)) return true;

  std::vector<double> at_step;
  for (const FrozenTrial* t : completed) {
    auto it = t->intermediate_values.find(step);
    if (it != t->intermediate_values.end()) at_step.push_back(it->second);
  }
  if (static_cast<int64_t>(at_step.size()) < options_.n_min_trials) return false;
  double percentile = maximize ? 100.0 - options_.percentile : options_.percentile;
  double p = NanPercentile(std::move(at_step), percentile);
  if (std::isnan(p)) return false;
  return maximize ? best < p : best > p;
}

// ---- Wilcoxon signed-rank test and WilcoxonPruner --------------------------------------------

namespace {

// Cephes' erf, erfc and ndtr as SciPy's xsf (include/xsf/cephes/ndtr.h, polevl.h) has them,
// operation for operation, so that the normal approximation's p-values are SciPy's.
// Cephes Math Library Release 2.2, Copyright 1984, 1987, 1988, 1992 by Stephen L. Moshier.
namespace cephes {

constexpr double kP[] = {
    2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0,
    4.86371970985681366614E1,   1.96520832956077098242E2,  5.26445194995477358631E2,
    9.34528527171957607540E2,   1.02755188689515710272E3,  5.57535335369399327526E2};
constexpr double kQ[] = {1.32281951154744992508E1, 8.67072140885989742329E1,
                         3.54937778887819891062E2, 9.75708501743205489753E2,
                         1.82390916687909736289E3, 2.24633760818710981792E3,
                         1.65666309194161350182E3, 5.57535340817727675546E2};
constexpr double kR[] = {5.64189583547755073984E-1, 1.27536670759978104416E0,
                         5.01905042251180477414E0,  6.16021097993053585195E0,
                         7.40974269950448939160E0,  2.97886665372100240670E0};
constexpr double kS[] = {2.26052863220117276590E0, 9.39603524938001434673E0,
                         1.20489539808096656605E1, 1.70814450747565897222E1,
                         9.60896809063285878198E0, 3.36907645100081516050E0};
constexpr double kT[] = {9.60497373987051638749E0, 9.00260197203842689217E1,
                         2.23200534594684319226E3, 7.00332514112805075473E3,
                         5.55923013010394962768E4};
constexpr double kU[] = {3.35617141647503099647E1, 5.21357949780152679795E2,
                         4.59432382970980127987E3, 2.26290000613890934246E4,
                         4.92673942608635921086E4};
constexpr double kMaxLog = 7.097827128933839730962063185871E2;  // log(DBL_MAX)
constexpr double kSqrt1_2 = 0.707106781186547524400844362104849039;

// coef[0] x^n + ... + coef[n].
double Polevl(double x, const double* coef, int n) {
  double ans = coef[0];
  for (int i = 1; i <= n; ++i) ans = ans * x + coef[i];
  return ans;
}
// x^n + coef[0] x^(n-1) + ... + coef[n-1].
double P1evl(double x, const double* coef, int n) {
  double ans = x + coef[0];
  for (int i = 1; i < n; ++i) ans = ans * x + coef[i];
  return ans;
}

double Erf(double x);

double Erfc(double a) {
  if (std::isnan(a)) return a;
  const double x = a < 0.0 ? -a : a;
  if (x < 1.0) return 1.0 - Erf(a);
  double z = -a * a;
  if (z < -kMaxLog) return a < 0 ? 2.0 : 0.0;
  z = std::exp(z);
  double p, q;
  if (x < 8.0) {
    p = Polevl(x, kP, 8);
    q = P1evl(x, kQ, 8);
  } else {
    p = Polevl(x, kR, 5);
    q = P1evl(x, kS, 6);
  }
  double y = (z * p) / q;
  if (a < 0) y = 2.0 - y;
  if (y != 0.0) return y;
  return a < 0 ? 2.0 : 0.0;
}

double Erf(double x) {
  if (std::isnan(x)) return x;
  if (x < 0.0) return -Erf(-x);
  if (std::abs(x) > 1.0) return 1.0 - Erfc(x);
  const double z = x * x;
  return x * Polevl(z, kT, 4) / P1evl(z, kU, 5);
}

// The standard normal CDF.
double Ndtr(double a) {
  if (std::isnan(a)) return a;
  const double x = a * kSqrt1_2;
  const double z = std::abs(x);
  if (z < 1.0) return 0.5 + 0.5 * Erf(x);
  double y = 0.5 * Erfc(z);
  if (x > 0) y = 1.0 - y;
  return y;
}

}  // namespace cephes

// SciPy's "auto" method: exact up to this n (without ties or zeros), a permutation test up
// to kMaxPermutationN (2^13 sign flips fit in its 9999 resamples), else the normal one.
constexpr size_t kMaxExactN = 50;
constexpr size_t kMaxPermutationN = 13;

}  // namespace

WilcoxonResult WilcoxonSignedRankTest(const std::vector<double>& d,
                                      WilcoxonAlternative alternative) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const size_t n = d.size();
  if (n == 0 || std::any_of(d.begin(), d.end(), [](double v) { return std::isnan(v); })) {
    return {nan, nan, WilcoxonResult::Method::kAsymptotic};
  }
  // Average ranks of |d| (scipy's _rankdata, "average"), and the tie groups' sizes.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return std::abs(d[a]) < std::abs(d[b]); });
  std::vector<double> rank(n);
  double tie_correct = 0.0;  // sum of t^3 - t over the tie groups
  bool has_ties = false;
  for (size_t first = 0; first < n;) {
    size_t last = first + 1;
    while (last < n && std::abs(d[order[last]]) == std::abs(d[order[first]])) ++last;
    const double t = static_cast<double>(last - first);
    const double average = static_cast<double>(first + 1) + (t - 1.0) / 2.0;
    for (size_t k = first; k < last; ++k) rank[order[k]] = average;
    tie_correct += t * t * t - t;
    has_ties = has_ties || t > 1.0;
    first = last;
  }
  // r+ and r- with zsplit: each zero's rank is split between them. Ranks are multiples of
  // 1/2 and the sums far below 2^52, so every sum here is exact in any order.
  double r_plus = 0.0, r_minus = 0.0, r_zero = 0.0;
  size_t n_zero = 0;
  for (size_t i = 0; i < n; ++i) {
    if (d[i] > 0) r_plus += rank[i];
    if (d[i] < 0) r_minus += rank[i];
    if (d[i] == 0) {
      r_zero += rank[i];
      ++n_zero;
    }
  }
  const double r_zero_2 = r_zero / 2;
  r_plus += r_zero_2;
  r_minus += r_zero_2;
  const double statistic =
      alternative == WilcoxonAlternative::kTwoSided ? std::min(r_plus, r_minus) : r_plus;

  if (n <= kMaxExactN && !has_ties && n_zero == 0) {
    // The exact null distribution of r+ (integer ranks): counts[s] of the 2^n sign patterns
    // give r+ = s; the p-values count / 2^n are exact, as SciPy's sums of its pmf are.
    const size_t max_sum = n * (n + 1) / 2;
    std::vector<uint64_t> counts(max_sum + 1, 0);
    counts[0] = 1;
    for (size_t k = 1; k <= n; ++k) {
      for (size_t s = k * (k + 1) / 2; s >= k; --s) counts[s] += counts[s - k];
    }
    const double scale = std::ldexp(1.0, -static_cast<int>(n));
    auto sf = [&](double k) {  // P(r+ >= k)
      uint64_t c = 0;
      for (size_t s = static_cast<size_t>(std::max(k, 0.0)); s <= max_sum; ++s) c += counts[s];
      return static_cast<double>(c) * scale;
    };
    auto cdf = [&](double k) {  // P(r+ <= k)
      uint64_t c = 0;
      for (size_t s = 0; static_cast<double>(s) <= k && s <= max_sum; ++s) c += counts[s];
      return static_cast<double>(c) * scale;
    };
    double p;
    if (alternative == WilcoxonAlternative::kLess) {
      p = cdf(std::ceil(r_plus));
    } else if (alternative == WilcoxonAlternative::kGreater) {
      p = sf(std::floor(r_plus));
    } else {
      p = std::clamp(2 * std::min(sf(std::floor(r_plus)), cdf(std::ceil(r_plus))), 0.0, 1.0);
    }
    return {statistic, p, WilcoxonResult::Method::kExact};
  }

  if (n <= kMaxPermutationN) {
    // SciPy's permutation test refuses a single observation (here a single zero).
    if (n < 2) return {statistic, nan, WilcoxonResult::Method::kPermutation};
    // scipy.stats.permutation_test(permutation_type="samples") with one sample flips signs:
    // all 2^n flips (zeros stay zeros), compared with its tolerance gamma = 100 eps |r+|.
    const double gamma = std::abs(std::numeric_limits<double>::epsilon() * 100 * r_plus);
    const uint32_t patterns = uint32_t{1} << n;
    uint32_t at_most = 0, at_least = 0;
    for (uint32_t mask = 0; mask < patterns; ++mask) {
      double null_r_plus = 0.0;
      for (size_t i = 0; i < n; ++i) {
        // Bit i set: d[i] keeps its sign; otherwise it is negated.
        const bool positive = (mask >> i & 1) ? d[i] > 0 : d[i] < 0;
        if (positive) null_r_plus += rank[i];
      }
      null_r_plus += r_zero_2;
      at_most += null_r_plus <= r_plus + gamma;
      at_least += null_r_plus >= r_plus - gamma;
    }
    const double p_less = static_cast<double>(at_most) / static_cast<double>(patterns);
    const double p_greater = static_cast<double>(at_least) / static_cast<double>(patterns);
    double p = alternative == WilcoxonAlternative::kLess      ? p_less
               : alternative == WilcoxonAlternative::kGreater ? p_greater
                                                              : std::min(p_less, p_greater) * 2;
    return {statistic, std::clamp(p, 0.0, 1.0), WilcoxonResult::Method::kPermutation};
  }

  const double count = static_cast<double>(n);
  const double mn = count * (count + 1.) * 0.25;
  double se = count * (count + 1.) * (2. * count + 1.);
  se = std::sqrt((se - tie_correct / 2) / 24);
  const double z = (r_plus - mn) / se;
  double p;
  if (alternative == WilcoxonAlternative::kLess) {
    p = cephes::Ndtr(z);
  } else if (alternative == WilcoxonAlternative::kGreater) {
    p = cephes::Ndtr(-z);
  } else {
    p = 2 * cephes::Ndtr(-std::abs(z));
  }
  return {statistic, p, WilcoxonResult::Method::kAsymptotic};
}

bool WilcoxonPruner::Prune(const StudyView& study, const FrozenTrial& trial) const {
  auto all_finite = [](const FrozenTrial& t) {
    return std::all_of(t.intermediate_values.begin(), t.intermediate_values.end(),
                       [](const auto& sv) { return std::isfinite(sv.second); });
  };
  if (trial.intermediate_values.empty() || !all_finite(trial)) return false;
  if (study.directions.size() != 1) return false;
  const bool maximize = study.directions[0] == StudyDirection::kMaximize;
  // Optuna's study.best_trial: the first COMPLETE trial no later one strictly beats.
  const FrozenTrial* best = nullptr;
  for (const FrozenTrial& t : study.trials) {
    if (t.state != TrialState::kComplete || t.values.empty()) continue;
    if (best == nullptr ||
        (maximize ? t.values[0] > best->values[0] : t.values[0] < best->values[0])) {
      best = &t;
    }
  }
  if (best == nullptr || best->intermediate_values.empty() || !all_finite(*best)) return false;

  std::vector<double> diff;
  for (const auto& [step, value] : trial.intermediate_values) {
    auto it = best->intermediate_values.find(step);
    if (it != best->intermediate_values.end()) diff.push_back(value - it->second);
  }
  if (static_cast<int64_t>(diff.size()) < std::max<int64_t>(2, options_.n_startup_steps)) {
    return false;
  }
  auto mean = [](const FrozenTrial& t) {
    double sum = 0.0;
    for (const auto& [step, value] : t.intermediate_values) sum += value;
    return sum / static_cast<double>(t.intermediate_values.size());
  };
  const double best_mean = mean(*best), trial_mean = mean(trial);
  const bool average_is_best = maximize ? best_mean <= trial_mean : best_mean >= trial_mean;
  const double p = WilcoxonSignedRankTest(
                       diff, maximize ? WilcoxonAlternative::kLess : WilcoxonAlternative::kGreater)
                       .p_value;
  // A significant p while the trial's mean is not worse than the best's: kept, for safety.
  return p < options_.p_threshold && !average_is_best;
}

}  // namespace mgr
