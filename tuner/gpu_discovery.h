// Which GPUs this host has, and the worker slots built from them.
//
// Discovery is an interface so that tests (and `--gpus N`, MGR_FAKE_GPUS=N) can pretend a
// host has N GPUs without having any.
#ifndef MGR_TUNER_GPU_DISCOVERY_H_
#define MGR_TUNER_GPU_DISCOVERY_H_

#include <string>
#include <vector>

#include "storage/base/status.h"
#include "studies/study_file.h"

namespace mgr {

class GpuDiscovery {
 public:
  virtual ~GpuDiscovery() = default;
  // The GPU ids a worker may be pinned to (values for CUDA_VISIBLE_DEVICES); empty: none.
  virtual Result<std::vector<int>> Discover() = 0;
};

// The host's GPUs, tried in order:
//   MGR_FAKE_GPUS=N (tests): ids 0..N-1;
//   CUDA_VISIBLE_DEVICES when set: its comma-separated ids ("" or "-1": no GPU);
//   `nvidia-smi -L` ("GPU 0: ..." lines);
//   /proc/driver/nvidia/gpus/* (one entry per GPU).
class SystemGpuDiscovery : public GpuDiscovery {
 public:
  Result<std::vector<int>> Discover() override;
};

// A fixed list (tests, `--gpus N`).
class FixedGpuDiscovery : public GpuDiscovery {
 public:
  explicit FixedGpuDiscovery(std::vector<int> ids) : ids_(std::move(ids)) {}
  Result<std::vector<int>> Discover() override { return ids_; }

 private:
  std::vector<int> ids_;
};

// Parses `nvidia-smi -L` output into GPU ids.
std::vector<int> ParseNvidiaSmiList(const std::string& output);

// One place a trial can run: a GPU (gpu >= 0) or the CPU (gpu == -1).
struct WorkerSlot {
  int gpu = -1;
  std::string Label() const { return gpu >= 0 ? "gpu" + std::to_string(gpu) : "cpu"; }
  // The value of CUDA_VISIBLE_DEVICES for a worker in this slot.
  std::string CudaVisibleDevices() const { return gpu >= 0 ? std::to_string(gpu) : ""; }
};

// trials_per_gpu slots per GPU when there are GPUs (an explicit list in `workers.gpus`, or
// the discovered ones for "auto"); otherwise cpu_workers CPU slots (at least one).
Result<std::vector<WorkerSlot>> MakeSlots(const WorkersSpec& spec, GpuDiscovery& discovery);

}  // namespace mgr

#endif  // MGR_TUNER_GPU_DISCOVERY_H_
