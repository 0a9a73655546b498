// Shared setup of the data-pipeline benchmarks (loader_bench, pipeline_bench): the generated
// demo dataset with its prepared clip cache, and the clips per second that one paper
// training step consumes on a device.
#ifndef MGR_BENCH_PIPELINE_BENCH_UTIL_H_
#define MGR_BENCH_PIPELINE_BENCH_UTIL_H_

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"
#include "trainer/models/hparams.h"
#include "trainer/models/model_factory.h"
#include "trainer/training/data_loader.h"

namespace mgr {
namespace bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The value of `r`, or exits 1 with its message (benchmarks have no error path to return).
template <typename T>
T OrDie(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "error: %s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

// The demo dataset (12.5 s tracks, long enough for 2^18-sample clips) under dir/data, made
// by `make_dataset` on first use, and its clip cache under dir/cache, prepared on first use.
struct DemoCache {
  FmaOptions data;
  FmaIndex index;
  std::unique_ptr<ClipCache> cache;
  std::vector<Example> train;  // the training split's tracks the cache holds
};

inline DemoCache OpenDemoCache(const std::string& dir, const std::string& make_dataset,
                               int64_t clip_samples, int threads) {
  DemoCache d;
  d.data.metadata_csv = dir + "/data/fma_metadata/tracks.csv";
  d.data.audio_dir = dir + "/data/fma_small";
  struct stat st;
  if (stat(d.data.metadata_csv.c_str(), &st) != 0) {
    const std::string cmd =
        make_dataset + " --size demo --seed 1 --out '" + dir + "/data' >/dev/null";
    std::fprintf(stderr, "generating the demo dataset in %s\n", dir.c_str());
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "error: %s failed\n", cmd.c_str());
      std::exit(1);
    }
  }
  CacheOptions cache_options;
  cache_options.cache_dir = dir + "/cache";
  cache_options.min_samples = clip_samples;
  cache_options.threads = threads;
  d.index = OrDie(LoadFmaIndex(d.data));
  OrDie(PrepareClipCache(d.data, d.index, cache_options));
  d.cache = OrDie(ClipCache::Open(d.data, cache_options));
  for (const Track& t : d.index.tracks) {
    if (t.split == Split::kTraining && d.cache->Contains(t.id)) d.train.push_back({t.id, t.label});
  }
  return d;
}

// Clips per second of a paper training step (forward, backward, Adam) of `family` on
// `device` with inputs already there. One warm-up step; the loss is read back at the end so
// that asynchronous (CUDA) work is inside the timing.
inline double StepClipsPerSecond(const std::string& family, int64_t batch, int reps,
                                 int64_t clip_samples, const torch::Device& device) {
  HParams hp = OrDie(ResolveHParams(family, "paper", nlohmann::json::object()));
  InputConfig input = MakeInputConfig(family, hp, clip_samples, 22050);
  torch::manual_seed(0);
  GenreNet net = OrDie(BuildModel(family, hp, input, 8));
  net->to(device);
  net->train();
  torch::optim::Adam opt(net->parameters(),
                         torch::optim::AdamOptions(hp.lr).weight_decay(hp.weight_decay));
  const auto on = torch::TensorOptions().device(device);
  torch::Tensor audio =
      input.audio ? torch::randn({batch, 1, clip_samples}, on) * 0.1 : torch::Tensor();
  torch::Tensor feats = input.features
                            ? torch::randn({batch, 1, input.frames, input.coefficients}, on)
                            : torch::Tensor();
  torch::Tensor labels = torch::randint(0, 8, {batch}, on.dtype(torch::kLong));
  torch::Tensor loss;
  auto step = [&] {
    opt.zero_grad();
    loss = torch::nn::functional::cross_entropy(net->forward(audio, feats), labels);
    loss.backward();
    opt.step();
  };
  step();
  loss.item<float>();
  auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) step();
  loss.item<float>();
  return static_cast<double>(batch) * reps / Seconds(t0);
}

}  // namespace bench
}  // namespace mgr

#endif  // MGR_BENCH_PIPELINE_BENCH_UTIL_H_
