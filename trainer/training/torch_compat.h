// The one place where LibTorch 1.13 and 2.x differ for mgr-tune: autocast's API (2.x
// deprecates 1.13's per-device setters, and -Werror turns that into an error).
#ifndef MGR_TRAINER_TRAINING_TORCH_COMPAT_H_
#define MGR_TRAINER_TRAINING_TORCH_COMPAT_H_

#include <torch/torch.h>

namespace mgr {

// Whether autocast to `dtype` (kBFloat16 or kHalf) works on `device`: this libtorch has
// an autocast dtype for the device type (CPU fp16 needs LibTorch 2.x) and a small conv +
// linear probe run under it gives `dtype` without an error. Cached per (device, dtype).
bool AutocastSupported(const torch::Device& device, c10::ScalarType dtype);

// While alive: autocast on for `device`'s type with `dtype`, as torch.autocast(device,
// dtype) does. On exit restores the previous enabled flag and dtype and, when it leaves
// the outermost autocast region, clears the autocast weight-cast cache. With kFloat the
// guard does nothing (fp32 runs without autocast).
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, c10::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_TORCH_COMPAT_H_
