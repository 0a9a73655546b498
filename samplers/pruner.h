// Pruner: decides from a running trial's intermediate values whether to stop it early.
// Rules follow Optuna's pruners exactly (see REFERENCE.md section 4). Prune() is const and
// thread-safe; most pruners are stateless, while SuccessiveHalvingPruner and HyperbandPruner
// record rungs through StudyView::set_trial_system_attr, as Optuna's write trial system
// attributes (samplers/pruners.h).
#ifndef MGR_SAMPLERS_PRUNER_H_
#define MGR_SAMPLERS_PRUNER_H_

#include <memory>
#include <string>

#include "samplers/sampler.h"

namespace mgr {

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string Name() const = 0;
  // True if `trial` (RUNNING, with its latest intermediate value reported) should stop.
  virtual bool Prune(const StudyView& study, const FrozenTrial& trial) const = 0;
};

// From study-file config, e.g. {"type": "median", "n_startup_trials": 5, "n_warmup_steps": 1}.
Result<std::unique_ptr<Pruner>> MakePruner(const Json& config);

}  // namespace mgr

#endif  // MGR_SAMPLERS_PRUNER_H_
