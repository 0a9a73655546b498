// Fuzz target: Optuna's distribution_json (storage/distribution.h), as read back from a
// database. The input is the JSON text. Checks, besides the sanitizers, that a distribution
// that parses is valid, survives DistributionToJsonString and a re-read unchanged (and the
// re-written text is stable), contains its own bounds, and maps its values to external and
// back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "storage/distribution.h"

namespace {

void Check(bool ok, const char* what, const std::string& detail) {
  if (ok) return;
  std::fprintf(stderr, "distribution_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = mgr::DistributionFromJsonString(text);
  if (!parsed.ok()) return 0;
  const mgr::Distribution& dist = *parsed;
  const std::string shown = mgr::DistributionToString(dist);
  Check(mgr::ValidateDistribution("d", dist).ok(), "parsed but invalid", shown);

  const std::string written = mgr::DistributionToJsonString(dist);
  auto reread = mgr::DistributionFromJsonString(written);
  Check(reread.ok(), "written distribution_json does not parse", written);
  Check(*reread == dist, "written distribution_json reads differently", written);
  Check(mgr::DistributionToJsonString(*reread) == written, "re-written text differs", written);
  Check(mgr::DistributionToJson(dist) == mgr::Json::parse(written), "DistributionToJson differs",
        written);

  (void)mgr::IsSingle(dist);
  Check(mgr::Compatible(dist, *reread), "not compatible with itself", shown);
  if (const auto* f = std::get_if<mgr::FloatDistribution>(&dist)) {
    Check(mgr::Contains(dist, f->low), "does not contain low", shown);
    if (!f->step) Check(mgr::Contains(dist, f->high), "does not contain high", shown);
  } else if (const auto* i = std::get_if<mgr::IntDistribution>(&dist)) {
    // Integer bounds are read exactly, as Python reads them (not through a double).
    const mgr::Json json = mgr::Json::parse(text);
    const mgr::Json& low = json["attributes"]["low"];
    if (low.is_number_integer()) Check(low == i->low, "low read inexactly", shown);
    // Internal values are doubles: only integers up to 2^53 are exact.
    const bool exact = i->low >= -(int64_t{1} << 53) && i->low <= (int64_t{1} << 53);
    Check(!exact || mgr::Contains(dist, static_cast<double>(i->low)), "does not contain low",
          shown);
    (void)mgr::Contains(dist, static_cast<double>(i->high));
  } else {
    const auto& choices = std::get<mgr::CategoricalDistribution>(dist).choices;
    for (size_t k = 0; k < choices.size(); ++k) {
      Check(mgr::Contains(dist, static_cast<double>(k)), "does not contain a choice index", shown);
      const mgr::Json external = mgr::ToExternal(dist, static_cast<double>(k));
      Check(external == choices[k], "ToExternal is not the choice", shown);
      auto internal = mgr::ToInternal(dist, external);
      Check(internal.ok(), "ToInternal rejects a choice", shown);
      // Equal choices of different JSON types (1 and 1.0) map to the first, as in Optuna.
      Check(mgr::ToExternal(dist, *internal) == external, "ToInternal picks another value", shown);
    }
  }
  return 0;
}
