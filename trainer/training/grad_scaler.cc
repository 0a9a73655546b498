#include "trainer/training/grad_scaler.h"

#include <cmath>

namespace mgr {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {}

torch::Tensor GradScaler::Scale(const torch::Tensor& loss) const { return loss * scale_; }

void GradScaler::Unscale(torch::optim::Optimizer& optimizer) {
  if (unscaled_) return;
  unscaled_ = true;
  // PyTorch multiplies by the float32 reciprocal; exact for the powers of two in use.
  const double inv_scale = static_cast<double>(static_cast<float>(1.0 / scale_));
  torch::NoGradGuard no_grad;
  torch::Tensor any_bad;
  for (const auto& group : optimizer.param_groups()) {
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      torch::Tensor g = p.mutable_grad();
      g.mul_(inv_scale);
      torch::Tensor bad = g.isfinite().logical_not().any();
      any_bad = any_bad.defined() ? any_bad.logical_or(bad) : bad;
    }
  }
  // One device-to-host sync per step, for every parameter together.
  found_inf_ = any_bad.defined() && any_bad.item<bool>();
}

bool GradScaler::Step(torch::optim::Optimizer& optimizer) {
  Unscale(optimizer);
  if (found_inf_) return false;
  optimizer.step();
  return true;
}

void GradScaler::Update() {
  if (!unscaled_) return;  // no step was taken: nothing to learn from
  if (found_inf_) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
  unscaled_ = false;
  found_inf_ = false;
}

nlohmann::json GradScaler::ToJson() const {
  return {{"scale", scale_}, {"growth_tracker", growth_tracker_}};
}

Status GradScaler::FromJson(const nlohmann::json& state) {
  const auto scale = state.find("scale");
  if (!state.is_object() || scale == state.end() || !scale->is_number() ||
      !std::isfinite(scale->get<double>()) || scale->get<double>() <= 0) {
    return Status::InvalidArgument("grad_scaler.scale: must be a positive number");
  }
  const auto tracker = state.find("growth_tracker");
  if (tracker == state.end() || !tracker->is_number_integer() || tracker->get<int64_t>() < 0) {
    return Status::InvalidArgument("grad_scaler.growth_tracker: must be a count");
  }
  scale_ = scale->get<double>();
  growth_tracker_ = tracker->get<int64_t>();
  unscaled_ = found_inf_ = false;
  return Status::Ok();
}

}  // namespace mgr
