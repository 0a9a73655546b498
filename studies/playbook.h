// The playbook: Google's Deep Learning Tuning Playbook as the paper applies it.
//
// Stage 0 trains the base configuration (the model preset plus the study's fixed
// hyperparameters) with the re-tuned parameters (the learning rate) searched. Each later
// stage searches its own parameters plus the re-tuned ones, with every other
// hyperparameter at the incumbent's value. When a stage ends, its best trial replaces the
// incumbent only if it beats the incumbent by the stage's minimum improvement; the change
// is then fixed for every later stage.
//
// Pure logic, no I/O: the orchestrator feeds it trials and stores what it decides.
// Thread-compatible (const methods only).
#ifndef MGR_STUDIES_PLAYBOOK_H_
#define MGR_STUDIES_PLAYBOOK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/base/status.h"
#include "storage/trial.h"
#include "studies/study_file.h"

namespace mgr {

// The configuration every later stage builds on.
struct Incumbent {
  std::map<std::string, Json> hparams;  // chosen by the stages so far (on top of `fixed`)
  std::optional<double> value;          // its objective; none before stage 0 ends
  std::string stage;                    // the stage and trial it comes from
  int64_t trial_number = -1;

  Json ToJson() const;
  static Result<Incumbent> FromJson(const Json& json);
};

struct StageDecision {
  std::string stage;
  bool accepted = false;             // the stage's best trial became the incumbent
  std::optional<double> best_value;  // the stage's best COMPLETE trial, if any
  int64_t best_trial_number = -1;
  std::optional<double> incumbent_value;  // before the decision
  double required_improvement = 0.0;      // absolute, in objective units
  std::map<std::string, Json> changes;    // what the stage changed in the incumbent
  std::string summary;                    // one human line

  Json ToJson() const;
  static Result<StageDecision> FromJson(const Json& json);
};

// Draws one parameter value (external representation), e.g. Trial::Suggest.
using SuggestFn = std::function<Result<Json>(const std::string& name, const Distribution& dist)>;

// A new trial's configuration as DrawTrialHparams chose it.
struct TrialDraw {
  std::map<std::string, Json> hparams;           // every hyperparameter
  std::map<std::string, Distribution> searched;  // the searched ones, to record in the trial
  int redraws = 0;                               // how many times the configuration was drawn again
  int duplicate_of = -1;  // index into `measured` that `hparams` still equals; -1: none
};

// Trial user attr naming the trial whose result a trial copies instead of training:
// "<stage study name>#<trial number>".
inline constexpr char kReusedFromAttr[] = "reused_from";

class Playbook {
 public:
  // `study` must outlive the playbook.
  explicit Playbook(const StudyFile* study) : study_(study) {}

  size_t num_stages() const { return study_->stages.size(); }

  // The hyperparameters of a new trial of `stage`, in increasing priority: the study's
  // fixed ones, the incumbent's, the stage's fixed ones, then the searched ones drawn
  // through `suggest` (the stage's params, then the re-tuned ones, then the per-layer
  // parameters once their layer counts are known).
  Result<std::map<std::string, Json>> TrialHparams(size_t stage, const Incumbent& incumbent,
                                                   const SuggestFn& suggest) const;

  // Redraws DrawTrialHparams allows before it settles for a measured configuration.
  static constexpr int kMaxRedraws = 100;

  // TrialHparams that avoids spending a trial on a configuration already measured.
  // `measured` holds the full hyperparameters of trials already measured. The first
  // configuration comes from `propose` (the sampler's choice, e.g. Trial::Propose, which
  // records nothing); while it equals one of `measured`, up to `max_redraws` more are drawn
  // with every searched parameter uniform from a stream of its own, seeded by the study's
  // seed, the stage and `trial_number` (so a resumed study draws the same). Equality is
  // exact, floats included: a repeated suggestion repeats the same stored value.
  Result<TrialDraw> DrawTrialHparams(size_t stage, const Incumbent& incumbent,
                                     const SuggestFn& propose,
                                     const std::vector<std::map<std::string, Json>>& measured,
                                     int64_t trial_number, int max_redraws = kMaxRedraws) const;

  // The kReusedFromAttr value of trial `number` of `stage`.
  std::string ReuseRef(size_t stage, int64_t number) const;

  // The names a trial of `stage` searched: its params, the re-tuned ones and the per-layer
  // expansions present in `hparams`.
  std::vector<std::string> SearchedNames(size_t stage,
                                         const std::map<std::string, Json>& hparams) const;

  // Ends `stage`. `best` is its best COMPLETE trial (nullptr if none) and `best_hparams`
  // that trial's full hyperparameters. Returns the decision and sets `*next` to the
  // incumbent later stages build on. When `best` copied its result (kReusedFromAttr),
  // the incumbent names the trial that trained, whose checkpoint the export needs.
  StageDecision Decide(size_t stage, const Incumbent& incumbent, const FrozenTrial* best,
                       const std::map<std::string, Json>& best_hparams, Incumbent* next) const;

  // True if `a` is better than `b` by more than `margin` in the study's direction.
  bool Improves(double a, double b, double margin) const;

 private:
  const StudyFile* study_;
};

}  // namespace mgr

#endif  // MGR_STUDIES_PLAYBOOK_H_
