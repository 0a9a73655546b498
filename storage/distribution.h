// Parameter distributions, exactly as Optuna defines them.
//
// A parameter value has two representations: the external one the user sees (a float, an
// int, or one of a categorical's choices) and the internal float that samplers work on and
// that Optuna's `trial_params.param_value` column stores (the value itself for numbers,
// the index into `choices` for categoricals). DistributionToJson / DistributionFromJson
// read and write Optuna's `distribution_json`.
#ifndef MGR_STORAGE_DISTRIBUTION_H_
#define MGR_STORAGE_DISTRIBUTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/base/status.h"

namespace mgr {

using Json = nlohmann::json;

struct FloatDistribution {
  double low = 0.0;
  double high = 1.0;
  bool log = false;
  std::optional<double> step;  // exclusive with log
  bool operator==(const FloatDistribution& o) const {
    return low == o.low && high == o.high && log == o.log && step == o.step;
  }
};

struct IntDistribution {
  int64_t low = 0;
  int64_t high = 1;
  bool log = false;
  int64_t step = 1;  // must be 1 when log
  bool operator==(const IntDistribution& o) const {
    return low == o.low && high == o.high && log == o.log && step == o.step;
  }
};

// Choices are JSON scalars: strings, numbers, booleans or null.
struct CategoricalDistribution {
  std::vector<Json> choices;
  bool operator==(const CategoricalDistribution& o) const { return choices == o.choices; }
};

using Distribution = std::variant<FloatDistribution, IntDistribution, CategoricalDistribution>;

// Validating constructors. `name` is the parameter's name (or JSON path) used in
// messages. A step that does not divide the range lowers `high`, as Optuna does.
Result<Distribution> MakeFloatDistribution(const std::string& name, double low, double high,
                                           bool log = false,
                                           std::optional<double> step = std::nullopt);
Result<Distribution> MakeIntDistribution(const std::string& name, int64_t low, int64_t high,
                                         bool log = false, int64_t step = 1);
Result<Distribution> MakeCategoricalDistribution(const std::string& name,
                                                 std::vector<Json> choices);
// Re-checks an already built distribution (e.g. one read from a database).
Status ValidateDistribution(const std::string& name, const Distribution& dist);

// Optuna's distribution_json: {"name": "FloatDistribution", "attributes": {...}}.
// Reading also accepts Optuna's legacy names (UniformDistribution, IntUniformDistribution...).
Json DistributionToJson(const Distribution& dist);
std::string DistributionToJsonString(const Distribution& dist);  // byte-identical to Optuna
Result<Distribution> DistributionFromJson(const Json& json);
Result<Distribution> DistributionFromJsonString(const std::string& text);

// External <-> internal representation.
Result<double> ToInternal(const Distribution& dist, const Json& external);
Json ToExternal(const Distribution& dist, double internal);

// True if `internal` is a value the distribution can produce (bounds, step grid, index).
bool Contains(const Distribution& dist, double internal);
// True if the distribution has exactly one possible value.
bool IsSingle(const Distribution& dist);
// Optuna's check_distribution_compatibility: same kind, and equal choices for categoricals.
bool Compatible(const Distribution& a, const Distribution& b);

// Short human form: "float[1e-05, 0.1] log", "int[2, 10] step 2", "categorical[adam, sgd]".
std::string DistributionToString(const Distribution& dist);

}  // namespace mgr

#endif  // MGR_STORAGE_DISTRIBUTION_H_
