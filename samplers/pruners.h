// Pruners with Optuna's exact rules: NopPruner, PercentilePruner, MedianPruner,
// ThresholdPruner and PatientPruner.
//
// PercentilePruner(p) prunes a trial at step s when all of these hold (Optuna 3.1-4.x):
// - at least max(1, n_startup_trials) trials are COMPLETE;
// - s (the trial's last reported step) >= n_warmup_steps;
// - s is the first reported step at or after the latest pruning point
//   n_warmup_steps + k * interval_steps (so a missed check is postponed, not skipped);
// - the trial's best value over all its steps (nanmin when minimising, nanmax when
//   maximising) is NaN, or is worse than the p-th percentile (100 - p when maximising;
//   numpy's linear interpolation, NaN ignored) of the values the COMPLETE trials
//   reported at exactly step s, provided at least n_min_trials of them reported there.
// Stateless; Prune() is const and safe to call from several threads.
#ifndef MGR_SAMPLERS_PRUNERS_H_
#define MGR_SAMPLERS_PRUNERS_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "samplers/pruner.h"

namespace mgr {

class NopPruner : public Pruner {
 public:
  std::string Name() const override { return "NopPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override { return false; }
};

struct PercentilePrunerOptions {
  double percentile = 25.0;  // in [0, 100]; the fraction of trials kept at each step
  int64_t n_startup_trials = 5;
  int64_t n_warmup_steps = 0;
  int64_t interval_steps = 1;
  int64_t n_min_trials = 1;
};

class PercentilePruner : public Pruner {
 public:
  // Options must be valid (see MakePruner, which checks them).
  explicit PercentilePruner(PercentilePrunerOptions options, std::string name = "PercentilePruner")
      : options_(options), name_(std::move(name)) {}
  std::string Name() const override { return name_; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override;
  const PercentilePrunerOptions& options() const { return options_; }

 private:
  PercentilePrunerOptions options_;
  std::string name_;
};

// MedianPruner is the 50th percentile.
class MedianPruner : public PercentilePruner {
 public:
  explicit MedianPruner(PercentilePrunerOptions options)
      : PercentilePruner(WithMedian(options), "MedianPruner") {}

 private:
  static PercentilePrunerOptions WithMedian(PercentilePrunerOptions o) {
    o.percentile = 50.0;
    return o;
  }
};

// ThresholdPruner (Optuna's): prunes at the first report at or after each pruning point
// n_warmup_steps + k * interval_steps when the trial's latest value is NaN, below `lower`
// or above `upper`, whatever the direction and the other trials. For values that must stay
// in a range (a loss that diverges, an accuracy stuck at chance).
struct ThresholdPrunerOptions {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
  int64_t n_warmup_steps = 0;
  int64_t interval_steps = 1;
};

class ThresholdPruner : public Pruner {
 public:
  // Options must be valid (lower <= upper; see MakePruner, which checks them).
  explicit ThresholdPruner(ThresholdPrunerOptions options) : options_(options) {}
  std::string Name() const override { return "ThresholdPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override;

 private:
  ThresholdPrunerOptions options_;
};

// PatientPruner (Optuna's): with more than patience + 1 reports, the trial is stalled when
// the best of its last patience + 1 values is not better than the best before them by more
// than min_delta (nanmin / nanmax by the study's direction; all-NaN compares false). A
// stalled trial is pruned, or handed to `wrapped` (which decides) when there is one.
class PatientPruner : public Pruner {
 public:
  // patience >= 0, min_delta >= 0; `wrapped` may be null.
  PatientPruner(std::unique_ptr<Pruner> wrapped, int64_t patience, double min_delta)
      : wrapped_(std::move(wrapped)), patience_(patience), min_delta_(min_delta) {}
  std::string Name() const override { return "PatientPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override;

 private:
  std::unique_ptr<Pruner> wrapped_;
  int64_t patience_;
  double min_delta_;
};

// Optuna's _is_first_in_interval_step: `step` (the trial's last report) is the first report
// at or after the latest pruning point n_warmup_steps + k * interval_steps, so a missed
// check is postponed, not skipped. Needs step >= n_warmup_steps.
bool IsFirstInIntervalStep(const FrozenTrial& trial, int64_t step, int64_t n_warmup_steps,
                           int64_t interval_steps);

// numpy.nanpercentile(values, q) with the default linear method, bit for bit (NaN if
// every value is NaN or there is none). Exposed for tests.
double NanPercentile(std::vector<double> values, double q);

}  // namespace mgr

#endif  // MGR_SAMPLERS_PRUNERS_H_
