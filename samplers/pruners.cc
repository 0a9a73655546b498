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

}  // namespace mgr
