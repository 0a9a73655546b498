// TpeSampler: the Tree-structured Parzen Estimator with Optuna 4.x's semantics and
// defaults (REFERENCE.md section 4).
//
// Until n_startup_trials trials are COMPLETE or PRUNED it samples at random. Then, per
// parameter (univariate, the default) or jointly over the intersection search space
// (multivariate; per group of parameters that always appear together with `group`), it
// splits the finished trials into the gamma(n) best ("below") and the rest ("above"),
// fits a Parzen estimator to each, draws n_ei_candidates points from the below one and
// returns the point maximising log l(x) - log g(x). With constant_liar, RUNNING trials
// (other than the one being sampled) count as "above", so parallel workers spread out.
// FAIL and WAITING trials are ignored.
//
// Deterministic for a seed and a history: the random startup draws and the candidates of
// each step come from a generator seeded per trial and parameter (TrialSeeder in
// sampler.h), so a restarted or second process draws what one process would. Not
// thread-safe (one sampler per study object).
#ifndef MGR_SAMPLERS_TPE_SAMPLER_H_
#define MGR_SAMPLERS_TPE_SAMPLER_H_

#include <cstdint>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "samplers/parzen_estimator.h"
#include "samplers/random_sampler.h"
#include "samplers/sampler.h"

namespace mgr {

struct TpeOptions {
  uint64_t seed = 0;
  int64_t n_startup_trials = 10;
  int64_t n_ei_candidates = 24;
  bool multivariate = false;
  bool group = false;  // needs multivariate
  bool constant_liar = false;
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  // Multivariate kernel widths: Scott's rule, one width per dimension for every kernel
  // (Optuna <= 4.x), or false: each kernel's gap to its neighbours per dimension, as in
  // univariate mode (Optuna 5; better on every continuous problem of the quality bench,
  // docs/samplers.md).
  bool scott_bandwidth = false;
};

// Optuna's default_gamma(n) = min(ceil(0.1 n), 25).
int64_t TpeGamma(int64_t n);

// Optuna 4.x's _split_trials for one objective. `trials` are COMPLETE, PRUNED or RUNNING.
// Below: the n_below best COMPLETE trials by value, topped up with PRUNED trials ranked
// by (larger last step first, then value; NaN last; no reports at all last). RUNNING
// trials are always above. Both lists are in trial-number order.
struct TpeSplit {
  std::vector<const FrozenTrial*> below;
  std::vector<const FrozenTrial*> above;
};
TpeSplit SplitTrials(const std::vector<const FrozenTrial*>& trials, StudyDirection direction,
                     int64_t n_below);

class TpeSampler : public Sampler {
 public:
  explicit TpeSampler(const TpeOptions& options);
  std::string Name() const override { return "TPESampler"; }

  SearchSpace InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) override;
  std::map<std::string, double> SampleRelative(const StudyView& study, const FrozenTrial& trial,
                                               const SearchSpace& space) override;
  double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                           const std::string& name, const Distribution& dist) override;

  const TpeOptions& options() const { return options_; }

 private:
  // State counts of a history. Finished trials never change and trials are only added,
  // so with the trials' storage (pointer, size) and the trial being sampled these
  // identify the history the split depends on.
  struct HistoryCounts {
    int64_t n_complete = 0, n_pruned = 0, n_running = 0;
    int64_t finished() const { return n_complete + n_pruned; }
  };

  // One TPE step over `space` (non-empty, no single-value distributions); `counts` are
  // CheckCaches(study)'s.
  std::map<std::string, double> Sample(const StudyView& study, const FrozenTrial& trial,
                                       const SearchSpace& space, const HistoryCounts& counts);

  struct SplitKey {  // see HistoryCounts
    const FrozenTrial* data;
    size_t size;
    int64_t n_complete, n_pruned, n_running, number;
    bool operator==(const SplitKey& o) const {
      return data == o.data && size == o.size && n_complete == o.n_complete &&
             n_pruned == o.n_pruned && n_running == o.n_running && number == o.number;
    }
  };
  // The below/above split as positions in study.trials, for the history in `key`, and
  // the trials' numbers (-1 for a RUNNING one), so that the column caches can be read
  // without touching the trials. The univariate sampler asks once per parameter of a
  // trial; the split is computed once per trial.
  struct SplitCache {
    SplitKey key;
    std::vector<size_t> below, above;
    std::vector<int64_t> below_numbers, above_numbers;
  };
  const SplitCache& Split(const StudyView& study, const FrozenTrial& trial,
                          const HistoryCounts& counts);

  // Internal values of one parameter by trial number, for finished trials (which never
  // change): state 0 = not read yet, 1 = absent, 2 = present. Saves a string-keyed lookup
  // per trial and parameter on every suggestion.
  //
  // For the univariate estimators, a column also keeps its finished trials sorted by
  // transformed value (the bandwidth rule sorts the observations on every suggestion).
  // Finished trials never change, so a trial is merged in once, when Lookup first reads
  // it (`unsorted` until the next SortedOrder); the list is rebuilt if the parameter's
  // log flag changes (the transform differs), and dropped with the column when
  // CheckCaches sees another study.
  struct Column {
    std::vector<double> value;
    std::vector<uint8_t> state;
    bool sorted_log = false;                         // keys of `sorted` are log(value)
    std::vector<std::pair<double, int64_t>> sorted;  // (transformed value, trial number)
    std::vector<int64_t> unsorted;                   // present, not yet merged into `sorted`
  };
  // Trial t's value of the parameter `name` (column `col`); false if it has none.
  // `number` is t's number if t is finished (then the column answers once it has read t),
  // else -1.
  static bool Lookup(const FrozenTrial& t, int64_t number, const std::string& name, Column& col,
                     double* out);
  // Sets `order` to the indices of `numbers` (the trial numbers of an estimator's
  // observations, increasing) ordered by transformed value, ties by index: the stable
  // argsort ParzenEstimator would compute. False (order unusable) if an observation is
  // not a finished trial (number -1: a RUNNING trial under constant_liar).
  bool SortedOrder(Column& col, bool log, const std::vector<int64_t>& numbers,
                   std::vector<int>& order);
  std::vector<int> rank_scratch_;  // by trial number: index among `numbers`, or -1

  // The estimators' mixture weights for n observations (TpeDefaultWeights(n) and the
  // prior), remembered for the last two sizes (below and above): they depend only on n
  // and the options, so they stay valid across trials and studies.
  std::shared_ptr<const ParzenMixture> Mixture(size_t n);
  std::shared_ptr<const ParzenMixture> mixture_cache_[2];

  // Drops the caches below if `study` is not the history they were built from (a trial
  // number now names another trial id, e.g. the sampler was reused for another study),
  // and counts the trials' states in the same pass over the trials.
  HistoryCounts CheckCaches(const StudyView& study);
  std::vector<int64_t> cached_ids_;  // trial id by number, for finished trials seen

  // Running intersection search space over the finished trials folded in so far.
  std::vector<bool> intersected_;
  bool intersection_empty_history_ = true;
  SearchSpace intersection_;
  std::unordered_map<std::string, Column> columns_;

  TpeOptions options_;
  ParzenEstimatorParameters pe_params_;
  TrialSeeder seeder_;
  std::optional<SplitCache> split_cache_;

  // Buffers of Sample, kept between suggestions. A multivariate suggestion over 1,000
  // trials and 10 parameters builds ~0.4 MB of observations and estimator arrays; freed at
  // the end of every suggestion, that block could end up at the top of the heap, where
  // glibc's free() returns it to the system (trim threshold 128 KB) and the next
  // suggestion faults it in again (~35 page faults, +0.5 ms per suggestion in a loop that
  // asks repeatedly). Keeping the observation buffers (their capacity) and the last
  // estimators until the next ones are built keeps that memory allocated: the next
  // estimators are built before the previous ones are freed, so their memory is reused
  // from one suggestion to the next and never sits freed at the top of the heap.
  struct Workspace {
    std::vector<std::vector<double>> below_obs, above_obs;
    std::vector<int64_t> below_numbers, above_numbers;
    std::vector<int> below_order, above_order;
    std::vector<double> row;
    std::optional<ParzenEstimator> below, above;
  };
  Workspace workspace_;
};

}  // namespace mgr

#endif  // MGR_SAMPLERS_TPE_SAMPLER_H_
