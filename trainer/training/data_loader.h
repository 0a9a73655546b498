// A background batch loader over the shared clip cache. Worker threads cut clip windows
// (ClipStart), apply waveform augmentation (training) and stack batches into a bounded
// prefetch queue while the device trains on earlier batches.
//
// Two inputs per clip (MixNet, as in the paper): the audio branch eats the
// waveform-augmented clip, the feature branch the features of the clean clip with their own
// spectrogram augmentation. With keep_clean a batch carries the clean clips too, so only
// MixNet pays for the second copy (BatchInputs builds both inputs).
//
// Determinism: the order of an epoch is a permutation drawn from (seed, epoch), and each
// batch's randomness (windows, augmentation) from (seed, epoch, batch index) alone, so
// the batches are identical whatever the thread count and timing. With fixed_windows the
// epoch does not enter the windows (validation sees the same windows every epoch, so its
// loss is comparable from epoch to epoch); the test split always uses mid-point windows.
#ifndef MGR_TRAINER_TRAINING_DATA_LOADER_H_
#define MGR_TRAINER_TRAINING_DATA_LOADER_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "storage/base/seeds.h"  // MixSeed: every derived stream
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"
#include "trainer/features/augment.h"
#include "trainer/models/model_factory.h"

namespace mgr {

struct Example {
  int64_t track_id = 0;
  int label = 0;
};

struct LoaderOptions {
  Split split = Split::kTraining;  // windows: random (training, validation) or mid-point
  int64_t clip_samples = 262144;
  int64_t batch_size = 64;
  bool shuffle = false;        // a new permutation every epoch
  bool fixed_windows = false;  // windows from the seed only, the same every epoch
  bool augment = false;        // waveform augmentation with `augment_options`
  bool keep_clean = false;     // Batch::clean: the clips before augmentation (MixNet)
  WaveformAugmentOptions augment_options;
  uint64_t seed = 0;
  int threads = 2;   // background threads (at least 1)
  int prefetch = 4;  // batches ready ahead of the consumer (at least 1)
  // Batches from the threads are in page-locked memory (for asynchronous copies to a
  // CUDA device; needs CUDA). MakeBatch's are not.
  bool pin_memory = false;
};

// How batches travel from the loader to the trial's device.
struct HostTransfer {
  bool pin_memory = false;    // LoaderOptions::pin_memory
  bool non_blocking = false;  // Tensor::to(device, non_blocking)
};
// Pinned memory and non-blocking copies for a CUDA device; neither for the CPU.
HostTransfer HostTransferFor(const torch::Device& device);

struct Batch {
  int64_t index = 0;     // position in the epoch
  torch::Tensor clips;   // (B, clip_samples) float32, CPU (pinned with pin_memory), augmented
                         // with `augment`
  torch::Tensor labels;  // (B) int64, CPU (pinned with pin_memory)
  // With keep_clean only: the same windows before waveform augmentation (the very tensor
  // `clips` when augment is off, no copy); undefined otherwise.
  torch::Tensor clean;
};

// The network's inputs for a batch whose tensors are on the training device: the audio
// branch from `clips` (waveform-augmented), the feature branch from `clean` when defined,
// else from `clips` (NNET2's loader does not augment), then spectrogram augmentation as in
// PrepareInputs. Throws TrainingError(kInternal) for a two-branch network without `clean`
// (its features would see the waveform augmentation).
NetInputs BatchInputs(const InputConfig& input, const torch::Tensor& clips,
                      const torch::Tensor& clean,
                      const SpectrogramAugmentOptions* spec_augment = nullptr,
                      std::mt19937_64* rng = nullptr);

// Not thread-safe: one consumer calls StartEpoch and Next. The cache must outlive the
// loader. Tracks shorter than a clip are zero-padded at the end.
class DataLoader {
 public:
  DataLoader(const ClipCache* cache, std::vector<Example> examples, LoaderOptions options);
  ~DataLoader();  // stops and joins the threads
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t size() const { return static_cast<int64_t>(examples_.size()); }
  int64_t NumBatches() const;
  // Begins epoch `epoch` (any order of epochs is allowed; an unfinished epoch is abandoned).
  void StartEpoch(int epoch);
  // The next batch of the epoch in order, nullopt after the last. Rethrows a worker's
  // exception (e.g. a track missing from the cache, as TrainingError kData).
  std::optional<Batch> Next();

  // The batch `index` of `epoch` computed on the calling thread (what the threads produce).
  Batch MakeBatch(int epoch, int64_t index) const;

 private:
  void StopThreads();
  void WorkerLoop();

  const ClipCache* cache_;
  std::vector<Example> examples_;
  LoaderOptions options_;

  std::mutex mu_;
  std::condition_variable produced_, consumed_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
  int epoch_ = 0;
  int64_t next_to_make_ = 0, next_to_return_ = 0;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
};

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_DATA_LOADER_H_
