#include "studies/study_file.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "storage/storage.h"

namespace mgr {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::vector<std::string>>& KeyTable() {
  static const auto* table = new std::map<std::string, std::vector<std::string>>{
      {"study", {"$schema",   "name",    "description",   "storage",    "run_dir", "dataset",
                 "model",     "fixed",   "objective",     "sampler",    "pruner",  "retune",
                 "stages",    "workers", "trial_timeout", "kill_grace", "retries", "seed",
                 "heartbeat", "export",  "final",         "encoders"}},
      {"encoders", {"audio", "feature", "load_weights", "freeze"}},
      {"encoder", {"study", "model"}},
      {"dataset",
       {"metadata", "audio_dir", "subset", "sample_rate", "clip_samples", "cache_dir", "prepare"}},
      {"model", {"family", "preset"}},
      {"objective", {"metric", "direction"}},
      {"stage",
       {"name", "description", "trials", "params", "retune", "fixed", "min_improvement", "sampler",
        "pruner"}},
      {"param", {"type", "low", "high", "log", "step", "choices", "per_layer_of"}},
      {"workers", {"gpus", "trials_per_gpu", "cpu_workers", "threads_per_worker"}},
      {"heartbeat", {"interval", "grace"}},
      {"final", {"max_epochs", "patience", "seeds"}},
  };
  return *table;
}

// Collects every problem of a file, each prefixed by its JSON path.
class Errors {
 public:
  void Add(const std::string& path, const std::string& message) {
    list_.push_back(path.empty() ? message : path + ": " + message);
  }
  void Add(const Status& s) {
    if (!s.ok()) list_.push_back(s.message());
  }
  bool empty() const { return list_.empty(); }
  std::string Join(const std::string& file) const {
    std::string out;
    for (const auto& e : list_) {
      if (!out.empty()) out += "\n";
      out += file + ": " + e;
    }
    return out;
  }

 private:
  std::vector<std::string> list_;
};

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string TypeName(const Json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  return std::string("a ") + j.type_name();
}

void CheckKeys(const Json& obj, const std::string& kind, const std::string& path, Errors* errors) {
  const auto& allowed = KeyTable().at(kind);
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      std::string list;
      for (const auto& k : allowed) {
        if (k == "$schema") continue;
        list += (list.empty() ? "" : ", ") + k;
      }
      errors->Add(Child(path, it.key()), "unknown key (expected one of: " + list + ")");
    }
  }
}

bool IsObject(const Json& j, const std::string& path, Errors* errors) {
  if (j.is_object()) return true;
  errors->Add(path, "expected an object, got " + TypeName(j));
  return false;
}

std::optional<std::string> GetString(const Json& obj, const std::string& key,
                                     const std::string& path, Errors* errors, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) errors->Add(Child(path, key), "required (a string)");
    return std::nullopt;
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    errors->Add(Child(path, key), "expected a non-empty string, got " + it->dump());
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<double> GetNumber(const Json& obj, const std::string& key, const std::string& path,
                                Errors* errors, double min, bool min_exclusive = false) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_number()) {
    errors->Add(Child(path, key), "expected a number, got " + it->dump());
    return std::nullopt;
  }
  double v = it->get<double>();
  if (!std::isfinite(v) || v < min || (min_exclusive && v == min)) {
    std::ostringstream m;
    m << "must be " << (min_exclusive ? "> " : ">= ") << min << " (got " << it->dump() << ")";
    errors->Add(Child(path, key), m.str());
    return std::nullopt;
  }
  return v;
}

// An integer of `j` that fits an int64_t; nullopt for any other value. get<int64_t>() alone
// would wrap an unsigned value above INT64_MAX to a negative one.
std::optional<int64_t> AsInt64(const Json& j) {
  if (j.is_number_unsigned()) {
    if (j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(j.get<uint64_t>());
  }
  if (j.is_number_integer()) return j.get<int64_t>();
  return std::nullopt;
}

std::string RangeText(int64_t min, int64_t max) {
  return "between " + std::to_string(min) + " and " + std::to_string(max);
}

// An integer in [min, max]; `max` is INT_MAX for a field stored as int, so that no value wraps.
std::optional<int64_t> GetInt(const Json& obj, const std::string& key, const std::string& path,
                              Errors* errors, int64_t min, int64_t max, bool required = false) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required)
      errors->Add(Child(path, key), "required (an integer >= " + std::to_string(min) + ")");
    return std::nullopt;
  }
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    errors->Add(Child(path, key), "expected an integer, got " + it->dump());
    return std::nullopt;
  }
  auto v = AsInt64(*it);
  if (v && *v < min) {
    errors->Add(Child(path, key),
                "must be >= " + std::to_string(min) + " (got " + std::to_string(*v) + ")");
    return std::nullopt;
  }
  if (!v || *v > max) {
    errors->Add(Child(path, key), "must be " + RangeText(min, max) + " (got " + it->dump() + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> GetBool(const Json& obj, const std::string& key, const std::string& path,
                            Errors* errors) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_boolean()) {
    errors->Add(Child(path, key), "expected true or false, got " + it->dump());
    return std::nullopt;
  }
  return it->get<bool>();
}

// ASCII only, independent of the locale. Plain loops rather than std::regex, whose
// recursive matcher overflows the stack on a long name.
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z][a-z0-9_]*
bool ValidHparamName(const std::string& name) {
  if (name.empty() || !IsLower(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '_'; });
}

std::string ResolvePath(const std::string& dir, const std::string& p) {
  fs::path path(p);
  if (path.is_relative()) path = fs::path(dir) / path;
  return path.lexically_normal().string();
}

std::optional<ParamSpec> ParseParam(const std::string& name, const Json& j, const std::string& path,
                                    Errors* errors) {
  if (!ValidHparamName(name)) {
    errors->Add(path, "a hyperparameter name must match [a-z][a-z0-9_]* (got '" + name + "')");
    return std::nullopt;
  }
  if (!IsObject(j, path, errors)) return std::nullopt;
  CheckKeys(j, "param", path, errors);
  auto type = GetString(j, "type", path, errors, true);
  if (!type) return std::nullopt;
  ParamSpec spec;
  spec.name = name;
  if (j.contains("per_layer_of"))
    spec.per_layer_of = GetString(j, "per_layer_of", path, errors, true);
  auto require_number = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end()) {
      errors->Add(Child(path, key), "required for a " + *type + " distribution");
      return std::nullopt;
    }
    if (!it->is_number()) {
      errors->Add(Child(path, key), "expected a number, got " + it->dump());
      return std::nullopt;
    }
    return it->get<double>();
  };
  auto log = GetBool(j, "log", path, errors).value_or(false);
  if (*type == "float") {
    if (j.contains("choices"))
      errors->Add(Child(path, "choices"), "only for a categorical distribution");
    auto low = require_number("low");
    auto high = require_number("high");
    std::optional<double> step;
    if (j.contains("step") && !j["step"].is_null()) {
      if (!j["step"].is_number()) {
        errors->Add(Child(path, "step"), "expected a number, got " + j["step"].dump());
        return std::nullopt;
      }
      step = j["step"].get<double>();
    }
    if (!low || !high) return std::nullopt;
    auto dist = MakeFloatDistribution(path, *low, *high, log, step);
    if (!dist.ok()) {
      errors->Add(dist.status());
      return std::nullopt;
    }
    spec.distribution = *dist;
  } else if (*type == "int") {
    if (j.contains("choices"))
      errors->Add(Child(path, "choices"), "only for a categorical distribution");
    bool ok = true;
    int64_t bounds[2] = {0, 0};
    const char* keys[2] = {"low", "high"};
    for (int k = 0; k < 2; ++k) {
      auto it = j.find(keys[k]);
      if (it == j.end()) {
        errors->Add(Child(path, keys[k]), "required for an int distribution");
        ok = false;
      } else if (!it->is_number_integer() && !it->is_number_unsigned()) {
        errors->Add(Child(path, keys[k]), "expected an integer, got " + it->dump());
        ok = false;
      } else if (auto v = AsInt64(*it)) {
        bounds[k] = *v;
      } else {
        errors->Add(Child(path, keys[k]),
                    "must be " + RangeText(INT64_MIN, INT64_MAX) + " (got " + it->dump() + ")");
        ok = false;
      }
    }
    int64_t step = 1;
    if (j.contains("step") && !j["step"].is_null()) {
      if (!j["step"].is_number_integer()) {
        errors->Add(Child(path, "step"), "expected an integer, got " + j["step"].dump());
        ok = false;
      } else if (auto v = AsInt64(j["step"])) {
        step = *v;
      } else {
        errors->Add(Child(path, "step"), "must be " + RangeText(INT64_MIN, INT64_MAX) + " (got " +
                                             j["step"].dump() + ")");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    auto dist = MakeIntDistribution(path, bounds[0], bounds[1], log, step);
    if (!dist.ok()) {
      errors->Add(dist.status());
      return std::nullopt;
    }
    spec.distribution = *dist;
  } else if (*type == "categorical") {
    for (const char* k : {"low", "high", "log", "step"}) {
      if (j.contains(k)) errors->Add(Child(path, k), "not used by a categorical distribution");
    }
    auto it = j.find("choices");
    if (it == j.end() || !it->is_array()) {
      errors->Add(Child(path, "choices"), "required: an array of strings, numbers or booleans");
      return std::nullopt;
    }
    auto dist = MakeCategoricalDistribution(path, it->get<std::vector<Json>>());
    if (!dist.ok()) {
      errors->Add(dist.status());
      return std::nullopt;
    }
    spec.distribution = *dist;
  } else {
    errors->Add(Child(path, "type"),
                "expected \"float\", \"int\" or \"categorical\" (got \"" + *type + "\")");
    return std::nullopt;
  }
  return spec;
}

// The data hyperparameters that override dataset.*: bounds as for dataset.* (see ParseDataset).
std::optional<int64_t> DataParamMinimum(const std::string& name) {
  if (name == "sample_rate") return 1000;
  if (name == "clip_samples") return 256;
  return std::nullopt;
}

// A value of sample_rate / clip_samples (fixed or a choice): an integer >= the minimum.
void CheckDataValue(const std::string& name, const Json& v, const std::string& path,
                    Errors* errors) {
  const auto min = DataParamMinimum(name);
  if (!min) return;
  if (!v.is_number_integer() || v.get<int64_t>() < *min || v.get<int64_t>() > INT_MAX) {
    errors->Add(path, "must be " + RangeText(*min, INT_MAX) + " (got " + v.dump() + ")");
  }
}

// sample_rate is searched over a few rates only (each needs its own prepared cache), so it must
// be categorical; clip_samples may also be an int range.
void CheckDataParam(const ParamSpec& p, const std::string& path, Errors* errors) {
  const auto min = DataParamMinimum(p.name);
  if (!min) return;
  if (const auto* c = std::get_if<CategoricalDistribution>(&p.distribution)) {
    for (size_t i = 0; i < c->choices.size(); ++i) {
      CheckDataValue(p.name, c->choices[i], path + ".choices[" + std::to_string(i) + "]", errors);
    }
  } else if (const auto* d = std::get_if<IntDistribution>(&p.distribution);
             d && p.name == "clip_samples") {
    if (d->low < *min) errors->Add(path + ".low", "must be " + RangeText(*min, INT_MAX));
    if (d->high > INT_MAX) errors->Add(path + ".high", "must be " + RangeText(*min, INT_MAX));
  } else if (p.name == "sample_rate") {
    errors->Add(path, "must be categorical: each rate needs its own prepared cache");
  } else {
    errors->Add(path, "must be categorical or int");
  }
}

std::vector<ParamSpec> ParseParams(const Json& j, const std::string& path, Errors* errors) {
  std::vector<ParamSpec> out;
  if (!IsObject(j, path, errors)) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto p = ParseParam(it.key(), it.value(), Child(path, it.key()), errors);
    if (p) CheckDataParam(*p, Child(path, it.key()), errors);
    if (p) out.push_back(std::move(*p));
  }
  return out;
}

std::map<std::string, Json> ParseFixed(const Json& j, const std::string& path, Errors* errors) {
  std::map<std::string, Json> out;
  if (!IsObject(j, path, errors)) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string p = Child(path, it.key());
    if (!ValidHparamName(it.key())) {
      errors->Add(p, "a hyperparameter name must match [a-z][a-z0-9_]*");
    } else if (!(it->is_number() || it->is_string() || it->is_boolean())) {
      errors->Add(p, "expected a number, string or boolean, got " + TypeName(*it));
    } else {
      CheckDataValue(it.key(), *it, p, errors);
      out[it.key()] = *it;
    }
  }
  return out;
}

// Merges `override` into `base` (sampler/pruner options of a stage).
Json MergeConfig(const Json& base, const Json& override) {
  Json out = base.is_object() ? base : Json::object();
  if (override.is_object()) {
    if (override.contains("type") && override["type"] != out.value("type", Json())) {
      out = Json::object();  // a different kind: the study's options do not apply
    }
    for (auto it = override.begin(); it != override.end(); ++it) out[it.key()] = *it;
  }
  return out;
}

// A parameter that is searched may not also be fixed, and a per-layer parameter needs a count.
void CheckStageParams(const StudyFile& study, const StageSpec& stage, const std::string& path,
                      Errors* errors) {
  std::map<std::string, const ParamSpec*> searched;
  for (const auto* list : {&stage.params, &stage.retune}) {
    for (const auto& p : *list) {
      if (searched.count(p.name)) {
        errors->Add(path + ".params." + p.name,
                    "searched twice (in params and in retune): list it once");
      }
      searched[p.name] = &p;
      if (stage.fixed.count(p.name)) {
        errors->Add(path + ".fixed." + p.name,
                    "is also searched in this stage: fix it or search it");
      }
    }
  }
  for (const auto& [name, p] : searched) {
    if (!p->per_layer_of) continue;
    // [&name = name]: a C++17 lambda cannot capture a structured binding (clang rejects it).
    const bool in_params =
        std::any_of(stage.params.begin(), stage.params.end(),
                    [&name = name](const ParamSpec& q) { return q.name == name; });
    const std::string where = path + (in_params ? ".params." : ".retune.") + name + ".per_layer_of";
    auto count = searched.find(*p->per_layer_of);
    if (count != searched.end()) {
      const auto* d = std::get_if<IntDistribution>(&count->second->distribution);
      if (!d || count->second->per_layer_of) {
        errors->Add(where, "'" + *p->per_layer_of + "' must be an int parameter (a layer count)");
      } else if (d->low < 0) {
        errors->Add(where, "'" + *p->per_layer_of + "' must have low >= 0");
      }
      continue;
    }
    const Json* fixed = nullptr;
    if (stage.fixed.count(*p->per_layer_of)) fixed = &stage.fixed.at(*p->per_layer_of);
    if (study.fixed.count(*p->per_layer_of)) fixed = &study.fixed.at(*p->per_layer_of);
    if (fixed && !fixed->is_number_integer()) {
      errors->Add(
          where, "'" + *p->per_layer_of + "' is fixed to " + fixed->dump() + ", not a layer count");
    }
    // Otherwise the count comes from the incumbent or the model preset at run time.
  }
}

// A study or stage name: it becomes part of file names and of the Optuna study name.
// [A-Za-z0-9][A-Za-z0-9_.-]*
bool ValidStudyName(const std::string& name) {
  auto alnum = [](char c) { return IsLower(c) || IsUpper(c) || IsDigit(c); };
  if (name.empty() || !alnum(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// [0-9]+(\.[0-9]*)?%  (a percentage string), without the '%'; nullopt when `text` is not one.
std::optional<std::string> PercentDigits(const std::string& text) {
  if (text.size() < 2 || text.back() != '%') return std::nullopt;
  const std::string number = text.substr(0, text.size() - 1);
  size_t i = 0;
  while (i < number.size() && IsDigit(number[i])) ++i;
  if (i == 0) return std::nullopt;
  if (i < number.size() && number[i] == '.') {
    ++i;
    while (i < number.size() && IsDigit(number[i])) ++i;
  }
  if (i != number.size()) return std::nullopt;
  return number;
}

// One function per top-level section of the file, in the order ParseStudyJson calls them.
// Each reads its section of `json` into `study` and adds what is wrong to `errors`.

// "name", "storage", "run_dir": the storage and run folder default to <name>.db and
// <name>-runs next to the file.
void ParseNameAndLocations(const Json& json, StudyFile* study, Errors* errors) {
  if (auto name = GetString(json, "name", "", errors, true)) {
    if (!ValidStudyName(*name)) {
      errors->Add("name", "use letters, digits, '_', '.', '-' (got \"" + *name + "\")");
    }
    study->name = *name;
  }
  const std::string stem = study->name.empty() ? "study" : study->name;
  study->storage_url = "sqlite:///" + ResolvePath(study->dir, stem + ".db");
  if (auto storage = GetString(json, "storage", "", errors, false)) {
    if (*storage == ":memory:") {
      study->storage_url = *storage;
    } else if (storage->rfind("sqlite:///", 0) == 0) {
      std::string p = storage->substr(10);
      study->storage_url = "sqlite:///" + ResolvePath(study->dir, p);
    } else if (Result<StorageUrl> url = ParseStorageUrl(*storage);
               url.ok() && url->backend == StorageUrl::Backend::kPostgres) {
      study->storage_url = *storage;
    } else if (storage->find("://") != std::string::npos) {
      errors->Add("storage", "expected a path, sqlite:///path or postgresql://user@host/db (" +
                                 (url.ok() ? "got \"" + *storage + "\"" : url.status().message()) +
                                 ")");
    } else {
      study->storage_url = "sqlite:///" + ResolvePath(study->dir, *storage);
    }
  }
  study->run_dir = ResolvePath(study->dir, stem + "-runs");
  if (auto rd = GetString(json, "run_dir", "", errors, false))
    study->run_dir = ResolvePath(study->dir, *rd);
}

// "dataset": becomes the worker's "data" object, with absolute paths and defaults filled in.
void ParseDataset(const Json& json, StudyFile* study, Errors* errors) {
  if (!json.contains("dataset")) {
    errors->Add("dataset", "required (an object with metadata, audio_dir, cache_dir)");
    return;
  }
  const Json& d = json["dataset"];
  if (!IsObject(d, "dataset", errors)) return;
  CheckKeys(d, "dataset", "dataset", errors);
  Json data = Json::object();
  for (const char* key : {"metadata", "audio_dir", "cache_dir"}) {
    if (auto v = GetString(d, key, "dataset", errors, true))
      data[key] = ResolvePath(study->dir, *v);
  }
  if (auto subset = GetString(d, "subset", "dataset", errors, false)) {
    if (*subset != "small" && *subset != "medium" && *subset != "large" && *subset != "full") {
      errors->Add("dataset.subset",
                  "expected small, medium, large or full (got \"" + *subset + "\")");
    }
    data["subset"] = *subset;
  } else {
    data["subset"] = "small";
  }
  data["sample_rate"] = GetInt(d, "sample_rate", "dataset", errors, 1000, INT_MAX).value_or(22050);
  data["clip_samples"] =
      GetInt(d, "clip_samples", "dataset", errors, 256, INT_MAX).value_or(262144);
  study->prepare = GetBool(d, "prepare", "dataset", errors).value_or(true);
  study->dataset = data;
}

// "model": the family (required) and preset.
void ParseModel(const Json& json, StudyFile* study, Errors* errors) {
  if (!json.contains("model")) {
    errors->Add("model", "required (an object with family: nnet1, nnet2 or mixnet)");
    return;
  }
  const Json& m = json["model"];
  if (!IsObject(m, "model", errors)) return;
  CheckKeys(m, "model", "model", errors);
  if (auto fam = GetString(m, "family", "model", errors, true)) {
    if (*fam != "nnet1" && *fam != "nnet2" && *fam != "mixnet") {
      errors->Add("model.family", "expected nnet1, nnet2 or mixnet (got \"" + *fam + "\")");
    }
    study->model_family = *fam;
  }
  study->model_preset = GetString(m, "preset", "model", errors, false).value_or("paper");
}

// "objective": the metric, and the direction (by default the metric's natural one).
void ParseObjective(const Json& json, StudyFile* study, Errors* errors) {
  if (!json.contains("objective") || !IsObject(json["objective"], "objective", errors)) return;
  const Json& o = json["objective"];
  CheckKeys(o, "objective", "objective", errors);
  if (auto m = GetString(o, "metric", "objective", errors, false)) {
    // The epoch event's fields (trainer/protocol/worker_protocol.h); val_track_*: each
    // validation track predicted from all its windows.
    static const char* const kMetrics[] = {"val_loss",           "val_accuracy",
                                           "val_macro_f1",       "val_track_loss",
                                           "val_track_accuracy", "val_track_macro_f1"};
    if (std::find(std::begin(kMetrics), std::end(kMetrics), *m) == std::end(kMetrics)) {
      errors->Add("objective.metric",
                  "expected val_loss, val_accuracy, val_macro_f1, val_track_loss, "
                  "val_track_accuracy or val_track_macro_f1 (got \"" +
                      *m + "\")");
    }
    study->objective_metric = *m;
  }
  const bool is_loss =
      study->objective_metric == "val_loss" || study->objective_metric == "val_track_loss";
  study->direction = is_loss ? StudyDirection::kMinimize : StudyDirection::kMaximize;
  if (auto dir = GetString(o, "direction", "objective", errors, false)) {
    if (*dir == "minimize") {
      study->direction = StudyDirection::kMinimize;
    } else if (*dir == "maximize") {
      study->direction = StudyDirection::kMaximize;
    } else {
      errors->Add("objective.direction", "expected minimize or maximize (got \"" + *dir + "\")");
    }
  }
}

// "sampler" or "pruner": the study's options, which every stage starts from; `fallback` when
// the file has none (or not an object).
Json ParseStudyConfig(const Json& json, const std::string& key, const Json& fallback,
                      Errors* errors) {
  if (json.contains(key) && IsObject(json[key], key, errors)) return json[key];
  return fallback;
}

// "retune": searched again in every stage, so it cannot also be fixed. Needs study->fixed.
void ParseRetune(const Json& json, StudyFile* study, Errors* errors) {
  if (json.contains("retune")) study->retune = ParseParams(json["retune"], "retune", errors);
  for (const auto& p : study->retune) {
    if (study->fixed.count(p.name))
      errors->Add("fixed." + p.name, "is also in retune: fix it or search it");
  }
}

// A stage's "min_improvement": a number >= 0 (absolute) or a percentage string (relative).
void ParseMinImprovement(const Json& m, const std::string& path, StageSpec* stage, Errors* errors) {
  // strtod, not std::stod: a percentage too large for a double is an error, not an exception.
  std::optional<std::string> digits;
  if (m.is_string()) digits = PercentDigits(m.get<std::string>());
  double percent = digits ? std::strtod(digits->c_str(), nullptr) : 0;
  if (m.is_number() && m.get<double>() >= 0) {
    stage->min_improvement = m.get<double>();
  } else if (digits && std::isfinite(percent)) {
    stage->min_improvement = percent / 100.0;
    stage->min_improvement_relative = true;
  } else {
    errors->Add(
        path + ".min_improvement",
        "expected a number >= 0 (absolute) or a percentage like \"1%\" (got " + m.dump() + ")");
  }
}

// stages[index], an object. `names` holds the earlier stages' names; the stage's sampler and
// pruner are the study's (`sampler`, `pruner`) with its own options merged in.
StageSpec ParseStage(const Json& s, size_t index, const std::string& path, const StudyFile& study,
                     const Json& sampler, const Json& pruner, std::set<std::string>* names,
                     Errors* errors) {
  CheckKeys(s, "stage", path, errors);
  StageSpec stage;
  if (auto n = GetString(s, "name", path, errors, true)) {
    if (!ValidStudyName(*n)) {
      errors->Add(path + ".name", "use letters, digits, '_', '.', '-' (got \"" + *n + "\")");
    } else if (!names->insert(*n).second) {
      errors->Add(path + ".name", "\"" + *n + "\" is the name of an earlier stage");
    }
    stage.name = *n;
  }
  stage.trials = GetInt(s, "trials", path, errors, 1, INT64_MAX, true).value_or(0);
  if (s.contains("params")) stage.params = ParseParams(s["params"], path + ".params", errors);
  if (index > 0 && stage.params.empty() && s.contains("params")) {
    errors->Add(path + ".params", "a later stage must search at least one parameter");
  }
  stage.retune = study.retune;
  if (s.contains("retune")) stage.retune = ParseParams(s["retune"], path + ".retune", errors);
  if (s.contains("fixed")) stage.fixed = ParseFixed(s["fixed"], path + ".fixed", errors);
  if (s.contains("min_improvement"))
    ParseMinImprovement(s["min_improvement"], path, &stage, errors);
  // Only reported here: MergeConfig ignores options that are not an object.
  if (s.contains("sampler")) IsObject(s["sampler"], path + ".sampler", errors);
  if (s.contains("pruner")) IsObject(s["pruner"], path + ".pruner", errors);
  stage.sampler = MergeConfig(sampler, s.value("sampler", Json()));
  stage.pruner = MergeConfig(pruner, s.value("pruner", Json()));
  if (stage.params.empty() && stage.retune.empty() && index > 0) {
    errors->Add(path, "searches nothing: give it params (or retune)");
  }
  // A stage may search what the study fixes: the stage's search wins; that is how the base
  // configuration's value gets challenged. Only the stage's own fixed values conflict.
  CheckStageParams(study, stage, path, errors);
  return stage;
}

// "stages": a non-empty array. Needs study->fixed and study->retune.
void ParseStages(const Json& json, const Json& sampler, const Json& pruner, StudyFile* study,
                 Errors* errors) {
  if (!json.contains("stages")) {
    errors->Add("stages", "required (an array of at least one stage)");
    return;
  }
  const Json& stages = json["stages"];
  if (!stages.is_array() || stages.empty()) {
    errors->Add("stages", "expected a non-empty array of stages, got " + stages.dump());
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string path = "stages[" + std::to_string(i) + "]";
    if (!IsObject(stages[i], path, errors)) continue;
    study->stages.push_back(
        ParseStage(stages[i], i, path, *study, sampler, pruner, &names, errors));
  }
}

// "workers": which GPUs ("auto" or a list of distinct ids) and how many trials each runs.
void ParseWorkers(const Json& json, WorkersSpec* workers, Errors* errors) {
  if (!json.contains("workers") || !IsObject(json["workers"], "workers", errors)) return;
  const Json& w = json["workers"];
  CheckKeys(w, "workers", "workers", errors);
  if (w.contains("gpus")) {
    const Json& g = w["gpus"];
    if (g.is_string() && g.get<std::string>() == "auto") {
      workers->gpus_auto = true;
    } else if (g.is_array()) {
      workers->gpus_auto = false;
      std::set<int> seen;
      for (size_t k = 0; k < g.size(); ++k) {
        const std::string path = "workers.gpus[" + std::to_string(k) + "]";
        const auto id = AsInt64(g[k]);
        if (!g[k].is_number_integer() || (id && *id < 0)) {
          errors->Add(path, "expected a GPU id >= 0, got " + g[k].dump());
        } else if (!id || *id > INT_MAX) {
          errors->Add(path, "expected a GPU id " + RangeText(0, INT_MAX) + ", got " + g[k].dump());
        } else if (!seen.insert(static_cast<int>(*id)).second) {
          errors->Add(path, "GPU " + g[k].dump() + " is listed twice");
        } else {
          workers->gpu_ids.push_back(static_cast<int>(*id));
        }
      }
    } else {
      errors->Add("workers.gpus", "expected \"auto\" or an array of GPU ids, got " + g.dump());
    }
  }
  workers->trials_per_gpu =
      static_cast<int>(GetInt(w, "trials_per_gpu", "workers", errors, 1, INT_MAX).value_or(1));
  workers->cpu_workers =
      static_cast<int>(GetInt(w, "cpu_workers", "workers", errors, 0, INT_MAX).value_or(1));
  workers->threads_per_worker =
      static_cast<int>(GetInt(w, "threads_per_worker", "workers", errors, 1, INT_MAX).value_or(1));
}

// "trial_timeout", "kill_grace", "retries", "seed", "export": single top-level values.
void ParseRunOptions(const Json& json, StudyFile* study, Errors* errors) {
  study->trial_timeout_seconds = GetNumber(json, "trial_timeout", "", errors, 0).value_or(0);
  study->kill_grace_seconds = GetNumber(json, "kill_grace", "", errors, 0).value_or(30);
  study->retries = static_cast<int>(GetInt(json, "retries", "", errors, 0, INT_MAX).value_or(2));
  study->seed = GetInt(json, "seed", "", errors, 0, INT64_MAX).value_or(0);
  study->export_model = GetBool(json, "export", "", errors).value_or(true);
}

// "heartbeat": a grace shorter than two intervals would resume trials that are still alive.
void ParseHeartbeat(const Json& json, StudyFile* study, Errors* errors) {
  if (!json.contains("heartbeat") || !IsObject(json["heartbeat"], "heartbeat", errors)) return;
  const Json& h = json["heartbeat"];
  CheckKeys(h, "heartbeat", "heartbeat", errors);
  study->heartbeat_interval_seconds =
      GetNumber(h, "interval", "heartbeat", errors, 0, true).value_or(10);
  study->heartbeat_grace_seconds = GetNumber(h, "grace", "heartbeat", errors, 0, true).value_or(60);
  if (study->heartbeat_grace_seconds < 2 * study->heartbeat_interval_seconds) {
    errors->Add("heartbeat.grace", "must be at least twice heartbeat.interval (got " +
                                       h.value("grace", Json(60)).dump() + ")");
  }
}

// "final": the final runs' budget and seeds. Needs study->seed and study->export_model.
// `seeds` is a count N (the seeds seed, seed + 1, ..., seed + N - 1: the first is the one
// every trial trained with) or a list of distinct seeds.
void ParseFinal(const Json& json, StudyFile* study, Errors* errors) {
  if (!json.contains("final") || !IsObject(json["final"], "final", errors)) return;
  const Json& f = json["final"];
  CheckKeys(f, "final", "final", errors);
  FinalSpec spec;
  // The bounds of the worker's max_epochs and patience hyperparameters.
  spec.max_epochs =
      static_cast<int>(GetInt(f, "max_epochs", "final", errors, 1, 100000).value_or(100));
  spec.patience = static_cast<int>(GetInt(f, "patience", "final", errors, 1, 100000).value_or(20));
  constexpr int64_t kMaxSeeds = 1000;
  auto it = f.find("seeds");
  if (it == f.end()) {
    errors->Add("final.seeds", "required (a number of seeds >= 1, or a list of seeds)");
  } else if (it->is_array()) {
    if (it->empty()) errors->Add("final.seeds", "expected at least one seed, got []");
    if (it->size() > static_cast<size_t>(kMaxSeeds)) {
      errors->Add("final.seeds", "at most " + std::to_string(kMaxSeeds) + " seeds (got " +
                                     std::to_string(it->size()) + ")");
    }
    std::set<int64_t> seen;
    for (size_t k = 0; k < it->size(); ++k) {
      const std::string path = "final.seeds[" + std::to_string(k) + "]";
      const Json& v = (*it)[k];
      const auto seed = AsInt64(v);
      if (!v.is_number_integer() || !seed || *seed < 0) {
        errors->Add(path, "expected a seed " + RangeText(0, INT64_MAX) + ", got " + v.dump());
      } else if (!seen.insert(*seed).second) {
        errors->Add(path, "seed " + v.dump() + " is listed twice");
      } else {
        spec.seeds.push_back(*seed);
      }
    }
  } else if (auto n = GetInt(f, "seeds", "final", errors, 1, kMaxSeeds)) {
    if (study->seed > INT64_MAX - (*n - 1)) {
      errors->Add("final.seeds", "seed + " + std::to_string(*n - 1) + " exceeds " +
                                     std::to_string(INT64_MAX) + ": list the seeds instead");
    } else {
      for (int64_t k = 0; k < *n; ++k) spec.seeds.push_back(study->seed + k);
    }
  }
  if (!study->export_model) {
    errors->Add("final",
                "the final runs evaluate and export the model: remove it or set "
                "export to true");
  }
  study->final_training = spec;
}

// "encoders": where a MixNet's encoders come from. Paths relative to the file.
void ParseEncoders(const Json& json, StudyFile* study, Errors* errors) {
  if (!json.contains("encoders") || !IsObject(json["encoders"], "encoders", errors)) return;
  const Json& e = json["encoders"];
  CheckKeys(e, "encoders", "encoders", errors);
  if (study->model_family != "mixnet") {
    errors->Add("encoders", "only a mixnet builds on other nets' encoders (model.family is \"" +
                                study->model_family + "\")");
  }
  EncodersSpec spec;
  for (const char* branch : {"audio", "feature"}) {
    const std::string path = std::string("encoders.") + branch;
    if (!e.contains(branch) || !IsObject(e[branch], path, errors)) continue;
    const Json& b = e[branch];
    CheckKeys(b, "encoder", path, errors);
    EncoderSource source;
    if (auto f = GetString(b, "study", path, errors, false))
      source.study = ResolvePath(study->dir, *f);
    if (auto m = GetString(b, "model", path, errors, false))
      source.model = ResolvePath(study->dir, *m);
    if (source.study.empty() == source.model.empty()) {
      errors->Add(path, "give exactly one of study (a study file) or model (an exported model)");
      continue;
    }
    (std::string(branch) == "audio" ? spec.audio : spec.feature) = source;
  }
  if (!spec.audio && !spec.feature) errors->Add("encoders", "name an audio or a feature source");
  spec.load_weights = GetBool(e, "load_weights", "encoders", errors).value_or(false);
  spec.freeze = GetBool(e, "freeze", "encoders", errors).value_or(false);
  if (spec.freeze && !spec.load_weights) {
    errors->Add("encoders.freeze",
                "frozen encoders need load_weights: true (else they stay random)");
  }
  study->encoders = spec;
}

}  // namespace

const std::vector<std::string>& StudyFileKeys(const std::string& object) {
  static const std::vector<std::string> kEmpty;
  auto it = KeyTable().find(object);
  return it == KeyTable().end() ? kEmpty : it->second;
}

Result<StudyFile> ParseStudyJson(const Json& json, const std::string& file_path) {
  StudyFile study;
  fs::path abs = fs::absolute(file_path).lexically_normal();
  study.path = abs.string();
  study.dir = abs.parent_path().string();
  if (!json.is_object()) {
    return Status::InvalidArgument(file_path + ": the study must be a JSON object, got " +
                                   TypeName(json));
  }
  Errors errors;
  CheckKeys(json, "study", "", &errors);
  ParseNameAndLocations(json, &study, &errors);
  ParseDataset(json, &study, &errors);
  ParseModel(json, &study, &errors);
  if (json.contains("fixed")) study.fixed = ParseFixed(json["fixed"], "fixed", &errors);
  ParseObjective(json, &study, &errors);
  const Json sampler = ParseStudyConfig(json, "sampler", Json{{"type", "tpe"}}, &errors);
  const Json pruner = ParseStudyConfig(json, "pruner", Json{{"type", "median"}}, &errors);
  ParseRetune(json, &study, &errors);
  ParseStages(json, sampler, pruner, &study, &errors);
  ParseWorkers(json, &study.workers, &errors);
  ParseRunOptions(json, &study, &errors);
  ParseHeartbeat(json, &study, &errors);
  ParseFinal(json, &study, &errors);
  ParseEncoders(json, &study, &errors);
  if (!errors.empty()) return Status::InvalidArgument(errors.Join(file_path));
  return study;
}

Result<Json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open the file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return Json::parse(buffer.str(), nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const Json::exception& e) {
    // parse_error for a syntax error (with its position), out_of_range for a number that
    // does not fit a double.
    return Status::InvalidArgument(path + ": not valid JSON: " + e.what());
  }
}

Result<StudyFile> LoadStudyFile(const std::string& path) {
  MGR_ASSIGN_OR_RETURN(Json json, ReadJsonFile(path));
  return ParseStudyJson(json, path);
}

}  // namespace mgr
