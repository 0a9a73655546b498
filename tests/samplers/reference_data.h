// Loads tests/samplers/data/tpe_reference.json (made by tools/optuna_reference/tpe_reference.py).
#ifndef MGR_TESTS_SAMPLERS_REFERENCE_DATA_H_
#define MGR_TESTS_SAMPLERS_REFERENCE_DATA_H_

#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include "storage/distribution.h"

namespace mgr {
namespace testing_util {

inline const Json& TpeReference() {
  static const Json data = [] {
    std::ifstream f(std::string(MGR_SOURCE_DIR) + "/tests/samplers/data/tpe_reference.json");
    return Json::parse(f);
  }();
  return data;
}

// A JSON number, or "nan" / "inf" / "-inf", or null (NaN).
inline double Num(const Json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_SAMPLERS_REFERENCE_DATA_H_
