#include "studies/encoders.h"

#include <filesystem>
#include <optional>

#include "storage/storage.h"
#include "studies/playbook.h"
#include "studies/study.h"

namespace mgr {
namespace {

namespace fs = std::filesystem;

// What one branch needs of its source.
struct Source {
  std::string family;
  std::map<std::string, Json> hparams;  // the source's whole configuration
  Json sample_rate, clip_samples;       // its input settings
  std::string weights;                  // exported model dir or checkpoint file
};

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The encoder names of `branch` ("audio" from nnet1, "feature" from nnet2), and the name a
// source's `name` takes in MixNet ("" if it is not part of the encoder).
std::string MixNetName(const std::string& branch, const std::string& name) {
  if (name == "batch_norm") return branch + "_batch_norm";
  if (branch == "audio") {
    for (const char* p : {"conv_", "pool_", "aug_noise_", "aug_time_mask_"})
      if (StartsWith(name, p)) return name;
    return "";
  }
  for (const char* p : {"res_", "aug_spec_"})
    if (StartsWith(name, p)) return name;
  if (name == "feature" || name == "n_mfcc" || name == "n_mels" || name == "normalization")
    return name;
  return "";
}

// A finished study's final incumbent and weights.
Result<Source> FromStudy(const std::string& file) {
  MGR_ASSIGN_OR_RETURN(StudyFile study, LoadStudyFile(file));
  OpenOptions options;
  options.create_if_missing = false;
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<Storage> storage, OpenStorage(study.storage_url, options));
  const std::string run_first = "; run it first (or run both in one campaign: mgr-tune campaign)";
  Incumbent incumbent;
  for (size_t i = 0; i < study.stages.size(); ++i) {
    Result<int64_t> id = storage->GetStudyId(study.StageStudyName(i));
    std::map<std::string, Json> attrs;
    if (id.ok()) {
      MGR_ASSIGN_OR_RETURN(attrs, storage->GetStudyUserAttrs(*id));
    }
    if (!attrs.count("decision") || !attrs.count("incumbent")) {
      return Status::FailedPrecondition("study " + study.name + " (" + file +
                                        ") is not finished: stage '" + study.stages[i].name +
                                        "' is not decided" + run_first);
    }
    MGR_ASSIGN_OR_RETURN(incumbent, Incumbent::FromJson(attrs["incumbent"]));
  }
  Source s;
  s.family = study.model_family;
  s.hparams = study.fixed;
  for (const auto& [k, v] : incumbent.hparams) s.hparams[k] = v;
  s.sample_rate =
      s.hparams.count("sample_rate") ? s.hparams["sample_rate"] : study.dataset["sample_rate"];
  s.clip_samples =
      s.hparams.count("clip_samples") ? s.hparams["clip_samples"] : study.dataset["clip_samples"];
  const fs::path exported = fs::path(study.run_dir) / "final" / "model";
  if (fs::exists(exported / "model.pt")) {
    s.weights = exported.string();
  } else {
    size_t stage = 0;
    for (size_t i = 0; i < study.stages.size(); ++i)
      if (study.stages[i].name == incumbent.stage) stage = i;
    MGR_ASSIGN_OR_RETURN(int64_t id, storage->GetStudyId(study.StageStudyName(stage)));
    MGR_ASSIGN_OR_RETURN(int64_t trial_id,
                         storage->GetTrialIdFromNumber(id, incumbent.trial_number));
    MGR_ASSIGN_OR_RETURN(FrozenTrial best, storage->GetTrial(trial_id));
    s.weights = (fs::path(study.run_dir) / "trials" / incumbent.stage /
                 std::to_string(ChainRootNumber(best)) / "checkpoint" / "checkpoint.pt")
                    .string();
  }
  return s;
}

// An exported model's metadata (docs/predict.md).
Result<Source> FromModel(const std::string& path) {
  const fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  MGR_ASSIGN_OR_RETURN(Json meta, ReadJsonFile((dir / "model.json").string()));
  if (!meta.is_object())
    return Status::InvalidArgument((dir / "model.json").string() + ": not a JSON object");
  Source s;
  s.family = meta.value("family", "");
  if (meta.contains("hparams") && meta["hparams"].is_object()) {
    for (const auto& [k, v] : meta["hparams"].items()) s.hparams[k] = v;
  }
  s.sample_rate = meta.value("sample_rate", Json());
  s.clip_samples = meta.value("clip_samples", Json());
  s.weights = dir.string();
  return s;
}

}  // namespace

Result<ImportedEncoders> ResolveEncoders(const StudyFile& mixnet) {
  const EncodersSpec& spec = *mixnet.encoders;
  const std::string where = mixnet.path + ": encoders.";
  ImportedEncoders out;
  std::optional<std::pair<Json, Json>> input;  // sample_rate, clip_samples
  std::string input_from;
  for (const auto& [branch, source, family] :
       {std::tuple{std::string("audio"), spec.audio, "nnet1"},
        std::tuple{std::string("feature"), spec.feature, "nnet2"}}) {
    if (!source) continue;
    const bool from_study = !source->study.empty();
    const std::string named = from_study ? source->study : source->model;
    Result<Source> s = from_study ? FromStudy(source->study) : FromModel(source->model);
    if (!s.ok()) return s.status().WithContext(where + branch);
    if (s->family != family) {
      return Status::InvalidArgument(where + branch + ": " + named + " is a " + s->family +
                                     "; the " + branch + " encoder comes from an " + family);
    }
    Json values = Json::object();
    for (const auto& [name, value] : s->hparams) {
      const std::string to = MixNetName(branch, name);
      if (to.empty()) continue;
      if (mixnet.fixed.count(to)) {
        return Status::InvalidArgument(where + branch + ": " + to + " is imported from " + named +
                                       " and also set in fixed: remove one");
      }
      out.hparams[to] = value;
      values[to] = value;
    }
    const std::pair<Json, Json> settings{s->sample_rate, s->clip_samples};
    if (input && *input != settings) {
      return Status::InvalidArgument(
          where + branch + ": " + named + " was trained at sample_rate " + settings.first.dump() +
          ", clip_samples " + settings.second.dump() + " but " + input_from + " at " +
          input->first.dump() + ", " + input->second.dump() + ": MixNet needs one input");
    }
    input = settings;
    input_from = named;
    Json record = {{"source", named}, {"family", s->family}, {"values", values}};
    if (spec.load_weights) {
      const std::string key = "init_" + branch + "_encoder";
      out.hparams[key] = s->weights;
      record["weights"] = s->weights;
    }
    out.record[branch] = record;
  }
  if (input) {
    const char* names[] = {"sample_rate", "clip_samples"};
    const Json values[] = {input->first, input->second};
    for (int k = 0; k < 2; ++k) {
      if (values[k].is_null() || values[k] == mixnet.dataset.value(names[k], Json())) continue;
      if (mixnet.fixed.count(names[k])) {
        return Status::InvalidArgument(where + "the encoders were trained with " + names[k] + " " +
                                       values[k].dump() + " but fixed sets " +
                                       mixnet.fixed.at(names[k]).dump());
      }
      out.hparams[names[k]] = values[k];
    }
  }
  if (spec.freeze) out.hparams["freeze_encoders"] = true;
  return out;
}

}  // namespace mgr
