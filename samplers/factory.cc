// MakeSampler / MakePruner: study-file config -> objects. Every key is checked; unknown
// keys and bad values are InvalidArgument errors naming "sampler.<key>" / "pruner.<key>".
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "samplers/gp_sampler.h"
#include "samplers/pruner.h"
#include "samplers/pruners.h"
#include "samplers/qmc_sampler.h"
#include "samplers/random_sampler.h"
#include "samplers/sampler.h"
#include "samplers/tpe_sampler.h"

namespace mgr {
namespace {

// Reads typed keys from a JSON object and remembers which keys it knows.
class ConfigReader {
 public:
  ConfigReader(const Json& config, std::string prefix)
      : config_(config), prefix_(std::move(prefix)) {}

  Status Int(const std::string& key, int64_t min, int64_t* out) {
    known_.insert(key);
    auto it = config_.find(key);
    if (it == config_.end()) return Status::Ok();
    if (!it->is_number_integer() &&
        !(it->is_number_float() && std::floor(it->get<double>()) == it->get<double>())) {
      return Error(key, "must be an integer (got " + it->dump() + ")");
    }
    int64_t v =
        it->is_number_integer() ? it->get<int64_t>() : static_cast<int64_t>(it->get<double>());
    if (v < min)
      return Error(key, "must be >= " + std::to_string(min) + " (got " + it->dump() + ")");
    *out = v;
    return Status::Ok();
  }

  Status Seed(const std::string& key, uint64_t* out) {
    known_.insert(key);
    auto it = config_.find(key);
    if (it == config_.end()) return Status::Ok();
    if (!it->is_number_integer()) return Error(key, "must be an integer (got " + it->dump() + ")");
    if (it->is_number_unsigned()) {
      *out = it->get<uint64_t>();
    } else {
      int64_t v = it->get<int64_t>();
      if (v < 0) return Error(key, "must be >= 0 (got " + it->dump() + ")");
      *out = static_cast<uint64_t>(v);
    }
    return Status::Ok();
  }

  Status Double(const std::string& key, double min, double max, double* out) {
    known_.insert(key);
    auto it = config_.find(key);
    if (it == config_.end()) return Status::Ok();
    if (!it->is_number()) return Error(key, "must be a number (got " + it->dump() + ")");
    double v = it->get<double>();
    if (!(v >= min && v <= max)) {
      std::ostringstream range;
      range << "must be in [" << min << ", " << max << "] (got " << it->dump() << ")";
      return Error(key, range.str());
    }
    *out = v;
    return Status::Ok();
  }

  Status Bool(const std::string& key, bool* out) {
    known_.insert(key);
    auto it = config_.find(key);
    if (it == config_.end()) return Status::Ok();
    if (!it->is_boolean()) return Error(key, "must be true or false (got " + it->dump() + ")");
    *out = it->get<bool>();
    return Status::Ok();
  }

  Status Choice(const std::string& key, const std::vector<std::string>& choices, std::string* out) {
    known_.insert(key);
    auto it = config_.find(key);
    if (it == config_.end()) return Status::Ok();
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "\"" : ", \"") + c + "\"";
    if (it->is_string()) {
      for (const auto& c : choices) {
        if (it->get<std::string>() == c) {
          *out = c;
          return Status::Ok();
        }
      }
    }
    return Error(key, "must be one of " + list + " (got " + it->dump() + ")");
  }

  // A key whose value the caller reads itself (a nested object); null when absent.
  const Json* Raw(const std::string& key) {
    known_.insert(key);
    auto it = config_.find(key);
    return it == config_.end() ? nullptr : &*it;
  }

  // Call last: rejects keys nobody asked for.
  Status CheckUnknown() const {
    for (auto it = config_.begin(); it != config_.end(); ++it) {
      if (!known_.count(it.key())) {
        std::string list;
        for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
        return Error(it.key(), "unknown key (known: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Status Error(const std::string& key, const std::string& what) const {
    return Status::InvalidArgument(prefix_ + "." + key + ": " + what);
  }

 private:
  const Json& config_;
  std::string prefix_;
  std::set<std::string> known_;
};

Status CheckObject(const Json& config, const std::string& prefix) {
  if (!config.is_object()) {
    return Status::InvalidArgument(prefix + ": must be an object like {\"type\": ...} (got " +
                                   config.dump() + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Sampler>> MakeSampler(const Json& config) {
  MGR_RETURN_IF_ERROR(CheckObject(config, "sampler"));
  ConfigReader r(config, "sampler");
  std::string type = "tpe";
  MGR_RETURN_IF_ERROR(r.Choice("type", {"tpe", "random", "qmc", "gp"}, &type));
  uint64_t seed = 0;
  MGR_RETURN_IF_ERROR(r.Seed("seed", &seed));
  if (type == "random") {
    MGR_RETURN_IF_ERROR(r.CheckUnknown());
    return std::unique_ptr<Sampler>(new RandomSampler(seed));
  }
  if (type == "tpe") {
    TpeOptions o;
    o.seed = seed;
    MGR_RETURN_IF_ERROR(r.Int("n_startup_trials", 0, &o.n_startup_trials));
    MGR_RETURN_IF_ERROR(r.Int("n_ei_candidates", 1, &o.n_ei_candidates));
    MGR_RETURN_IF_ERROR(r.Bool("multivariate", &o.multivariate));
    MGR_RETURN_IF_ERROR(r.Bool("group", &o.group));
    MGR_RETURN_IF_ERROR(r.Bool("constant_liar", &o.constant_liar));
    MGR_RETURN_IF_ERROR(
        r.Double("prior_weight", 0.0, std::numeric_limits<double>::max(), &o.prior_weight));
    if (o.prior_weight <= 0.0) {
      return r.Error("prior_weight", "must be > 0 (got " + config["prior_weight"].dump() + ")");
    }
    MGR_RETURN_IF_ERROR(r.Bool("consider_magic_clip", &o.consider_magic_clip));
    MGR_RETURN_IF_ERROR(r.Bool("consider_endpoints", &o.consider_endpoints));
    MGR_RETURN_IF_ERROR(r.Bool("scott_bandwidth", &o.scott_bandwidth));
    MGR_RETURN_IF_ERROR(r.CheckUnknown());
    if (o.group && !o.multivariate) {
      return r.Error("group", "needs \"multivariate\": true");
    }
    return std::unique_ptr<Sampler>(new TpeSampler(o));
  }
  if (type == "gp") {
    GpOptions o;
    o.seed = seed;
    MGR_RETURN_IF_ERROR(r.Int("n_startup_trials", 0, &o.n_startup_trials));
    MGR_RETURN_IF_ERROR(r.Bool("deterministic_objective", &o.deterministic_objective));
    MGR_RETURN_IF_ERROR(r.CheckUnknown());
    return std::unique_ptr<Sampler>(new GpSampler(o));
  }
  QmcOptions q;
  q.seed = seed;
  std::string qmc_type = "sobol";
  MGR_RETURN_IF_ERROR(r.Choice("qmc_type", {"sobol", "halton"}, &qmc_type));
  q.type = qmc_type == "sobol" ? QmcType::kSobol : QmcType::kHalton;
  MGR_RETURN_IF_ERROR(r.Bool("scramble", &q.scramble));
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  return std::unique_ptr<Sampler>(new QmcSampler(q));
}

namespace {

constexpr double kHuge = std::numeric_limits<double>::max();

Result<std::unique_ptr<Pruner>> MakeThresholdPruner(const Json& config, ConfigReader& r) {
  ThresholdPrunerOptions o;
  if (!config.contains("lower") && !config.contains("upper")) {
    return r.Error("lower", "a threshold pruner needs lower, upper or both");
  }
  MGR_RETURN_IF_ERROR(r.Double("lower", -kHuge, kHuge, &o.lower));
  MGR_RETURN_IF_ERROR(r.Double("upper", -kHuge, kHuge, &o.upper));
  if (o.lower > o.upper) {
    return r.Error("lower", "must be <= upper (got " + config["lower"].dump() + " > " +
                                config["upper"].dump() + ")");
  }
  MGR_RETURN_IF_ERROR(r.Int("n_warmup_steps", 0, &o.n_warmup_steps));
  MGR_RETURN_IF_ERROR(r.Int("interval_steps", 1, &o.interval_steps));
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  return std::unique_ptr<Pruner>(new ThresholdPruner(o));
}

Result<std::unique_ptr<Pruner>> MakePatientPruner(const Json& config, ConfigReader& r) {
  if (!config.contains("patience")) {
    return r.Error("patience", "is required for type \"patient\" (an integer >= 0)");
  }
  int64_t patience = 0;
  double min_delta = 0.0;
  MGR_RETURN_IF_ERROR(r.Int("patience", 0, &patience));
  MGR_RETURN_IF_ERROR(r.Double("min_delta", 0.0, kHuge, &min_delta));
  std::unique_ptr<Pruner> wrapped;
  if (const Json* inner = r.Raw("wrapped")) {
    auto made = MakePruner(*inner);
    if (!made.ok()) {
      // Its messages name "pruner.<key>"; the key is pruner.wrapped.<key> here.
      std::string message = made.status().message();
      if (message.rfind("pruner", 0) == 0) message.insert(6, ".wrapped");
      return Status::InvalidArgument(message);
    }
    wrapped = std::move(*made);
  }
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  return std::unique_ptr<Pruner>(new PatientPruner(std::move(wrapped), patience, min_delta));
}

// An integer >= `min` or the string "auto" (nullopt).
Status IntOrAuto(const Json& config, ConfigReader& r, const std::string& key, int64_t min,
                 std::optional<int64_t>* out) {
  auto it = config.find(key);
  if (it != config.end() && it->is_string()) {
    r.Raw(key);
    if (it->get<std::string>() != "auto") {
      return r.Error(key, "must be \"auto\" or an integer >= " + std::to_string(min) + " (got " +
                              it->dump() + ")");
    }
    *out = std::nullopt;
    return Status::Ok();
  }
  int64_t v = 0;
  MGR_RETURN_IF_ERROR(r.Int(key, min, &v));
  if (it != config.end()) *out = v;
  return Status::Ok();
}

Result<std::unique_ptr<Pruner>> MakeSuccessiveHalvingPruner(const Json& config, ConfigReader& r) {
  SuccessiveHalvingPrunerOptions o;
  MGR_RETURN_IF_ERROR(IntOrAuto(config, r, "min_resource", 1, &o.min_resource));
  MGR_RETURN_IF_ERROR(r.Int("reduction_factor", 2, &o.reduction_factor));
  MGR_RETURN_IF_ERROR(r.Int("min_early_stopping_rate", 0, &o.min_early_stopping_rate));
  MGR_RETURN_IF_ERROR(r.Int("bootstrap_count", 0, &o.bootstrap_count));
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  if (o.bootstrap_count > 0 && !o.min_resource) {
    return r.Error("bootstrap_count", "> 0 needs an integer min_resource (not \"auto\")");
  }
  return std::unique_ptr<Pruner>(new SuccessiveHalvingPruner(o));
}

Result<std::unique_ptr<Pruner>> MakeHyperbandPruner(const Json& config, ConfigReader& r) {
  HyperbandPrunerOptions o;
  MGR_RETURN_IF_ERROR(r.Int("min_resource", 1, &o.min_resource));
  MGR_RETURN_IF_ERROR(IntOrAuto(config, r, "max_resource", 1, &o.max_resource));
  MGR_RETURN_IF_ERROR(r.Int("reduction_factor", 2, &o.reduction_factor));
  MGR_RETURN_IF_ERROR(r.Int("bootstrap_count", 0, &o.bootstrap_count));
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  if (o.max_resource && *o.max_resource < o.min_resource) {
    return r.Error("max_resource", "must be >= min_resource (got " +
                                       std::to_string(*o.max_resource) + " < " +
                                       std::to_string(o.min_resource) + ")");
  }
  if (o.bootstrap_count > 0 && !o.max_resource) {
    return r.Error("bootstrap_count", "> 0 needs an integer max_resource (not \"auto\")");
  }
  return std::unique_ptr<Pruner>(new HyperbandPruner(o));
}

Result<std::unique_ptr<Pruner>> MakeWilcoxonPruner(ConfigReader& r) {
  WilcoxonPrunerOptions o;
  MGR_RETURN_IF_ERROR(r.Double("p_threshold", 0.0, 1.0, &o.p_threshold));
  MGR_RETURN_IF_ERROR(r.Int("n_startup_steps", 0, &o.n_startup_steps));
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  return std::unique_ptr<Pruner>(new WilcoxonPruner(o));
}

}  // namespace

Result<std::unique_ptr<Pruner>> MakePruner(const Json& config) {
  MGR_RETURN_IF_ERROR(CheckObject(config, "pruner"));
  ConfigReader r(config, "pruner");
  std::string type = "median";
  MGR_RETURN_IF_ERROR(r.Choice("type",
                               {"median", "percentile", "threshold", "patient",
                                "successive_halving", "hyperband", "wilcoxon", "nop"},
                               &type));
  if (type == "nop") {
    MGR_RETURN_IF_ERROR(r.CheckUnknown());
    return std::unique_ptr<Pruner>(new NopPruner());
  }
  if (type == "threshold") return MakeThresholdPruner(config, r);
  if (type == "patient") return MakePatientPruner(config, r);
  if (type == "successive_halving") return MakeSuccessiveHalvingPruner(config, r);
  if (type == "hyperband") return MakeHyperbandPruner(config, r);
  if (type == "wilcoxon") return MakeWilcoxonPruner(r);
  PercentilePrunerOptions o;
  if (type == "percentile") {
    if (!config.contains("percentile")) {
      return r.Error("percentile", "is required for type \"percentile\" (a number in [0, 100])");
    }
    MGR_RETURN_IF_ERROR(r.Double("percentile", 0.0, 100.0, &o.percentile));
  }
  MGR_RETURN_IF_ERROR(r.Int("n_startup_trials", 0, &o.n_startup_trials));
  MGR_RETURN_IF_ERROR(r.Int("n_warmup_steps", 0, &o.n_warmup_steps));
  MGR_RETURN_IF_ERROR(r.Int("interval_steps", 1, &o.interval_steps));
  MGR_RETURN_IF_ERROR(r.Int("n_min_trials", 1, &o.n_min_trials));
  MGR_RETURN_IF_ERROR(r.CheckUnknown());
  if (type == "median") return std::unique_ptr<Pruner>(new MedianPruner(o));
  return std::unique_ptr<Pruner>(new PercentilePruner(o));
}

}  // namespace mgr
