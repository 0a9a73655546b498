#include "samplers/sampler.h"

namespace mgr {

std::mt19937_64 TrialSeeder::Rng(const StudyView& study, const FrozenTrial& trial,
                                 std::string_view stream) {
  if (trial.number != number_ || study.study_name != study_) {
    number_ = trial.number;
    study_ = std::string(study.study_name);
    draws_.clear();
  }
  auto it = draws_.find(stream);
  if (it == draws_.end()) it = draws_.emplace(std::string(stream), 0).first;
  const uint64_t draw = it->second++;
  return std::mt19937_64(MixSeed({seed_, HashName(study.study_name),
                                  static_cast<uint64_t>(trial.number), HashName(stream), draw}));
}

}  // namespace mgr
