#include "trainer/training/train_spec.h"

#include <fstream>
#include <set>

#include "trainer/models/model_factory.h"
#include "trainer/protocol/worker_protocol.h"

namespace mgr {
namespace {

Status CheckKeys(const Json& object, const std::string& path, const std::set<std::string>& known) {
  for (auto& [key, value] : object.items()) {
    if (!known.count(key)) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return Status::InvalidArgument(path + (path.empty() ? "" : ".") + key +
                                     ": unknown key (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Status GetString(const Json& o, const std::string& key, const std::string& path, bool required,
                 std::string* out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(path + key + ": required");
    return Status::Ok();
  }
  if (!it->is_string()) return Status::InvalidArgument(path + key + ": must be a string");
  *out = it->get<std::string>();
  if (required && out->empty()) return Status::InvalidArgument(path + key + ": must not be empty");
  return Status::Ok();
}

Status GetInt(const Json& o, const std::string& key, const std::string& path, int64_t min,
              int64_t max, int64_t* out) {
  auto it = o.find(key);
  if (it == o.end()) return Status::Ok();
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    return Status::InvalidArgument(path + key + ": must be an integer, got " + it->dump());
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(max)) {
    return Status::InvalidArgument(path + key + ": must be at most " + std::to_string(max));
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return Status::InvalidArgument(path + key + ": must be in [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "], got " + std::to_string(v));
  }
  *out = v;
  return Status::Ok();
}

}  // namespace

Result<TrainSpec> ParseTrainSpec(const Json& spec) {
  if (!spec.is_object()) return Status::InvalidArgument("spec: must be a JSON object");
  MGR_RETURN_IF_ERROR(CheckKeys(spec, "",
                                {"version", "trial", "seed", "device", "threads", "checkpoint_dir",
                                 "export_dir", "evaluate_test", "data", "model", "hparams"}));
  TrainSpec s;
  int64_t version = kWorkerSpecVersion;
  MGR_RETURN_IF_ERROR(GetInt(spec, "version", "", 1, 1000, &version));
  if (version != kWorkerSpecVersion) {
    return Status::InvalidArgument("version: unsupported protocol version " +
                                   std::to_string(version) + " (this worker speaks " +
                                   std::to_string(kWorkerSpecVersion) + ")");
  }
  if (spec.contains("trial")) s.trial = spec["trial"];
  if (spec.contains("seed")) {
    const Json& seed = spec["seed"];
    if (!seed.is_number_integer() ||
        (seed.is_number_integer() && !seed.is_number_unsigned() && seed.get<int64_t>() < 0)) {
      return Status::InvalidArgument("seed: must be a non-negative integer, got " + seed.dump());
    }
    s.seed = seed.get<uint64_t>();
  }
  MGR_RETURN_IF_ERROR(GetString(spec, "device", "", false, &s.device));
  if (s.device != "auto" && s.device != "cpu" && s.device.rfind("cuda", 0) != 0) {
    return Status::InvalidArgument("device: must be auto, cpu or cuda[:N], got \"" + s.device +
                                   "\"");
  }
  int64_t threads = 1;
  MGR_RETURN_IF_ERROR(GetInt(spec, "threads", "", 1, 1024, &threads));
  s.threads = static_cast<int>(threads);
  MGR_RETURN_IF_ERROR(GetString(spec, "checkpoint_dir", "", true, &s.checkpoint_dir));
  if (spec.contains("export_dir") && !spec["export_dir"].is_null()) {
    std::string dir;
    MGR_RETURN_IF_ERROR(GetString(spec, "export_dir", "", true, &dir));
    s.export_dir = dir;
  }
  if (spec.contains("evaluate_test")) {
    if (!spec["evaluate_test"].is_boolean()) {
      return Status::InvalidArgument("evaluate_test: must be true or false");
    }
    s.evaluate_test = spec["evaluate_test"].get<bool>();
  }

  if (!spec.contains("data") || !spec["data"].is_object()) {
    return Status::InvalidArgument("data: required object");
  }
  const Json& data = spec["data"];
  MGR_RETURN_IF_ERROR(
      CheckKeys(data, "data",
                {"metadata", "audio_dir", "subset", "sample_rate", "clip_samples", "cache_dir"}));
  MGR_RETURN_IF_ERROR(GetString(data, "metadata", "data.", true, &s.data.metadata_csv));
  MGR_RETURN_IF_ERROR(GetString(data, "audio_dir", "data.", true, &s.data.audio_dir));
  MGR_RETURN_IF_ERROR(GetString(data, "subset", "data.", false, &s.data.subset));
  MGR_RETURN_IF_ERROR(GetString(data, "cache_dir", "data.", true, &s.cache.cache_dir));
  int64_t rate = s.cache.sample_rate;
  MGR_RETURN_IF_ERROR(GetInt(data, "sample_rate", "data.", 1000, 384000, &rate));
  s.cache.sample_rate = static_cast<int>(rate);
  MGR_RETURN_IF_ERROR(GetInt(data, "clip_samples", "data.", 1, int64_t{1} << 26, &s.clip_samples));
  s.cache.min_samples = s.clip_samples;
  s.cache.threads = s.threads;

  if (!spec.contains("model") || !spec["model"].is_object()) {
    return Status::InvalidArgument("model: required object {family, preset}");
  }
  const Json& model = spec["model"];
  MGR_RETURN_IF_ERROR(CheckKeys(model, "model", {"family", "preset"}));
  MGR_RETURN_IF_ERROR(GetString(model, "family", "model.", true, &s.family));
  MGR_RETURN_IF_ERROR(GetString(model, "preset", "model.", false, &s.preset));
  if (!IsKnownFamily(s.family)) {
    return Status::InvalidArgument("model.family: unknown family \"" + s.family +
                                   "\" (known: nnet1, nnet2, mixnet)");
  }
  Json overrides = spec.contains("hparams") ? spec["hparams"] : Json::object();
  if (!overrides.is_object() && !overrides.is_null()) {
    return Status::InvalidArgument("hparams: must be an object");
  }
  MGR_ASSIGN_OR_RETURN(s.params, ResolveHParams(s.family, s.preset, overrides));
  s.hparams = HParamsToJson(s.family, s.params);
  // hparams.sample_rate / clip_samples (a stage may search them) override data's values.
  if (s.params.sample_rate > 0) s.cache.sample_rate = s.params.sample_rate;
  if (s.params.clip_samples > 0) {
    s.clip_samples = s.params.clip_samples;
    s.cache.min_samples = s.clip_samples;
  }
  InputConfig input = MakeInputConfig(s.family, s.params, s.clip_samples, s.cache.sample_rate);
  MGR_RETURN_IF_ERROR(ValidateArchitecture(s.family, s.params, input)
                          .WithContext(std::string("hparams (") +
                                       (s.params.clip_samples > 0 ? "hparams" : "data") +
                                       ".clip_samples " + std::to_string(s.clip_samples) + ")"));
  return s;
}

Result<TrainSpec> LoadTrainSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open the trial spec");
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  Result<TrainSpec> r = ParseTrainSpec(j);
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

}  // namespace mgr
