// A synthetic playbook study written through the Storage API, as the orchestrator writes
// one (study attrs playbook/stage/budget/decision/incumbent/final_result, trial attrs
// hparams/epochs/fail_reason): shared by report_test, report_browser_test and
// bench/report_bench. Deterministic: the same arguments write the same trials.
#ifndef MGR_TESTS_TUNER_REPORT_TEST_STUDY_H_
#define MGR_TESTS_TUNER_REPORT_TEST_STUDY_H_

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace mgr {
namespace report_test {

inline constexpr int kMaxEpochs = 6;

// The val_loss of a trial's epoch: lr near 3e-3 and dropout near 0.2 are best; more units
// help a little; the curve falls with the epoch.
inline double ValLoss(double lr, double dropout, int64_t units, int epoch) {
  const double l = std::log10(lr) - std::log10(3e-3);
  return 0.3 + 0.5 * l * l + 2.0 * (dropout - 0.2) * (dropout - 0.2) + 16.0 / units + 1.2 / epoch;
}

// Writes stages "<playbook>/base" and "<playbook>/wider" with `trials` trials each and
// returns their study names. Trial 0 of every stage fails (a NaN loss), every 4th trial is
// pruned after 2 epochs, the rest complete. Each trial lasts 60 s, two run at a time.
inline Result<std::vector<std::string>> WriteSyntheticStudy(Storage& storage,
                                                            const std::string& playbook, int trials,
                                                            uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  MGR_ASSIGN_OR_RETURN(Distribution lr_dist, MakeFloatDistribution("lr", 1e-4, 1e-1, true));
  MGR_ASSIGN_OR_RETURN(Distribution dropout_dist, MakeFloatDistribution("dropout", 0.0, 0.5));
  MGR_ASSIGN_OR_RETURN(Distribution units_dist, MakeIntDistribution("units", 16, 128, false, 16));
  const TimePoint t0 = TimePoint(std::chrono::seconds(1'800'000'000));
  const std::vector<std::string> stages = {"base", "wider"};
  std::vector<std::string> names;
  Json incumbent;
  double incumbent_value = NAN;
  for (size_t si = 0; si < stages.size(); ++si) {
    const std::string name = playbook + "/" + stages[si];
    MGR_ASSIGN_OR_RETURN(int64_t study, storage.CreateStudy(name, {StudyDirection::kMinimize}));
    MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(study, "playbook", playbook));
    MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(study, "stage", stages[si]));
    MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(study, "stage_index", static_cast<int64_t>(si)));
    MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(study, "budget", trials));
    double best = NAN;
    int64_t best_number = -1;
    Json best_hparams;
    for (int n = 0; n < trials; ++n) {
      FrozenTrial t;
      const double lr = std::exp(std::log(1e-4) + u(rng) * std::log(1e3));
      const double dropout = 0.5 * u(rng);
      const int64_t units = si == 0 ? 32 : 16 * (1 + static_cast<int64_t>(u(rng) * 8));
      t.params["lr"] = lr;
      t.distributions["lr"] = lr_dist;
      t.params["dropout"] = dropout;
      t.distributions["dropout"] = dropout_dist;
      if (si == 1) {
        t.params["units"] = static_cast<double>(units);
        t.distributions["units"] = units_dist;
      }
      const Json hparams = {
          {"lr", lr}, {"dropout", dropout}, {"units", units}, {"max_epochs", kMaxEpochs}};
      t.user_attrs["hparams"] = hparams;
      t.user_attrs["stage"] = stages[si];
      const int epochs = n == 0 ? 1 : n % 4 == 3 ? 2 : kMaxEpochs;
      Json list = Json::array();
      double min_loss = NAN;
      for (int e = 1; e <= epochs; ++e) {
        const double val_loss = ValLoss(lr, dropout, units, e);
        const double train_loss = val_loss * 0.8;
        const double val_acc = std::clamp(1.0 - val_loss / 3.0, 0.0, 1.0);
        list.push_back({{"epoch", e},
                        {"train_loss", n == 0 ? Json(nullptr) : Json(train_loss)},
                        {"train_accuracy", std::min(1.0, val_acc + 0.05)},
                        {"val_loss", val_loss},
                        {"val_accuracy", val_acc},
                        {"val_macro_f1", val_acc - 0.01},
                        {"seconds", 10.0}});
        t.intermediate_values[e] = val_loss;  // the orchestrator reports step = epoch
        min_loss = std::isnan(min_loss) ? val_loss : std::min(min_loss, val_loss);
      }
      t.user_attrs["epochs"] = list;
      if (n == 0) {
        t.state = TrialState::kFail;
        t.user_attrs["fail_reason"] = "nan: the training loss is not finite";
        t.intermediate_values.clear();
      } else if (n % 4 == 3) {
        t.state = TrialState::kPruned;
      } else {
        t.state = TrialState::kComplete;
        t.values = {min_loss};
        if (std::isnan(best) || min_loss < best) {
          best = min_loss, best_number = n, best_hparams = hparams;
        }
      }
      const TimePoint start = t0 + std::chrono::seconds(3600 * static_cast<int64_t>(si) + 30 * n);
      t.datetime_start = start;
      t.datetime_complete = start + std::chrono::seconds(10 * epochs);
      MGR_RETURN_IF_ERROR(storage.CreateTrial(study, &t).status());
    }
    const bool accepted = std::isnan(incumbent_value) || best < incumbent_value - 0.01;
    Json decision = {
        {"stage", stages[si]},
        {"accepted", accepted},
        {"best_value", best},
        {"best_trial_number", best_number},
        {"incumbent_value", std::isnan(incumbent_value) ? Json(nullptr) : Json(incumbent_value)},
        {"required_improvement", si == 0 ? 0.0 : 0.01},
        {"changes", {{"lr", best_hparams["lr"]}}},
        {"summary", stages[si] + (accepted ? ": accepted" : ": rejected")}};
    if (accepted) {
      incumbent = {{"hparams", best_hparams},
                   {"value", best},
                   {"stage", stages[si]},
                   {"trial_number", best_number}};
      incumbent_value = best;
    }
    MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(study, "decision", decision));
    MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(study, "incumbent", incumbent));
    if (si + 1 == stages.size()) {
      const Json test = {{"loss", 0.4375},
                         {"accuracy", 0.8125},
                         {"macro_f1", 0.796875},
                         {"classes", {"Rock", "Pop", "Folk"}},
                         {"precision", {0.75, 1.0, 0.5}},
                         {"recall", {1.0, 0.5, 0.5}},
                         {"confusion", {{6, 0, 0}, {2, 3, 1}, {0, 0, 4}}}};
      MGR_RETURN_IF_ERROR(storage.SetStudyUserAttr(
          study, "final_result", {{"test", test}, {"model_path", "/runs/final/model.pt"}}));
    }
    names.push_back(name);
  }
  return names;
}

}  // namespace report_test
}  // namespace mgr

#endif  // MGR_TESTS_TUNER_REPORT_TEST_STUDY_H_
