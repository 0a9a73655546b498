#include "samplers/pruners.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

}  // namespace mgr
