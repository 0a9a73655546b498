// TrainingError: the one exception type trainer/ throws for an expected failure of a trial.
// The worker turns it (and c10::Error) into an `error` event at a single place; nothing
// else in mgr-tune sees exceptions.
#ifndef MGR_TRAINER_MODELS_TRAINING_ERROR_H_
#define MGR_TRAINER_MODELS_TRAINING_ERROR_H_

#include <stdexcept>
#include <string>

namespace mgr {

class TrainingError : public std::runtime_error {
 public:
  // The `kind` of the worker protocol's `error` event.
  enum class Kind { kSpec, kData, kOom, kNan, kInternal };

  TrainingError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const { return kind_; }
  // "spec", "data", "oom", "nan", "internal".
  static const char* KindName(Kind kind) {
    switch (kind) {
      case Kind::kSpec:
        return "spec";
      case Kind::kData:
        return "data";
      case Kind::kOom:
        return "oom";
      case Kind::kNan:
        return "nan";
      case Kind::kInternal:
        return "internal";
    }
    return "internal";
  }

 private:
  Kind kind_;
};

}  // namespace mgr

#endif  // MGR_TRAINER_MODELS_TRAINING_ERROR_H_
