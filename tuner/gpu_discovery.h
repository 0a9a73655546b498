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
  // The GPUs a worker may be pinned to, each as CUDA_VISIBLE_DEVICES names it: an index
  // ("0") or a UUID ("GPU-8f1c...", "MIG-..."); empty: none.
  virtual Result<std::vector<std::string>> Discover() = 0;
};

// The host's GPUs, tried in order:
//   MGR_FAKE_GPUS=N (tests): ids 0..N-1;
//   CUDA_VISIBLE_DEVICES when set: its comma-separated entries, passed on as they are
//   (indices or UUIDs; "" or "-1": no GPU, and an entry "-1" ends the list as in CUDA);
//   `nvidia-smi -L` ("GPU 0: ..." lines);
//   /proc/driver/nvidia/gpus/* (one entry per GPU).
class SystemGpuDiscovery : public GpuDiscovery {
 public:
  Result<std::vector<std::string>> Discover() override;
};

// A fixed list (tests, `--gpus N`).
class FixedGpuDiscovery : public GpuDiscovery {
 public:
  explicit FixedGpuDiscovery(std::vector<std::string> ids) : ids_(std::move(ids)) {}
  Result<std::vector<std::string>> Discover() override { return ids_; }

 private:
  std::vector<std::string> ids_;
};

// Parses `nvidia-smi -L` output into GPU indices ("0", "1", ...).
std::vector<std::string> ParseNvidiaSmiList(const std::string& output);

// One place a trial can run: a GPU (its CUDA_VISIBLE_DEVICES entry) or the CPU (empty).
struct WorkerSlot {
  std::string gpu;
  // "cpu", "gpu0" for an index, the UUID itself ("GPU-8f1c...") otherwise.
  std::string Label() const;
  // The value of CUDA_VISIBLE_DEVICES for a worker in this slot ("" hides every GPU).
  std::string CudaVisibleDevices() const { return gpu; }
};

// trials_per_gpu slots per GPU when there are GPUs (an explicit list in `workers.gpus`, or
// the discovered ones for "auto"); otherwise cpu_workers CPU slots (at least one).
Result<std::vector<WorkerSlot>> MakeSlots(const WorkersSpec& spec, GpuDiscovery& discovery);

}  // namespace mgr

#endif  // MGR_TUNER_GPU_DISCOVERY_H_
