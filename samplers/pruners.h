// Pruners with Optuna's exact rules: NopPruner, PercentilePruner, MedianPruner,
// ThresholdPruner, PatientPruner, SuccessiveHalvingPruner, HyperbandPruner and
// WilcoxonPruner.
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
// Stateless; Prune() is const and safe to call from several threads. (SuccessiveHalving and
// Hyperband record rungs and cache "auto" resources, as Optuna's do: see there.)
#ifndef MGR_SAMPLERS_PRUNERS_H_
#define MGR_SAMPLERS_PRUNERS_H_

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// SuccessiveHalvingPruner (Optuna's asynchronous successive halving, ASHA). Rung k of a trial
// ends at step min_resource * reduction_factor^(min_early_stopping_rate + k). At a check whose
// step (the trial's last report) is at or past the end of its current rung (the first k with
// no "completed_rung_<k>" system attribute), the trial's latest value v:
// - NaN: pruned;
// - else recorded as the trial's "completed_rung_<k>" (StudyView::set_trial_system_attr) and
//   compared with the values every other trial of the study (any state) recorded for rung k:
//   with c values in all (v included) it is pruned if c <= bootstrap_count, or if v is worse
//   than the (max(c / reduction_factor, 1))-th best of them (ties kept). Otherwise it is
//   promoted to rung k + 1 and, if its step is past that rung too, judged there at once.
// Before the first rung ends it is never pruned, and a trial judged at a rung is not judged
// there again. min_resource "auto" (nullopt) is max(1, s / 100) for s the largest last step
// of the study's COMPLETE trials at the first check that has any; no pruning before.
// Like Optuna's, the pruner keeps that estimate for its lifetime, and a check records rungs:
// asking twice about the same report can differ. Records go to the study when the view has
// set_trial_system_attr, else into this object (the study's trials' system_attrs still
// count). Prune() is safe to call from several threads.
struct SuccessiveHalvingPrunerOptions {
  std::optional<int64_t> min_resource;  // >= 1; nullopt: "auto"
  int64_t reduction_factor = 4;         // >= 2
  int64_t min_early_stopping_rate = 0;  // >= 0
  int64_t bootstrap_count = 0;          // >= 0; > 0 needs a min_resource
};

class SuccessiveHalvingPruner : public Pruner {
 public:
  // Options must be valid (see MakePruner, which checks them).
  explicit SuccessiveHalvingPruner(SuccessiveHalvingPrunerOptions options) : options_(options) {}
  std::string Name() const override { return "SuccessiveHalvingPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override;
  const SuccessiveHalvingPrunerOptions& options() const { return options_; }

 private:
  friend class HyperbandPruner;
  // Prune() with `trials` standing for the study's trials (a Hyperband bracket's).
  bool PruneAmong(const StudyView& study, const FrozenTrial& trial,
                  const std::vector<const FrozenTrial*>& trials) const;

  SuccessiveHalvingPrunerOptions options_;
  mutable std::mutex mu_;
  mutable std::optional<int64_t> min_resource_;  // options_.min_resource, or the estimate
  // Rungs recorded when the view had no set_trial_system_attr: (study, trial id) -> key -> value.
  mutable std::map<std::pair<std::string, int64_t>, std::map<std::string, double>> recorded_;
};

// HyperbandPruner (Optuna's): n_brackets = floor(log(max_resource / min_resource) /
// log(reduction_factor)) + 1 successive-halving pruners, bracket b with
// min_early_stopping_rate b. Trial `number` of study `name` belongs to the bracket picked by
// crc32("<name>_<number>") mod the sum of the brackets' trial budgets
// ceil(n_brackets * reduction_factor^s / (s + 1)), s = n_brackets - 1 - b, and is judged by
// that bracket's pruner against the trials of its bracket only. max_resource "auto"
// (nullopt) is 1 + the largest last step of the study's COMPLETE trials at the first check
// that has any (no pruning before); kept for the pruner's lifetime, like Optuna's. With
// fewer than one bracket (max_resource < min_resource) it never prunes. Rungs are recorded
// as by SuccessiveHalvingPruner. Samplers see the whole study, as in Optuna 4.x / 5.x: its
// pruners._filter_study hands samplers a bracket study whose get_trials() holds the
// bracket's trials only, but the samplers read _get_trials(), which it does not filter
// (Optuna 3.1's samplers called get_trials() and did see one bracket; study_optuna_test).
struct HyperbandPrunerOptions {
  int64_t min_resource = 1;             // >= 1
  std::optional<int64_t> max_resource;  // >= 1; nullopt: "auto"
  int64_t reduction_factor = 3;         // >= 2
  int64_t bootstrap_count = 0;          // >= 0; > 0 needs a max_resource
};

class HyperbandPruner : public Pruner {
 public:
  // Options must be valid (see MakePruner, which checks them).
  explicit HyperbandPruner(HyperbandPrunerOptions options) : options_(options) {}
  std::string Name() const override { return "HyperbandPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override;
  const HyperbandPrunerOptions& options() const { return options_; }
  // Optuna's _get_bracket_id: the bracket of trial `number` of study `study_name`; 0 until
  // a check sets the brackets up (the first one, or with max_resource "auto" the first that
  // has a COMPLETE trial).
  int64_t BracketId(std::string_view study_name, int64_t number) const;
  // The number of brackets, once set up (else nullopt).
  std::optional<int64_t> NumBrackets() const;

 private:
  // Sets up the brackets if it can (Optuna's _try_initialization); true when there are some.
  bool Initialize(const StudyView& study) const;
  int64_t BracketIdLocked(std::string_view study_name, int64_t number) const;

  HyperbandPrunerOptions options_;
  mutable std::mutex mu_;
  mutable std::optional<int64_t> n_brackets_;  // set once max_resource is known
  mutable std::vector<int64_t> budgets_;       // trial allocation budget of each bracket
  mutable int64_t total_budget_ = 0;
  mutable std::vector<std::unique_ptr<SuccessiveHalvingPruner>> pruners_;  // one per bracket
};

// WilcoxonPruner (Optuna's, 5.1): for trials that report one value per problem instance
// (step = instance id, in any order: cross-validation folds, benchmark problems, questions)
// rather than a learning curve. The trial is compared with the study's best trial (the
// first COMPLETE trial, by number, whose value no later one beats) on the steps both
// reported: with d = trial - best at each common step, a one-sided Wilcoxon signed-rank
// test (WilcoxonSignedRankTest below: scipy.stats.wilcoxon with zero_method "zsplit") of
// "the trial is worse" ("greater" when minimising, "less" when maximising) gives p, and the
// trial is pruned when p < p_threshold, unless the mean of all the trial's values is not
// worse than the mean of all the best trial's values (then it is kept, for safety, as
// Optuna does). It is never pruned when:
// - the trial has no report, or a NaN / infinite one (at any step);
// - there is no COMPLETE trial, or the study has other than one objective;
// - the best trial has no report, or a NaN / infinite one;
// - fewer than max(2, n_startup_steps) steps are common to both.
// Steps only one of the two reported are left out of the test (Optuna warns about the
// trial's; nothing is logged here), but every reported value counts in the means. The means
// add the values in step order; Optuna adds them in report order, which may differ in the
// last bit. Stateless; Prune() is const and safe to call from several threads.
struct WilcoxonPrunerOptions {
  double p_threshold = 0.1;     // in [0, 1]; larger prunes more
  int64_t n_startup_steps = 2;  // >= 0; common steps needed (2 at least in any case)
};

class WilcoxonPruner : public Pruner {
 public:
  // Options must be valid (see MakePruner, which checks them).
  explicit WilcoxonPruner(WilcoxonPrunerOptions options) : options_(options) {}
  std::string Name() const override { return "WilcoxonPruner"; }
  bool Prune(const StudyView& study, const FrozenTrial& trial) const override;
  const WilcoxonPrunerOptions& options() const { return options_; }

 private:
  WilcoxonPrunerOptions options_;
};

// The Wilcoxon signed-rank test of SciPy 1.17's scipy.stats.wilcoxon(d,
// zero_method="zsplit", correction=False, method="auto", alternative=...): the statistic
// r+ is the sum of the ranks of |d| (ties get the average rank) over d > 0, plus half the
// ranks of the zeros. The p-value is that of the alternative "the d are shifted up"
// (kGreater: large r+), "down" (kLess) or either (kTwoSided), computed as SciPy does:
// - kExact (no ties, no zeros, n <= 50): r+'s exact null distribution, count / 2^n;
// - kPermutation (ties or zeros, n <= 13): all 2^n sign flips of d (SciPy's permutation
//   test, which enumerates them), with its 1e-14 relative tolerance in comparisons;
// - kAsymptotic (otherwise): the normal approximation z = (r+ - n(n+1)/4) / se with the tie
//   correction se = sqrt((n(n+1)(2n+1) - sum(t^3 - t) / 2) / 24), t the sizes of the tie
//   groups (zeros included), no continuity correction; p from Cephes' ndtr (as SciPy).
// The exact and permutation p-values are bit for bit SciPy's; the asymptotic one too as far
// as exp() is the same. Two-sided: statistic min(r+, r-), p doubled and clipped to 1.
// Empty input or a NaN in d: statistic and p-value NaN; a single zero (SciPy raises): p-value
// NaN. Exposed for tests.
enum class WilcoxonAlternative { kTwoSided, kLess, kGreater };

struct WilcoxonResult {
  enum class Method { kExact, kPermutation, kAsymptotic };
  double statistic;
  double p_value;
  Method method;
};

WilcoxonResult WilcoxonSignedRankTest(const std::vector<double>& d,
                                      WilcoxonAlternative alternative);

// Python's binascii.crc32 / zlib.crc32 of `bytes` (CRC-32, start 0). Exposed for tests.
uint32_t Crc32(std::string_view bytes);

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
