// Dynamic loss scaling for fp16 training, with torch.cuda.amp.GradScaler's semantics:
// the loss is multiplied by `scale` before backward; before the optimizer step the
// gradients are divided by it, and when any is inf/nan the step is skipped and the scale
// multiplied by backoff_factor; after growth_interval steps in a row without one, the
// scale is multiplied by growth_factor.
#ifndef MGR_TRAINER_TRAINING_GRAD_SCALER_H_
#define MGR_TRAINER_TRAINING_GRAD_SCALER_H_

#include <cstdint>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "storage/base/status.h"

namespace mgr {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

// One training loop's scaler; not thread-safe. Use per step: Scale(loss).backward();
// Step(optimizer); Update().
class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale.
  torch::Tensor Scale(const torch::Tensor& loss) const;
  // Divides the gradients of `optimizer`'s parameters by the scale, in place, once per
  // step (a second call before Update does nothing); records whether any is inf/nan.
  void Unscale(torch::optim::Optimizer& optimizer);
  // Unscales if not yet done, then steps `optimizer` unless a gradient was inf/nan.
  // Returns whether it stepped.
  bool Step(torch::optim::Optimizer& optimizer);
  // Adjusts the scale after the step (backoff or growth) and readies the next step.
  void Update();

  double scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }  // clean steps in a row

  // {"scale", "growth_tracker"}: for the checkpoint, so that a resumed run scales alike.
  nlohmann::json ToJson() const;
  // Restores ToJson's state; InvalidArgument naming the field when malformed.
  Status FromJson(const nlohmann::json& state);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
  bool unscaled_ = false;   // Unscale ran in this step
  bool found_inf_ = false;  // ... and saw an inf/nan gradient
};

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_GRAD_SCALER_H_
