#include "samplers/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <unordered_set>

#include "samplers/search_space.h"

namespace mgr {
namespace {

// Optuna's _get_pruned_trial_score: (-last step, signed last value); NaN -> +inf;
// no reports -> (1, 0).
std::pair<double, double> PrunedScore(const FrozenTrial& t, bool maximize) {
  if (t.intermediate_values.empty()) return {1.0, 0.0};
  const auto& [step, value] = *t.intermediate_values.rbegin();
  if (std::isnan(value))
    return {-static_cast<double>(step), std::numeric_limits<double>::infinity()};
  return {-static_cast<double>(step), maximize ? -value : value};
}

bool ByNumber(const FrozenTrial* a, const FrozenTrial* b) { return a->number < b->number; }

// Puts into v[0, k) the first k elements of what std::stable_sort(v, less) gives (the rest
// in unspecified order). With no NaN keys, (less, position) is a strict total order, so a
// partial sort on it selects the same prefix at O(n log k) instead of a full sort;
// otherwise (NaN compares equal to everything) it falls back to the stable sort.
template <typename T, typename Less>
void StableSortPrefix(std::vector<T>& v, size_t k, Less less) {
  const bool has_nan = std::any_of(v.begin(), v.end(),
                                   [](const T& e) { return std::isnan(e.k1) || std::isnan(e.k2); });
  if (has_nan || k * 4 >= v.size()) {
    std::stable_sort(v.begin(), v.end(), less);
    return;
  }
  std::vector<std::pair<size_t, T>> indexed(v.size());
  for (size_t i = 0; i < v.size(); ++i) indexed[i] = {i, v[i]};
  std::partial_sort(indexed.begin(), indexed.begin() + static_cast<std::ptrdiff_t>(k),
                    indexed.end(), [&](const auto& a, const auto& b) {
                      if (less(a.second, b.second)) return true;
                      if (less(b.second, a.second)) return false;
                      return a.first < b.first;
                    });
  for (size_t i = 0; i < k; ++i) v[i] = indexed[i].second;
}

}  // namespace

int64_t TpeGamma(int64_t n) {
  return std::min<int64_t>(static_cast<int64_t>(std::ceil(0.1 * static_cast<double>(n))), 25);
}

TpeSplit SplitTrials(const std::vector<const FrozenTrial*>& trials, StudyDirection direction,
                     int64_t n_below) {
  const bool maximize = direction == StudyDirection::kMaximize;
  // Sort keys computed once: COMPLETE by signed value; PRUNED by (-last step, signed value).
  struct Keyed {
    double k1, k2;
    const FrozenTrial* t;
  };
  std::vector<Keyed> complete, pruned;
  std::vector<const FrozenTrial*> running;
  complete.reserve(trials.size());
  for (const FrozenTrial* t : trials) {
    if (t->state == TrialState::kRunning) {
      running.push_back(t);
    } else if (t->state == TrialState::kComplete) {
      double v = t->values.empty() ? std::numeric_limits<double>::quiet_NaN() : t->values[0];
      complete.push_back({maximize ? -v : v, 0.0, t});
    } else if (t->state == TrialState::kPruned) {
      auto [k1, k2] = PrunedScore(*t, maximize);
      pruned.push_back({k1, k2, t});
    }
  }
  const size_t n_complete_below =
      static_cast<size_t>(std::clamp<int64_t>(n_below, 0, complete.size()));
  const size_t n_pruned_below = static_cast<size_t>(
      std::clamp<int64_t>(n_below - static_cast<int64_t>(n_complete_below), 0, pruned.size()));
  // Python's sorted() is stable; only the first n_below of each list matter.
  StableSortPrefix(complete, n_complete_below,
                   [](const Keyed& a, const Keyed& b) { return a.k1 < b.k1; });
  StableSortPrefix(pruned, n_pruned_below, [](const Keyed& a, const Keyed& b) {
    return a.k1 < b.k1 || (a.k1 == b.k1 && a.k2 < b.k2);
  });
  std::unordered_set<const FrozenTrial*> below;
  for (size_t k = 0; k < n_complete_below; ++k) below.insert(complete[k].t);
  for (size_t k = 0; k < n_pruned_below; ++k) below.insert(pruned[k].t);
  // Both lists in trial-number order; `trials` usually is already (StudyView's order).
  std::vector<const FrozenTrial*> ordered = trials;
  if (!std::is_sorted(ordered.begin(), ordered.end(), ByNumber)) {
    std::sort(ordered.begin(), ordered.end(), ByNumber);
  }
  TpeSplit split;
  for (const FrozenTrial* t : ordered) {
    if (below.count(t)) {
      split.below.push_back(t);
    } else if (t->state == TrialState::kComplete || t->state == TrialState::kPruned ||
               t->state == TrialState::kRunning) {
      split.above.push_back(t);
    }
  }
  return split;
}

TpeSampler::TpeSampler(const TpeOptions& options) : options_(options), seeder_(options.seed) {
  pe_params_.prior_weight = options.prior_weight;
  pe_params_.consider_magic_clip = options.consider_magic_clip;
  pe_params_.consider_endpoints = options.consider_endpoints;
  pe_params_.multivariate = options.multivariate && options.scott_bandwidth;
}

SearchSpace TpeSampler::InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) {
  if (!options_.multivariate) return {};
  SearchSpace space;
  if (options_.group) {
    for (const SearchSpace& g : GroupDecomposedSearchSpace(study.trials, true)) {
      for (const auto& [name, dist] : g) {
        if (!IsSingle(dist)) space.emplace(name, dist);
      }
    }
    return space;
  }
  CheckCaches(study);
  // Optuna's IntersectionSearchSpace(include_pruned=True), folded in incrementally: a
  // finished trial never changes, so each one is intersected once.
  for (const FrozenTrial& t : study.trials) {
    if (t.state != TrialState::kComplete && t.state != TrialState::kPruned) continue;
    const size_t number = static_cast<size_t>(t.number);
    if (number >= intersected_.size()) intersected_.resize(number + 1, false);
    if (intersected_[number]) continue;
    intersected_[number] = true;
    if (intersection_empty_history_) {
      intersection_ = t.distributions;
      intersection_empty_history_ = false;
      continue;
    }
    for (auto it = intersection_.begin(); it != intersection_.end();) {
      auto d = t.distributions.find(it->first);
      if (d == t.distributions.end() || !(d->second == it->second)) {
        it = intersection_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& [name, dist] : intersection_) {
    if (!IsSingle(dist)) space.emplace(name, dist);
  }
  return space;
}

std::map<std::string, double> TpeSampler::SampleRelative(const StudyView& study,
                                                         const FrozenTrial& trial,
                                                         const SearchSpace& space) {
  if (space.empty()) return {};
  const HistoryCounts counts = CheckCaches(study);
  if (counts.finished() < options_.n_startup_trials) return {};
  if (!options_.group) return Sample(study, trial, space, counts);
  std::map<std::string, double> out;
  for (const SearchSpace& g : GroupDecomposedSearchSpace(study.trials, true)) {
    SearchSpace sub;
    for (const auto& [name, dist] : g) {
      auto it = space.find(name);
      if (it != space.end() && !IsSingle(it->second)) sub.emplace(name, it->second);
    }
    if (sub.empty()) continue;
    for (const auto& [name, v] : Sample(study, trial, sub, counts)) out[name] = v;
  }
  return out;
}

double TpeSampler::SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                                     const std::string& name, const Distribution& dist) {
  if (IsSingle(dist)) return Untransform(dist, TransformBounds(dist).low);
  const HistoryCounts counts = CheckCaches(study);
  if (counts.finished() < options_.n_startup_trials) {
    std::mt19937_64 rng = seeder_.Rng(study, trial, name);
    return RandomSampler::Sample(dist, rng);
  }
  return Sample(study, trial, {{name, dist}}, counts).at(name);
}

TpeSampler::HistoryCounts TpeSampler::CheckCaches(const StudyView& study) {
  HistoryCounts counts;
  for (const FrozenTrial& t : study.trials) {
    counts.n_running += t.state == TrialState::kRunning;
    counts.n_complete += t.state == TrialState::kComplete;
    counts.n_pruned += t.state == TrialState::kPruned;
    if (t.state != TrialState::kComplete && t.state != TrialState::kPruned) continue;
    const size_t number = static_cast<size_t>(t.number);
    if (number >= cached_ids_.size()) cached_ids_.resize(number + 1, -1);
    if (cached_ids_[number] == -1) {
      cached_ids_[number] = t.trial_id;
    } else if (cached_ids_[number] != t.trial_id) {
      cached_ids_.assign(number + 1, -1);
      columns_.clear();
      intersected_.clear();
      intersection_.clear();
      intersection_empty_history_ = true;
      split_cache_.reset();
      return CheckCaches(study);
    }
  }
  return counts;
}

std::shared_ptr<const ParzenMixture> TpeSampler::Mixture(size_t n) {
  // The univariate sampler builds estimators of the same sizes for every parameter.
  // A mixture has n + 1 weights (the prior's last), or 1 when n = 0.
  const Eigen::Index size = static_cast<Eigen::Index>(n == 0 ? 1 : n + 1);
  for (const auto& m : mixture_cache_) {
    if (m && m->weights.size() == size) return m;
  }
  std::swap(mixture_cache_[0], mixture_cache_[1]);
  const std::vector<double> weights = TpeDefaultWeights(static_cast<int64_t>(n));
  mixture_cache_[0] = MakeParzenMixture(weights.data(), n, options_.prior_weight);
  return mixture_cache_[0];
}

bool TpeSampler::Lookup(const FrozenTrial& t, int64_t finished_number, const std::string& name,
                        Column& col, double* out) {
  const bool finished = finished_number >= 0;
  const size_t number = static_cast<size_t>(finished_number);
  if (finished && number < col.state.size() && col.state[number] != 0) {
    *out = col.value[number];
    return col.state[number] == 2;
  }
  auto it = t.params.find(name);
  const bool present = it != t.params.end();
  if (present) *out = it->second;
  if (finished) {
    if (number >= col.state.size()) {
      col.state.resize(number + 1, 0);
      col.value.resize(number + 1, 0.0);
    }
    col.state[number] = present ? 2 : 1;
    if (present) {
      col.value[number] = it->second;
      col.unsorted.push_back(t.number);
    }
  }
  return present;
}

bool TpeSampler::SortedOrder(Column& col, bool log, const std::vector<int64_t>& numbers,
                             std::vector<int>& order) {
  if (col.sorted_log != log) {  // another transform: sort every known value again
    col.sorted_log = log;
    col.sorted.clear();
    col.unsorted.clear();
    for (size_t k = 0; k < col.state.size(); ++k) {
      if (col.state[k] == 2) col.unsorted.push_back(static_cast<int64_t>(k));
    }
  }
  if (!col.unsorted.empty()) {
    const size_t old_size = col.sorted.size();
    for (int64_t number : col.unsorted) {
      const double v = col.value[static_cast<size_t>(number)];
      // The estimator's transform, computed the same way (std::log). A NaN (log of a
      // value outside a log range) can never be an observation: Contains() rejects it.
      const double mu = log ? std::log(v) : v;
      if (!std::isnan(mu)) col.sorted.emplace_back(mu, number);
    }
    col.unsorted.clear();
    // Pairs compare values with <, so -0.0 and +0.0 tie and fall back to the trial number,
    // as in the estimator's stable argsort.
    std::sort(col.sorted.begin() + static_cast<std::ptrdiff_t>(old_size), col.sorted.end());
    std::inplace_merge(col.sorted.begin(),
                       col.sorted.begin() + static_cast<std::ptrdiff_t>(old_size),
                       col.sorted.end());
  }
  // A RUNNING observation (constant liar) is not in the list: the caller sorts instead.
  if (std::find(numbers.begin(), numbers.end(), -1) != numbers.end()) return false;
  // Observation index by trial number; numbers increase with the index, so ordering by
  // (value, number) is ordering by (value, index).
  if (!numbers.empty() && rank_scratch_.size() <= static_cast<size_t>(numbers.back())) {
    rank_scratch_.resize(static_cast<size_t>(numbers.back()) + 1, -1);
  }
  for (size_t k = 0; k < numbers.size(); ++k) {
    rank_scratch_[static_cast<size_t>(numbers[k])] = static_cast<int>(k);
  }
  order.clear();
  for (const auto& [mu, number] : col.sorted) {
    if (static_cast<size_t>(number) < rank_scratch_.size() &&
        rank_scratch_[static_cast<size_t>(number)] >= 0) {
      order.push_back(rank_scratch_[static_cast<size_t>(number)]);
    }
  }
  for (int64_t number : numbers) rank_scratch_[static_cast<size_t>(number)] = -1;
  return order.size() == numbers.size();
}

const TpeSampler::SplitCache& TpeSampler::Split(const StudyView& study, const FrozenTrial& trial,
                                                const HistoryCounts& counts) {
  const SplitKey key{study.trials.data(), study.trials.size(), counts.n_complete,
                     counts.n_pruned,     counts.n_running,    trial.number};
  if (split_cache_ && split_cache_->key == key) return *split_cache_;
  std::vector<const FrozenTrial*> trials;
  int64_t n = 0;
  for (const FrozenTrial& t : study.trials) {
    if (t.state == TrialState::kComplete || t.state == TrialState::kPruned) {
      trials.push_back(&t);
      ++n;
    } else if (options_.constant_liar && t.state == TrialState::kRunning &&
               t.number != trial.number) {
      trials.push_back(&t);
    }
  }
  const StudyDirection direction =
      study.directions.empty() ? StudyDirection::kMinimize : study.directions[0];
  TpeSplit split = SplitTrials(trials, direction, TpeGamma(n));
  SplitCache cache;
  cache.key = key;
  const FrozenTrial* base = study.trials.data();
  auto keep = [&](const std::vector<const FrozenTrial*>& group, std::vector<size_t>& positions,
                  std::vector<int64_t>& numbers) {
    for (const FrozenTrial* t : group) {
      positions.push_back(static_cast<size_t>(t - base));
      const bool finished = t->state == TrialState::kComplete || t->state == TrialState::kPruned;
      numbers.push_back(finished ? t->number : -1);
    }
  };
  keep(split.below, cache.below, cache.below_numbers);
  keep(split.above, cache.above, cache.above_numbers);
  split_cache_ = std::move(cache);
  return *split_cache_;
}

std::map<std::string, double> TpeSampler::Sample(const StudyView& study, const FrozenTrial& trial,
                                                 const SearchSpace& space,
                                                 const HistoryCounts& counts) {
  const SplitCache& split = Split(study, trial, counts);
  // The space's parameters in map order, so that the loops below do not walk the map.
  struct Slot {
    const std::string* name;
    const Distribution* dist;
    Column* column;
  };
  std::vector<Slot> slots;
  slots.reserve(space.size());
  for (const auto& [name, dist] : space) slots.push_back({&name, &dist, &columns_[name]});
  // Observations: the trials that have every parameter of the space with a value inside
  // its current distribution (a study may narrow a range between playbook stages). The
  // buffers are the sampler's, reused between suggestions (see Workspace).
  auto observe = [&](const std::vector<size_t>& group, const std::vector<int64_t>& group_numbers,
                     std::vector<std::vector<double>>& obs, std::vector<int64_t>& numbers) {
    obs.resize(space.size());
    for (auto& o : obs) {
      o.clear();
      o.reserve(group.size());
    }
    numbers.clear();
    numbers.reserve(group.size());
    std::vector<double>& row = workspace_.row;
    row.resize(space.size());
    for (size_t g = 0; g < group.size(); ++g) {
      const FrozenTrial& t = study.trials[group[g]];  // only read on a column miss
      size_t i = 0;
      for (const Slot& slot : slots) {
        double v;
        if (!Lookup(t, group_numbers[g], *slot.name, *slot.column, &v) ||
            !Contains(*slot.dist, v)) {
          break;
        }
        row[i++] = v;
      }
      if (i != space.size()) continue;
      for (i = 0; i < row.size(); ++i) obs[i].push_back(row[i]);
      // -1 marks an unfinished (RUNNING) trial: never in a column's sorted list.
      numbers.push_back(group_numbers[g]);
    }
  };
  Workspace& w = workspace_;
  observe(split.below, split.below_numbers, w.below_obs, w.below_numbers);
  observe(split.above, split.above_numbers, w.above_obs, w.above_numbers);
  // One numerical parameter: hand the estimators the observations' order from the
  // column's sorted list instead of letting each sort ~1,000 values again.
  const std::vector<int>* below_sorted = nullptr;
  const std::vector<int>* above_sorted = nullptr;
  if (space.size() == 1 &&
      !std::holds_alternative<CategoricalDistribution>(space.begin()->second)) {
    const Distribution& dist = space.begin()->second;
    const bool log = std::holds_alternative<FloatDistribution>(dist)
                         ? std::get<FloatDistribution>(dist).log
                         : std::get<IntDistribution>(dist).log;
    Column& col = *slots[0].column;
    if (SortedOrder(col, log, w.below_numbers, w.below_order)) below_sorted = &w.below_order;
    if (SortedOrder(col, log, w.above_numbers, w.above_order)) above_sorted = &w.above_order;
  }
  // Assigned, not constructed in place: the new estimators are built while the previous
  // suggestion's still hold their memory, which is released only afterwards (see
  // Workspace).
  w.below =
      ParzenEstimator(space, w.below_obs, Mixture(w.below_obs[0].size()), pe_params_, below_sorted);
  w.above =
      ParzenEstimator(space, w.above_obs, Mixture(w.above_obs[0].size()), pe_params_, above_sorted);
  const ParzenEstimator& below = *w.below;
  const ParzenEstimator& above = *w.above;

  // One generator per trial and space: the space's names joined (one name if univariate).
  std::string stream;
  for (const Slot& slot : slots) stream += (stream.empty() ? "" : "\n") + *slot.name;
  std::mt19937_64 rng = seeder_.Rng(study, trial, stream);
  Eigen::MatrixXd candidates = below.Sample(rng, static_cast<int>(options_.n_ei_candidates));
  Eigen::VectorXd score = below.LogPdf(candidates) - above.LogPdf(candidates);
  Eigen::Index best = 0;
  for (Eigen::Index j = 1; j < score.size(); ++j) {
    if (score[j] > score[best] || (std::isnan(score[best]) && !std::isnan(score[j]))) best = j;
  }
  std::map<std::string, double> out;
  size_t i = 0;
  for (const auto& [name, dist] : space) out[name] = candidates(best, i++);
  return out;
}

}  // namespace mgr
