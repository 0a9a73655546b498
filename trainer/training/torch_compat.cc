#include "trainer/training/torch_compat.h"

#include <map>
#include <mutex>
#include <tuple>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace mgr {
namespace {

// LibTorch 2.4 replaced the per-device autocast functions with ones taking a device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
constexpr bool kCpuHalfAutocast = true;
bool IsEnabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void SetEnabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
c10::ScalarType GetDtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void SetDtype(c10::DeviceType t, c10::ScalarType d) { at::autocast::set_autocast_dtype(t, d); }
#else
// 1.13's CPU autocast lowers to bfloat16 only (torch.autocast("cpu", float16) disables it).
constexpr bool kCpuHalfAutocast = false;
bool IsEnabled(c10::DeviceType t) {
  return t == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void SetEnabled(c10::DeviceType t, bool on) {
  if (t == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(on);
  } else {
    at::autocast::set_enabled(on);
  }
}
c10::ScalarType GetDtype(c10::DeviceType t) {
  return t == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                   : at::autocast::get_autocast_gpu_dtype();
}
void SetDtype(c10::DeviceType t, c10::ScalarType d) {
  if (t == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(d);
  } else {
    at::autocast::set_autocast_gpu_dtype(d);
  }
}
#endif

// Runs the ops the networks use most (conv2d, linear) under autocast; true when the
// result has `dtype`.
bool ProbeAutocast(const torch::Device& device, c10::ScalarType dtype) {
  try {
    torch::NoGradGuard no_grad;
    const auto options = torch::TensorOptions().device(device).dtype(torch::kFloat32);
    AutocastGuard guard(device, dtype);
    torch::Tensor x = torch::ones({1, 1, 4, 4}, options);
    torch::Tensor y = torch::conv2d(x, torch::ones({2, 1, 3, 3}, options));
    torch::Tensor z = torch::linear(y.flatten(1), torch::ones({3, 8}, options));
    return y.scalar_type() == dtype && z.scalar_type() == dtype;
  } catch (const c10::Error&) {
    return false;
  }
}

}  // namespace

bool AutocastSupported(const torch::Device& device, c10::ScalarType dtype) {
  if (dtype != c10::ScalarType::BFloat16 && dtype != c10::ScalarType::Half) return false;
  if (!device.is_cpu() && !device.is_cuda()) return false;
  if (device.is_cpu() && dtype == c10::ScalarType::Half && !kCpuHalfAutocast) return false;
  static std::mutex mutex;
  static auto* cache = new std::map<std::tuple<int, int, int>, bool>();
  const std::tuple<int, int, int> key{static_cast<int>(device.type()),
                                      static_cast<int>(device.index()), static_cast<int>(dtype)};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(key);
  if (it == cache->end()) it = cache->emplace(key, ProbeAutocast(device, dtype)).first;
  return it->second;
}

AutocastGuard::AutocastGuard(const torch::Device& device, c10::ScalarType dtype) {
  if (dtype == c10::ScalarType::Float) return;
  type_ = device.type();
  previous_enabled_ = IsEnabled(type_);
  previous_dtype_ = GetDtype(type_);
  SetEnabled(type_, true);
  SetDtype(type_, dtype);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // As torch.autocast.__exit__: the cache of casted weights lives while any region does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetEnabled(type_, previous_enabled_);
  SetDtype(type_, previous_dtype_);
}

}  // namespace mgr
