// GpSampler: Gaussian-process Bayesian optimisation with Optuna 5.1's GPSampler semantics and
// defaults, for small spaces of mostly continuous parameters (learning rate, weight decay,
// betas in the late stages of the tuning playbook).
//
// Until n_startup_trials trials are COMPLETE it samples at random (RandomSampler draws).
// Then, over the intersection search space of the COMPLETE trials (single-value
// distributions excluded; categoricals included, with the Hamming distance), it normalises
// the parameters to [0, 1] (log scale for log distributions, grids widened by step / 2),
// standardises the values, fits a Matérn 5/2 ARD Gaussian process by maximum a posteriori
// (gaussian_process.h) and returns the point maximising log expected improvement over the
// best value, or with other RUNNING trials that have every parameter of the space, qLogEI
// (acquisition.h: fantasies at their points, 128 normal Sobol samples seeded per trial, as
// Optuna 5.1): 2048 scrambled Sobol candidates, then local searches from the best candidate,
// 8 more picked by roulette on exp(acquisition) and the best trial (L-BFGS-B on the continuous
// parameters, scaled by the lengthscales; exhaustive or golden-section search on discrete
// ones), as Optuna's optimize_acqf_mixed. Parameters outside the space are sampled at random.
//
// Each fit starts, as Optuna's, from the previous fit over the same parameters (and from the
// defaults if that fails), but the previous fit is read from the trials, not kept in the
// sampler: SampleRelative records its fit on the sampled trial as the system attribute
// "gp:kernel_params" ({"params": [names], "inverse_squared_lengthscales": [..],
// "kernel_scale": s, "noise_var": v}) through StudyView::set_trial_system_attr, and a fit
// starts from the newest earlier trial's record (none, or one over other parameters or that
// does not parse: the defaults). So a resumed study or a second process proposes what one
// uninterrupted process would.
//
// Differences from Optuna: the warm start above (Optuna's cache lives in the sampler object,
// its code plans to move it into system attributes); qLogEI's normal samples are not torch's
// SobolEngine's; a study with several objectives or with constraints is sampled at random;
// discrete parameters of more than 16 values use a golden-section search where Optuna uses
// Brent's method.
//
// Deterministic for a seed and a history (the trials with their system attributes): every
// draw comes from (seed, study name, trial number, stream) (TrialSeeder in sampler.h). Not
// thread-safe.
#ifndef MGR_SAMPLERS_GP_SAMPLER_H_
#define MGR_SAMPLERS_GP_SAMPLER_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "samplers/random_sampler.h"
#include "samplers/sampler.h"

namespace mgr {

struct GpOptions {
  uint64_t seed = 0;
  int64_t n_startup_trials = 10;
  // The objective has no noise: the noise variance is fixed at its floor (1e-6).
  bool deterministic_objective = false;
  // Acquisition optimisation, Optuna's defaults.
  int n_preliminary_samples = 2048;
  int n_local_search = 10;
};

class GpSampler : public Sampler {
 public:
  explicit GpSampler(const GpOptions& options);
  std::string Name() const override { return "GPSampler"; }

  SearchSpace InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) override;
  std::map<std::string, double> SampleRelative(const StudyView& study, const FrozenTrial& trial,
                                               const SearchSpace& space) override;
  double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                           const std::string& name, const Distribution& dist) override;

  const GpOptions& options() const { return options_; }

 private:
  GpOptions options_;
  RandomSampler random_;  // startup and independent draws
  TrialSeeder seeder_;    // the acquisition optimisation's draws
};

}  // namespace mgr

#endif  // MGR_SAMPLERS_GP_SAMPLER_H_
