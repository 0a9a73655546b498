#include "trainer/training/data_loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "trainer/data/clips.h"
#include "trainer/models/training_error.h"

namespace mgr {

HostTransfer HostTransferFor(const torch::Device& device) {
  // Pinning needs a CUDA runtime (pin_memory throws without one); a CPU trial copies nothing.
  const bool cuda = device.is_cuda();
  return HostTransfer{cuda, cuda};
}

DataLoader::DataLoader(const ClipCache* cache, std::vector<Example> examples, LoaderOptions options)
    : cache_(cache), examples_(std::move(examples)), options_(std::move(options)) {
  options_.threads = std::max(1, options_.threads);
  options_.prefetch = std::max(1, options_.prefetch);
  options_.batch_size = std::max<int64_t>(1, options_.batch_size);
}

DataLoader::~DataLoader() { StopThreads(); }

int64_t DataLoader::NumBatches() const {
  return (size() + options_.batch_size - 1) / options_.batch_size;
}

Batch DataLoader::MakeBatch(int epoch, int64_t index) const {
  // The epoch's order: a permutation from (seed, epoch), recomputed per batch (cheap next
  // to decoding a batch) so that batches are independent of each other.
  std::vector<int64_t> order(examples_.size());
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle) {
    std::mt19937_64 rng(MixSeed({options_.seed, 0x5348, static_cast<uint64_t>(epoch)}));
    std::shuffle(order.begin(), order.end(), rng);
  }
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, size());
  const int64_t n = end - begin, clip = options_.clip_samples;
  Batch batch;
  batch.index = index;
  batch.clips = torch::empty({n, clip}, torch::kFloat32);  // every row is written below
  batch.labels = torch::empty({n}, torch::kInt64);
  float* out = batch.clips.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  const uint64_t window_epoch = options_.fixed_windows ? 0 : static_cast<uint64_t>(epoch) + 1;
  std::mt19937_64 rng(
      MixSeed({options_.seed, 0x57494e, window_epoch, static_cast<uint64_t>(index)}));
  for (int64_t i = 0; i < n; ++i) {
    const Example& e = examples_[order[begin + i]];
    int64_t samples = 0;
    const float* audio = cache_->Samples(e.track_id, &samples);
    if (audio == nullptr) {
      throw TrainingError(TrainingError::Kind::kData,
                          "track " + std::to_string(e.track_id) +
                              " is not in the clip cache: run `mgr-train prepare` again");
    }
    const int64_t start = ClipStart(samples, clip, options_.split, rng);
    const int64_t count = std::min(clip, samples - start);
    std::memcpy(out + i * clip, audio + start, sizeof(float) * static_cast<size_t>(count));
    std::fill(out + i * clip + count, out + (i + 1) * clip, 0.0f);  // a track shorter than a clip
    labels[i] = e.label;
  }
  if (options_.keep_clean) batch.clean = batch.clips;
  if (options_.augment) {
    // A copy only when the clean clips are kept; augmentation works in place.
    if (options_.keep_clean) batch.clips = batch.clean.clone();
    std::mt19937_64 aug_rng(MixSeed(
        {options_.seed, 0x415547, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index)}));
    AugmentWaveform(batch.clips, options_.augment_options, aug_rng);
  }
  return batch;
}

NetInputs BatchInputs(const InputConfig& input, const torch::Tensor& clips,
                      const torch::Tensor& clean, const SpectrogramAugmentOptions* spec_augment,
                      std::mt19937_64* rng) {
  if (input.audio && input.features && !clean.defined()) {
    throw TrainingError(
        TrainingError::Kind::kInternal,
        input.family + " batch without its clean clips: its loader needs keep_clean");
  }
  NetInputs in = PrepareInputs(input, clean.defined() ? clean : clips, spec_augment, rng);
  if (input.audio) in.audio = clips.unsqueeze(1);
  return in;
}

void DataLoader::StopThreads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  produced_.notify_all();
  consumed_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  ready_.clear();
  error_ = nullptr;
}

void DataLoader::StartEpoch(int epoch) {
  StopThreads();
  stop_ = false;
  epoch_ = epoch;
  next_to_make_ = 0;
  next_to_return_ = 0;
  const int threads = static_cast<int>(std::min<int64_t>(options_.threads, NumBatches()));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

void DataLoader::WorkerLoop() {
  for (;;) {
    int64_t index;
    int epoch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      consumed_.wait(lock, [&] {
        return stop_ || next_to_make_ >= NumBatches() ||
               next_to_make_ < next_to_return_ + options_.prefetch;
      });
      if (stop_ || next_to_make_ >= NumBatches()) return;
      index = next_to_make_++;
      epoch = epoch_;
    }
    try {
      Batch batch = MakeBatch(epoch, index);
      if (options_.pin_memory) {  // here, so that the training thread does not wait for it
        const bool alias = batch.clean.defined() && batch.clean.is_same(batch.clips);
        batch.clips = batch.clips.pin_memory();
        batch.labels = batch.labels.pin_memory();
        if (alias) {
          batch.clean = batch.clips;
        } else if (batch.clean.defined()) {
          batch.clean = batch.clean.pin_memory();
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(index, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    produced_.notify_all();
  }
}

std::optional<Batch> DataLoader::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_return_ >= NumBatches()) return std::nullopt;
  produced_.wait(lock, [&] { return error_ || ready_.count(next_to_return_) > 0; });
  if (error_) std::rethrow_exception(error_);
  auto it = ready_.find(next_to_return_);
  Batch batch = std::move(it->second);
  ready_.erase(it);
  ++next_to_return_;
  lock.unlock();
  consumed_.notify_all();
  return batch;
}

}  // namespace mgr
