#include "studies/playbook.h"

#include <charconv>
#include <cmath>
#include <random>
#include <regex>
#include <sstream>

#include "samplers/random_sampler.h"
#include "storage/base/seeds.h"
#include "storage/base/strings.h"

namespace mgr {
namespace {

std::string FormatValue(double v) {
  std::ostringstream out;
  out.precision(5);
  out << v;
  return out.str();
}

// "dense_units_3" is a per-layer expansion of "dense_units".
bool IsLayerOf(const std::string& key, const std::string& base) {
  if (key.size() <= base.size() + 1 || key.compare(0, base.size(), base) != 0 ||
      key[base.size()] != '_') {
    return false;
  }
  for (size_t i = base.size() + 1; i < key.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(key[i]))) return false;
  }
  return true;
}

}  // namespace

Json Incumbent::ToJson() const {
  Json j = {{"hparams", hparams}, {"stage", stage}, {"trial_number", trial_number}};
  j["value"] = value ? Json(*value) : Json();
  return j;
}

Result<Incumbent> Incumbent::FromJson(const Json& j) {
  if (!j.is_object() || !j.contains("hparams") || !j["hparams"].is_object()) {
    return Status::Corruption("incumbent: expected {\"hparams\": {...}, ...}, got " + j.dump());
  }
  Incumbent inc;
  inc.hparams = j["hparams"].get<std::map<std::string, Json>>();
  if (j.contains("value") && j["value"].is_number()) inc.value = j["value"].get<double>();
  inc.stage = j.value("stage", "");
  inc.trial_number = j.value("trial_number", int64_t{-1});
  return inc;
}

Json StageDecision::ToJson() const {
  Json j = {{"stage", stage},
            {"accepted", accepted},
            {"best_trial_number", best_trial_number},
            {"required_improvement", required_improvement},
            {"changes", changes},
            {"summary", summary}};
  j["best_value"] = best_value ? Json(*best_value) : Json();
  j["incumbent_value"] = incumbent_value ? Json(*incumbent_value) : Json();
  return j;
}

Result<StageDecision> StageDecision::FromJson(const Json& j) {
  if (!j.is_object() || !j.contains("accepted") || !j["accepted"].is_boolean()) {
    return Status::Corruption("decision: expected {\"accepted\": bool, ...}, got " + j.dump());
  }
  StageDecision d;
  d.stage = j.value("stage", "");
  d.accepted = j["accepted"].get<bool>();
  if (j.contains("best_value") && j["best_value"].is_number())
    d.best_value = j["best_value"].get<double>();
  if (j.contains("incumbent_value") && j["incumbent_value"].is_number()) {
    d.incumbent_value = j["incumbent_value"].get<double>();
  }
  d.best_trial_number = j.value("best_trial_number", int64_t{-1});
  d.required_improvement = j.value("required_improvement", 0.0);
  if (j.contains("changes") && j["changes"].is_object()) {
    d.changes = j["changes"].get<std::map<std::string, Json>>();
  }
  d.summary = j.value("summary", "");
  return d;
}

Result<std::map<std::string, Json>> Playbook::TrialHparams(size_t stage_index,
                                                           const Incumbent& incumbent,
                                                           const SuggestFn& suggest) const {
  if (stage_index >= study_->stages.size()) {
    return Status::InvalidArgument("no stage " + std::to_string(stage_index));
  }
  const StageSpec& stage = study_->stages[stage_index];
  std::map<std::string, Json> h = study_->fixed;
  for (const auto& [k, v] : incumbent.hparams) h[k] = v;
  for (const auto& [k, v] : stage.fixed) h[k] = v;

  std::vector<const ParamSpec*> per_layer;
  for (const auto* list : {&stage.params, &stage.retune}) {
    for (const ParamSpec& p : *list) {
      if (p.per_layer_of) {
        per_layer.push_back(&p);
        continue;
      }
      MGR_ASSIGN_OR_RETURN(Json v, suggest(p.name, p.distribution));
      h[p.name] = v;
    }
  }
  for (const ParamSpec* p : per_layer) {
    // The layers that exist now are the only ones that get a value; stale ones from an
    // incumbent with more layers are dropped so the worker sees a consistent network.
    for (auto it = h.begin(); it != h.end();) {
      it = IsLayerOf(it->first, p->name) ? h.erase(it) : std::next(it);
    }
    auto count = h.find(*p->per_layer_of);
    if (count == h.end() || !count->second.is_number_integer()) {
      return Status::InvalidArgument(
          "stage " + stage.name + ": " + p->name + " is per_layer_of " + *p->per_layer_of +
          ", which has no integer value: search it in this stage or fix it in \"fixed\"");
    }
    const int64_t n = count->second.get<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const std::string name = p->name + "_" + std::to_string(i);
      MGR_ASSIGN_OR_RETURN(Json v, suggest(name, p->distribution));
      h[name] = v;
    }
  }
  return h;
}

Result<TrialDraw> Playbook::DrawTrialHparams(
    size_t stage_index, const Incumbent& incumbent, const SuggestFn& propose,
    const std::vector<std::map<std::string, Json>>& measured, int64_t trial_number,
    int max_redraws) const {
  std::mt19937_64 rng(MixSeed(
      {static_cast<uint64_t>(study_->seed), stage_index, static_cast<uint64_t>(trial_number)}));
  TrialDraw draw;
  for (int attempt = 0;; ++attempt) {
    draw.searched.clear();
    auto suggest = [&](const std::string& name, const Distribution& dist) -> Result<Json> {
      draw.searched[name] = dist;
      if (attempt == 0) return propose(name, dist);
      return ToExternal(dist, RandomSampler::Sample(dist, rng));
    };
    MGR_ASSIGN_OR_RETURN(draw.hparams, TrialHparams(stage_index, incumbent, suggest));
    draw.redraws = attempt;
    draw.duplicate_of = -1;
    for (size_t i = 0; i < measured.size() && draw.duplicate_of < 0; ++i) {
      if (measured[i] == draw.hparams) draw.duplicate_of = static_cast<int>(i);
    }
    if (draw.duplicate_of < 0 || attempt >= max_redraws) return draw;
  }
}

std::string Playbook::ReuseRef(size_t stage, int64_t number) const {
  return study_->StageStudyName(stage) + "#" + std::to_string(number);
}

std::vector<std::string> Playbook::SearchedNames(size_t stage_index,
                                                 const std::map<std::string, Json>& hparams) const {
  std::vector<std::string> names;
  const StageSpec& stage = study_->stages[stage_index];
  for (const auto* list : {&stage.params, &stage.retune}) {
    for (const ParamSpec& p : *list) {
      if (!p.per_layer_of) {
        names.push_back(p.name);
        continue;
      }
      for (const auto& [k, v] : hparams) {
        if (IsLayerOf(k, p.name)) names.push_back(k);
      }
    }
  }
  return names;
}

bool Playbook::Improves(double a, double b, double margin) const {
  const double gain = study_->direction == StudyDirection::kMaximize ? a - b : b - a;
  return gain > 0 && gain >= margin;
}

StageDecision Playbook::Decide(size_t stage_index, const Incumbent& incumbent,
                               const FrozenTrial* best,
                               const std::map<std::string, Json>& best_hparams,
                               Incumbent* next) const {
  const StageSpec& stage = study_->stages[stage_index];
  StageDecision d;
  d.stage = stage.name;
  d.incumbent_value = incumbent.value;
  *next = incumbent;
  if (best == nullptr || best->values.empty() || !std::isfinite(best->value())) {
    d.summary = stage.name + ": no trial completed; the incumbent stays";
    return d;
  }
  d.best_value = best->value();
  d.best_trial_number = best->number;
  if (incumbent.value) {
    d.required_improvement = stage.min_improvement_relative
                                 ? stage.min_improvement * std::fabs(*incumbent.value)
                                 : stage.min_improvement;
  }
  d.accepted =
      !incumbent.value || Improves(*d.best_value, *incumbent.value, d.required_improvement);

  // What this stage set: its searched parameters (per-layer expansions included) and its
  // stage-level fixed values.
  std::map<std::string, Json> changes;
  for (const auto& name : SearchedNames(stage_index, best_hparams)) {
    auto it = best_hparams.find(name);
    if (it != best_hparams.end()) changes[name] = it->second;
  }
  for (const auto& [k, v] : stage.fixed) changes[k] = v;
  d.changes = changes;

  std::ostringstream s;
  s << stage.name << ": best " << FormatValue(*d.best_value) << " (trial " << best->number << ")";
  if (!incumbent.value) {
    s << " becomes the incumbent";
  } else if (d.accepted) {
    s << " beats the incumbent " << FormatValue(*incumbent.value) << " by more than "
      << FormatValue(d.required_improvement) << ": accepted";
  } else {
    s << " does not beat the incumbent " << FormatValue(*incumbent.value) << " by "
      << FormatValue(d.required_improvement) << ": rejected";
  }
  d.summary = s.str();
  if (!d.accepted) return d;

  for (const auto* list : {&stage.params, &stage.retune}) {
    for (const ParamSpec& p : *list) {
      if (!p.per_layer_of) continue;
      for (auto it = next->hparams.begin(); it != next->hparams.end();) {
        it = IsLayerOf(it->first, p.name) ? next->hparams.erase(it) : std::next(it);
      }
    }
  }
  for (const auto& [k, v] : changes) next->hparams[k] = v;
  next->value = d.best_value;
  next->stage = stage.name;
  next->trial_number = best->number;
  auto reused = best->user_attrs.find(kReusedFromAttr);
  if (reused != best->user_attrs.end() && reused->second.is_string()) {
    const std::string& ref = reused->second.get_ref<const std::string&>();
    for (size_t i = 0; i < study_->stages.size(); ++i) {
      const std::string prefix = study_->StageStudyName(i) + "#";
      int64_t number = -1;
      const char* end = ref.data() + ref.size();
      if (StartsWith(ref, prefix) &&
          std::from_chars(ref.data() + prefix.size(), end, number).ptr == end && number >= 0) {
        next->stage = study_->stages[i].name;
        next->trial_number = number;
      }
    }
  }
  return d;
}

}  // namespace mgr
