// Hyperparameter importance: PED-ANOVA (Watanabe et al. 2023, "PED-ANOVA: Efficiently
// Quantifying Hyperparameter Importance in Arbitrary Subspaces"), as Optuna's
// PedAnovaImportanceEvaluator computes it (optuna >= 3.6), natively with Eigen.
//
// For each parameter it compares the distribution of the parameter among the best trials
// (the top `target_quantile` of the COMPLETE trials) with its distribution among all of
// them: both are kernel density estimates on a grid over the search space (Scott's rule for
// the bandwidth, a uniform prior), and the importance is the Pearson divergence between
// the two. A parameter whose best trials sit anywhere in its range scores ~0; one whose
// best trials crowd into one corner scores high. Pure function, no I/O, thread-safe.
#ifndef MGR_TUNER_IMPORTANCE_H_
#define MGR_TUNER_IMPORTANCE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "storage/trial.h"

namespace mgr {

struct PedAnovaOptions {
  double target_quantile = 0.1;  // the "best trials": this fraction of the COMPLETE ones
  int min_top_trials = 2;        // ... but at least this many
  int n_steps = 50;              // grid points for a float (or a wide int) parameter
  bool normalize = true;         // importances sum to 1 (when any is > 0)
};

struct ParamImportance {
  std::string name;
  double importance = 0.0;
};

// The importance of every parameter in `distributions`, each over the COMPLETE trials of
// `trials` with a finite value that have that parameter (a per-layer parameter exists only
// in some), sorted from the most to the least important (ties by name). A parameter with a
// single possible value, or fewer than 2 such trials, scores 0.
std::vector<ParamImportance> PedAnovaImportance(
    const std::vector<FrozenTrial>& trials, StudyDirection direction,
    const std::map<std::string, Distribution>& distributions, const PedAnovaOptions& options = {});

}  // namespace mgr

#endif  // MGR_TUNER_IMPORTANCE_H_
