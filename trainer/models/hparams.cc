#include "trainer/models/hparams.h"

#include <cmath>
#include <limits>
#include <map>
#include <sstream>

namespace mgr {
namespace {

enum class Type { kInt, kFloat, kBool, kString };
enum FamilyBits { kN1 = 1, kN2 = 2, kMix = 4, kAll = 7 };

struct Def {
  const char* name;  // without the _{i} suffix for indexed names
  Type type;
  double min, max;  // inclusive bounds for numbers
  bool min_open;    // (min, max] instead of [min, max]
  bool max_open;    // [min, max) instead of [min, max]
  bool indexed;     // name_{i}
  int families;
  const char* choices;  // "a|b" for strings
};

constexpr double kInf = std::numeric_limits<double>::infinity();

// The table docs/hyperparameters.md documents. Keep both in step.
const Def kDefs[] = {
    {"optimizer", Type::kString, 0, 0, false, false, false, kAll, "adam|sgd"},
    {"lr", Type::kFloat, 0, 1, true, false, false, kAll, nullptr},
    {"weight_decay", Type::kFloat, 0, 1, false, false, false, kAll, nullptr},
    {"beta1", Type::kFloat, 0, 1, false, true, false, kAll, nullptr},
    {"beta2", Type::kFloat, 0, 1, false, true, false, kAll, nullptr},
    {"eps", Type::kFloat, 0, 1, true, false, false, kAll, nullptr},
    {"momentum", Type::kFloat, 0, 1, false, true, false, kAll, nullptr},
    {"batch_size", Type::kInt, 1, 4096, false, false, false, kAll, nullptr},
    {"max_epochs", Type::kInt, 1, 100000, false, false, false, kAll, nullptr},
    {"patience", Type::kInt, 1, 100000, false, false, false, kAll, nullptr},
    {"min_delta", Type::kFloat, 0, kInf, false, false, false, kAll, nullptr},
    {"precision", Type::kString, 0, 0, false, false, false, kAll, "fp32|bf16|fp16"},
    {"monitor", Type::kString, 0, 0, false, false, false, kAll, "val_loss|val_track_loss"},
    {"batch_norm", Type::kBool, 0, 0, false, false, false, kN1 | kN2, nullptr},
    {"audio_batch_norm", Type::kBool, 0, 0, false, false, false, kMix, nullptr},
    {"feature_batch_norm", Type::kBool, 0, 0, false, false, false, kMix, nullptr},
    // Paths ("" = none) of a trained NNET1 / NNET2 whose encoder initialises MixNet's branch.
    {"init_audio_encoder", Type::kString, 0, 0, false, false, false, kMix, nullptr},
    {"init_feature_encoder", Type::kString, 0, 0, false, false, false, kMix, nullptr},
    {"freeze_encoders", Type::kBool, 0, 0, false, false, false, kMix, nullptr},
    {"dense_layers", Type::kInt, 0, kMaxDenseLayers, false, false, false, kAll, nullptr},
    {"dense_units", Type::kInt, 1, 16384, false, false, true, kAll, nullptr},
    {"dropout", Type::kFloat, 0, 1, false, true, false, kAll, nullptr},
    {"dropout", Type::kFloat, 0, 1, false, true, true, kAll, nullptr},
    {"conv_layers", Type::kInt, 1, kMaxConvLayers, false, false, false, kN1 | kMix, nullptr},
    {"conv_channels", Type::kInt, 1, 4096, false, false, true, kN1 | kMix, nullptr},
    {"conv_kernel", Type::kInt, 1, 1 << 20, false, false, true, kN1 | kMix, nullptr},
    {"conv_stride", Type::kInt, 1, 1 << 16, false, false, true, kN1 | kMix, nullptr},
    {"pool", Type::kInt, 1, 1 << 16, false, false, true, kN1 | kMix, nullptr},
    {"aug_noise_p", Type::kFloat, 0, 1, false, false, false, kN1 | kMix, nullptr},
    {"aug_time_mask_p", Type::kFloat, 0, 1, false, false, false, kN1 | kMix, nullptr},
    {"aug_noise_min", Type::kFloat, 0, 1, false, false, false, kN1 | kMix, nullptr},
    {"aug_noise_max", Type::kFloat, 0, 1, false, false, false, kN1 | kMix, nullptr},
    {"aug_time_mask_min", Type::kFloat, 0, 1, false, false, false, kN1 | kMix, nullptr},
    {"aug_time_mask_max", Type::kFloat, 0, 1, false, false, false, kN1 | kMix, nullptr},
    {"feature", Type::kString, 0, 0, false, false, false, kN2 | kMix, "mfcc|mel"},
    {"normalization", Type::kString, 0, 0, false, false, false, kN2 | kMix, "clip|dataset|none"},
    {"n_mels", Type::kInt, 8, 512, false, false, false, kN2 | kMix, nullptr},
    {"n_mfcc", Type::kInt, 1, 512, false, false, false, kN2 | kMix, nullptr},
    {"res_channels", Type::kInt, 1, 4096, false, false, false, kN2 | kMix, nullptr},
    {"res_kernel", Type::kInt, 1, 1024, false, false, false, kN2 | kMix, nullptr},
    {"res_blocks", Type::kInt, 0, 16, false, false, false, kN2 | kMix, nullptr},
    {"aug_spec_time_p", Type::kFloat, 0, 1, false, false, false, kN2 | kMix, nullptr},
    {"aug_spec_coef_p", Type::kFloat, 0, 1, false, false, false, kN2 | kMix, nullptr},
    {"aug_spec_noise_p", Type::kFloat, 0, 1, false, false, false, kN2 | kMix, nullptr},
    {"aug_spec_time_max", Type::kInt, 0, 100000, false, false, false, kN2 | kMix, nullptr},
    {"aug_spec_coef_max", Type::kInt, 0, 512, false, false, false, kN2 | kMix, nullptr},
    {"aug_spec_noise_std", Type::kFloat, 0, 10, false, false, false, kN2 | kMix, nullptr},
    // Data settings: override the spec's data.sample_rate / data.clip_samples when given
    // (absent = the spec's values; the flat form carries them only when given).
    {"sample_rate", Type::kInt, 1000, 384000, false, false, false, kAll, nullptr},
    {"clip_samples", Type::kInt, 1, 1 << 26, false, false, false, kAll, nullptr},
};

int FamilyBit(const std::string& family) {
  if (family == kFamilyNnet1) return kN1;
  if (family == kFamilyNnet2) return kN2;
  if (family == kFamilyMixNet) return kMix;
  return 0;
}

// Finds the definition of a flat name ("conv_kernel_3" -> conv_kernel, index 3).
const Def* FindDef(const std::string& name, int* index) {
  *index = -1;
  for (const Def& d : kDefs) {
    if (!d.indexed && name == d.name) return &d;
  }
  size_t underscore = name.rfind('_');
  if (underscore == std::string::npos || underscore + 1 >= name.size()) return nullptr;
  std::string base = name.substr(0, underscore), digits = name.substr(underscore + 1);
  if (digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos ||
      (digits.size() > 1 && digits[0] == '0')) {
    return nullptr;
  }
  for (const Def& d : kDefs) {
    if (d.indexed && base == d.name) {
      *index = std::stoi(digits);
      return &d;
    }
  }
  return nullptr;
}

std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string RangeText(const Def& d) {
  std::string lo = d.min_open ? "(" : "[", hi = d.max_open ? ")" : "]";
  std::string max = std::isinf(d.max) ? "inf" : Num(d.max);
  return lo + Num(d.min) + ", " + max + hi;
}

// Checks the type and range of one value; "hparams.<name>: ..." on error.
Status CheckValue(const std::string& name, const Def& d, const Json& v) {
  const std::string where = "hparams." + name;
  switch (d.type) {
    case Type::kBool:
      if (v.is_boolean()) return Status::Ok();
      if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) {
        return Status::Ok();
      }
      return Status::InvalidArgument(where + ": must be a boolean, got " + v.dump());
    case Type::kString: {
      if (d.choices == nullptr) {  // free text (a path)
        if (v.is_string()) return Status::Ok();
        return Status::InvalidArgument(where + ": must be a string, got " + v.dump());
      }
      if (!v.is_string()) {
        return Status::InvalidArgument(where + ": must be one of " + d.choices + ", got " +
                                       v.dump());
      }
      std::string choices = std::string("|") + d.choices + "|";
      if (choices.find("|" + v.get<std::string>() + "|") == std::string::npos) {
        return Status::InvalidArgument(where + ": must be one of " + d.choices + ", got " +
                                       v.dump());
      }
      return Status::Ok();
    }
    case Type::kInt:
    case Type::kFloat: {
      if (!v.is_number() || v.is_boolean()) {
        return Status::InvalidArgument(where + ": must be a number, got " + v.dump());
      }
      double x = v.get<double>();
      if (!std::isfinite(x)) return Status::InvalidArgument(where + ": must be finite");
      if (d.type == Type::kInt && x != std::floor(x)) {
        return Status::InvalidArgument(where + ": must be an integer, got " + v.dump());
      }
      bool low_ok = d.min_open ? x > d.min : x >= d.min;
      bool high_ok = d.max_open ? x < d.max : x <= d.max;
      if (!low_ok || !high_ok) {
        return Status::InvalidArgument(where + ": must be in " + RangeText(d) + ", got " +
                                       v.dump());
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

bool GetBool(const Json& v) { return v.is_boolean() ? v.get<bool>() : v.get<int64_t>() != 0; }
int64_t GetInt(const Json& v) { return static_cast<int64_t>(std::llround(v.get<double>())); }

Json PaperNnet1() {
  // c1 1->64 k128 s32 pool4; c2 ->128 k32 s2 pool2; c3 ->256 k16 s2 pool2; c4 ->512 k8 s2.
  Json j = {{"optimizer", "adam"},      {"lr", 1e-4},
            {"weight_decay", 0.005},    {"batch_size", 64},
            {"aug_noise_p", 0.5},       {"aug_time_mask_p", 1.0},
            {"conv_layers", 4},         {"dense_layers", 4},
            {"dropout", 0.0},           {"aug_noise_min", 0.001},
            {"aug_noise_max", 0.015},   {"aug_time_mask_min", 0.10},
            {"aug_time_mask_max", 0.15}};
  const int64_t ch[] = {64, 128, 256, 512}, k[] = {128, 32, 16, 8}, s[] = {32, 2, 2, 2},
                p[] = {4, 2, 2, 1};
  for (int i = 0; i < 4; ++i) {
    std::string n = std::to_string(i);
    j["conv_channels_" + n] = ch[i];
    j["conv_kernel_" + n] = k[i];
    j["conv_stride_" + n] = s[i];
    j["pool_" + n] = p[i];
  }
  const int64_t units[] = {512, 128, 128, 64};
  for (int i = 0; i < 4; ++i) j["dense_units_" + std::to_string(i)] = units[i];
  return j;
}

Json Paper2d(Json j) {
  j["feature"] = "mfcc";
  j["normalization"] = "clip";
  j["n_mels"] = 128;
  j["n_mfcc"] = 20;
  j["aug_spec_time_max"] = 30;
  j["aug_spec_coef_max"] = 2;
  j["aug_spec_noise_std"] = 0.015;
  j["res_channels"] = 256;
  j["res_kernel"] = 4;
  j["res_blocks"] = 1;
  j["aug_spec_time_p"] = 0.5;
  j["aug_spec_coef_p"] = 0.5;
  j["aug_spec_noise_p"] = 0.5;
  return j;
}

Json Common(Json j, int bit) {
  const Json common = {{"beta1", 0.9},      {"beta2", 0.999},      {"eps", 1e-8},
                       {"momentum", 0.9},   {"max_epochs", 100},   {"patience", 20},
                       {"min_delta", 0.01}, {"precision", "fp32"}, {"monitor", "val_loss"}};
  for (auto& [k, v] : common.items()) j[k] = v;
  if (bit == kMix) {
    j["audio_batch_norm"] = true;
    j["feature_batch_norm"] = true;
    j["init_audio_encoder"] = "";
    j["init_feature_encoder"] = "";
    j["freeze_encoders"] = false;
  } else {
    j["batch_norm"] = true;
  }
  return j;
}

// Names a family no longer accepts, with the message saying what replaced them.
struct Renamed {
  int families;
  const char* name;
  const char* message;
};
const Renamed kRenamed[] = {
    {kMix, "batch_norm", "mixnet has audio_batch_norm and feature_batch_norm"},
    {kAll, "standardize", "replaced by normalization (clip, dataset or none)"},
};

// Per-layer value i of `base`: flat[base_i] if present, else the previous layer's value.
Json LayerValue(const Json& flat, const std::string& base, int i, const Json& previous) {
  auto it = flat.find(base + "_" + std::to_string(i));
  return it != flat.end() ? *it : previous;
}

}  // namespace

bool IsKnownFamily(const std::string& family) { return FamilyBit(family) != 0; }

std::vector<std::string> HParamNames(const std::string& family) {
  std::vector<std::string> names;
  int bit = FamilyBit(family);
  for (const Def& d : kDefs) {
    if (d.families & bit) names.push_back(std::string(d.name) + (d.indexed ? "_{i}" : ""));
  }
  return names;
}

Result<Json> PresetHParams(const std::string& family, const std::string& preset) {
  if (preset != "paper" && !preset.empty()) {
    return Status::InvalidArgument("model.preset: unknown preset \"" + preset +
                                   "\" (known: \"paper\", or \"\" for the same)");
  }
  if (family == kFamilyNnet1) return Common(PaperNnet1(), kN1);
  if (family == kFamilyNnet2) {
    Json j = {{"optimizer", "adam"},  {"lr", 5e-5},          {"weight_decay", 0.005},
              {"batch_size", 64},     {"dense_layers", 3},   {"dense_units_0", 1024},
              {"dense_units_1", 256}, {"dense_units_2", 64}, {"dropout", 0.1}};
    return Common(Paper2d(j), kN2);
  }
  if (family == kFamilyMixNet) {
    Json j = PaperNnet1();
    j["lr"] = 5e-5;
    j["weight_decay"] = 0.0;
    j["batch_size"] = 32;
    j["dense_layers"] = 3;
    j["dense_units_0"] = 512;
    j["dense_units_1"] = 256;
    j["dense_units_2"] = 128;
    j.erase("dense_units_3");
    j["dropout"] = 0.1;
    return Common(Paper2d(j), kMix);
  }
  return Status::InvalidArgument("model.family: unknown family \"" + family +
                                 "\" (known: nnet1, nnet2, mixnet)");
}

Result<HParams> ResolveHParams(const std::string& family, const std::string& preset,
                               const Json& overrides) {
  MGR_ASSIGN_OR_RETURN(Json flat, PresetHParams(family, preset));
  if (!overrides.is_null() && !overrides.is_object()) {
    return Status::InvalidArgument("hparams: must be an object of name: value");
  }
  const int bit = FamilyBit(family);
  // Validate every given name before merging so that errors name what the user wrote.
  bool dropout_given = false;
  if (overrides.is_object()) {
    for (auto& [name, value] : overrides.items()) {
      int index = -1;
      for (const Renamed& r : kRenamed) {
        if ((r.families & bit) && name == r.name) {
          return Status::InvalidArgument("hparams." + name + ": " + r.message);
        }
      }
      const Def* d = FindDef(name, &index);
      if (d == nullptr || !(d->families & bit)) {
        std::string known;
        for (const std::string& n : HParamNames(family)) known += (known.empty() ? "" : ", ") + n;
        return Status::InvalidArgument("hparams." + name + ": unknown hyperparameter for " +
                                       family + " (known: " + known + ")");
      }
      int max_index =
          std::string(d->name).rfind("dense", 0) == 0 || std::string(d->name) == "dropout"
              ? kMaxDenseLayers
              : kMaxConvLayers;
      if (d->indexed && index >= max_index) {
        return Status::InvalidArgument("hparams." + name + ": layer index must be < " +
                                       std::to_string(max_index));
      }
      MGR_RETURN_IF_ERROR(CheckValue(name, *d, value));
      if (name == "dropout") dropout_given = true;
    }
    for (auto& [name, value] : overrides.items()) flat[name] = value;
  }
  (void)dropout_given;

  HParams hp;
  hp.optimizer = flat["optimizer"].get<std::string>();
  hp.lr = flat["lr"].get<double>();
  hp.weight_decay = flat["weight_decay"].get<double>();
  hp.beta1 = flat["beta1"].get<double>();
  hp.beta2 = flat["beta2"].get<double>();
  hp.eps = flat["eps"].get<double>();
  hp.momentum = flat["momentum"].get<double>();
  hp.batch_size = GetInt(flat["batch_size"]);
  hp.max_epochs = static_cast<int>(GetInt(flat["max_epochs"]));
  hp.patience = static_cast<int>(GetInt(flat["patience"]));
  hp.min_delta = flat["min_delta"].get<double>();
  if (bit & (kN1 | kN2)) hp.batch_norm = GetBool(flat["batch_norm"]);
  if (bit & kMix) {
    hp.audio_batch_norm = GetBool(flat["audio_batch_norm"]);
    hp.feature_batch_norm = GetBool(flat["feature_batch_norm"]);
    hp.init_audio_encoder = flat["init_audio_encoder"].get<std::string>();
    hp.init_feature_encoder = flat["init_feature_encoder"].get<std::string>();
    hp.freeze_encoders = GetBool(flat["freeze_encoders"]);
  }
  hp.precision = flat["precision"].get<std::string>();
  hp.monitor = flat["monitor"].get<std::string>();

  const int dense_layers = static_cast<int>(GetInt(flat["dense_layers"]));
  Json units = nullptr;
  Json drop = flat["dropout"];
  for (int i = 0; i < dense_layers; ++i) {
    units = LayerValue(flat, "dense_units", i, units);
    if (units.is_null()) {
      return Status::InvalidArgument("hparams.dense_units_" + std::to_string(i) +
                                     ": required (dense_layers is " + std::to_string(dense_layers) +
                                     ")");
    }
    hp.dense_units.push_back(GetInt(units));
    // dropout_{i} wins over dropout, which sets every layer.
    auto it = flat.find("dropout_" + std::to_string(i));
    hp.dropout.push_back(it != flat.end() ? it->get<double>() : drop.get<double>());
  }

  if (bit & (kN1 | kMix)) {
    const int layers = static_cast<int>(GetInt(flat["conv_layers"]));
    Json ch = nullptr, k = nullptr, s = nullptr, p = nullptr;
    for (int i = 0; i < layers; ++i) {
      ch = LayerValue(flat, "conv_channels", i, ch);
      k = LayerValue(flat, "conv_kernel", i, k);
      s = LayerValue(flat, "conv_stride", i, s);
      p = LayerValue(flat, "pool", i, p);
      hp.conv.push_back({GetInt(ch), GetInt(k), GetInt(s), GetInt(p)});
    }
    hp.aug_noise_p = flat["aug_noise_p"].get<double>();
    hp.aug_time_mask_p = flat["aug_time_mask_p"].get<double>();
    hp.aug_noise_min = flat["aug_noise_min"].get<double>();
    hp.aug_noise_max = flat["aug_noise_max"].get<double>();
    hp.aug_time_mask_min = flat["aug_time_mask_min"].get<double>();
    hp.aug_time_mask_max = flat["aug_time_mask_max"].get<double>();
    if (hp.aug_noise_min > hp.aug_noise_max) {
      return Status::InvalidArgument("hparams.aug_noise_min: must be <= aug_noise_max (" +
                                     Num(hp.aug_noise_max) + "), got " + Num(hp.aug_noise_min));
    }
    if (hp.aug_time_mask_min > hp.aug_time_mask_max) {
      return Status::InvalidArgument("hparams.aug_time_mask_min: must be <= aug_time_mask_max (" +
                                     Num(hp.aug_time_mask_max) + "), got " +
                                     Num(hp.aug_time_mask_min));
    }
  }
  if (bit & (kN2 | kMix)) {
    hp.feature = flat["feature"].get<std::string>();
    hp.normalization = flat["normalization"].get<std::string>();
    hp.n_mels = GetInt(flat["n_mels"]);
    hp.n_mfcc = GetInt(flat["n_mfcc"]);
    if (hp.n_mfcc > hp.n_mels) {
      return Status::InvalidArgument(
          "hparams.n_mfcc: must be in [1, n_mels = " + std::to_string(hp.n_mels) + "], got " +
          std::to_string(hp.n_mfcc));
    }
    hp.aug_spec_time_max = GetInt(flat["aug_spec_time_max"]);
    hp.aug_spec_coef_max = GetInt(flat["aug_spec_coef_max"]);
    hp.aug_spec_noise_std = flat["aug_spec_noise_std"].get<double>();
    hp.res_channels = GetInt(flat["res_channels"]);
    hp.res_kernel = GetInt(flat["res_kernel"]);
    hp.res_blocks = GetInt(flat["res_blocks"]);
    hp.aug_spec_time_p = flat["aug_spec_time_p"].get<double>();
    hp.aug_spec_coef_p = flat["aug_spec_coef_p"].get<double>();
    hp.aug_spec_noise_p = flat["aug_spec_noise_p"].get<double>();
  }
  if (flat.contains("sample_rate")) hp.sample_rate = static_cast<int>(GetInt(flat["sample_rate"]));
  if (flat.contains("clip_samples")) hp.clip_samples = GetInt(flat["clip_samples"]);
  return hp;
}

Json HParamsToJson(const std::string& family, const HParams& hp) {
  const int bit = FamilyBit(family);
  Json j = {{"optimizer", hp.optimizer},
            {"lr", hp.lr},
            {"weight_decay", hp.weight_decay},
            {"beta1", hp.beta1},
            {"beta2", hp.beta2},
            {"eps", hp.eps},
            {"momentum", hp.momentum},
            {"batch_size", hp.batch_size},
            {"max_epochs", hp.max_epochs},
            {"patience", hp.patience},
            {"min_delta", hp.min_delta},
            {"precision", hp.precision},
            {"dense_layers", static_cast<int64_t>(hp.dense_units.size())}};
  // Only when set: the default leaves the hyperparameters (and so every trial's identity and
  // checkpoint) as they were before the key existed.
  if (hp.monitor != "val_loss") j["monitor"] = hp.monitor;
  if (bit & (kN1 | kN2)) j["batch_norm"] = hp.batch_norm;
  if (bit & kMix) {
    j["audio_batch_norm"] = hp.audio_batch_norm;
    j["feature_batch_norm"] = hp.feature_batch_norm;
    j["init_audio_encoder"] = hp.init_audio_encoder;
    j["init_feature_encoder"] = hp.init_feature_encoder;
    j["freeze_encoders"] = hp.freeze_encoders;
  }
  // `dropout` is required by the resolver as the default of every layer; per-layer values
  // carry the truth.
  j["dropout"] = hp.dropout.empty() ? 0.0 : hp.dropout[0];
  for (size_t i = 0; i < hp.dense_units.size(); ++i) {
    j["dense_units_" + std::to_string(i)] = hp.dense_units[i];
    j["dropout_" + std::to_string(i)] = hp.dropout[i];
  }
  if (bit & (kN1 | kMix)) {
    j["conv_layers"] = static_cast<int64_t>(hp.conv.size());
    for (size_t i = 0; i < hp.conv.size(); ++i) {
      std::string n = std::to_string(i);
      j["conv_channels_" + n] = hp.conv[i].channels;
      j["conv_kernel_" + n] = hp.conv[i].kernel;
      j["conv_stride_" + n] = hp.conv[i].stride;
      j["pool_" + n] = hp.conv[i].pool;
    }
    j["aug_noise_p"] = hp.aug_noise_p;
    j["aug_time_mask_p"] = hp.aug_time_mask_p;
    j["aug_noise_min"] = hp.aug_noise_min;
    j["aug_noise_max"] = hp.aug_noise_max;
    j["aug_time_mask_min"] = hp.aug_time_mask_min;
    j["aug_time_mask_max"] = hp.aug_time_mask_max;
  }
  if (bit & (kN2 | kMix)) {
    j["feature"] = hp.feature;
    j["normalization"] = hp.normalization;
    j["n_mels"] = hp.n_mels;
    j["n_mfcc"] = hp.n_mfcc;
    j["aug_spec_time_max"] = hp.aug_spec_time_max;
    j["aug_spec_coef_max"] = hp.aug_spec_coef_max;
    j["aug_spec_noise_std"] = hp.aug_spec_noise_std;
    j["res_channels"] = hp.res_channels;
    j["res_kernel"] = hp.res_kernel;
    j["res_blocks"] = hp.res_blocks;
    j["aug_spec_time_p"] = hp.aug_spec_time_p;
    j["aug_spec_coef_p"] = hp.aug_spec_coef_p;
    j["aug_spec_noise_p"] = hp.aug_spec_noise_p;
  }
  if (hp.sample_rate > 0) j["sample_rate"] = hp.sample_rate;
  if (hp.clip_samples > 0) j["clip_samples"] = hp.clip_samples;
  return j;
}

}  // namespace mgr
