// Loader throughput against the training step's consumption, in the same run: clips/s the
// background DataLoader delivers from the prepared clip cache with waveform augmentation,
// plus the MFCC features (and spectrogram augmentation) the training loop computes from
// them, against the clips/s one paper training step consumes (NNET1 on raw audio, NNET2
// on MFCC). Goal: loader >= 2x the step.
//
//   loader_bench [--dataset DIR] [--threads 2] [--batch 16] [--epochs 2]
//
// DIR holds data/ (mgr-make-dataset --size demo: 12.5 s tracks, enough for 2^18-sample
// clips) and cache/; both are created on first use (default $TMPDIR/mgr-loader-bench).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/pipeline_bench_util.h"

namespace {

using Json = nlohmann::json;
using mgr::bench::Clock;
using mgr::bench::OrDie;
using mgr::bench::Seconds;
constexpr int64_t kClip = 262144;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loader throughput vs training step consumption"};
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/mgr-loader-bench";
  int threads = 2, epochs = 2, reps = 3;
  int64_t batch = 16;
  app.add_option("--dataset", dir, "dataset + cache directory (created if missing)");
  app.add_option("--threads", threads, "loader threads and torch threads")->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--epochs", epochs, "loader epochs to time")->capture_default_str();
  app.add_option("--reps", reps, "training steps to time")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);

  mgr::bench::DemoCache demo = mgr::bench::OpenDemoCache(dir, MGR_MAKE_DATASET, kClip, threads);
  const std::vector<mgr::Example>& train = demo.train;
  mgr::HParams hp2 = OrDie(mgr::ResolveHParams("nnet2", "paper", Json::object()));
  mgr::HParams hp1 = OrDie(mgr::ResolveHParams("nnet1", "paper", Json::object()));
  mgr::InputConfig input2 = mgr::MakeInputConfig("nnet2", hp2, kClip, 22050);
  mgr::LoaderOptions options;
  options.split = mgr::Split::kTraining;
  options.clip_samples = kClip;
  options.batch_size = batch;
  options.shuffle = true;
  options.augment = true;
  options.augment_options = mgr::WaveformAugment(hp1, 22050);
  options.threads = threads;
  mgr::DataLoader loader(demo.cache.get(), train, options);
  mgr::SpectrogramAugmentOptions spec_aug = mgr::SpectrogramAugment(hp2);
  std::mt19937_64 rng(1);

  // Loader alone, then loader + features on the consuming thread (as in training).
  int64_t clips = 0;
  auto t0 = Clock::now();
  for (int e = 1; e <= epochs; ++e) {
    loader.StartEpoch(e);
    while (auto b = loader.Next()) clips += b->clips.size(0);
  }
  double loader_rate = clips / Seconds(t0);
  clips = 0;
  t0 = Clock::now();
  for (int e = 1; e <= epochs; ++e) {
    loader.StartEpoch(100 + e);
    while (auto b = loader.Next()) {
      mgr::NetInputs in = mgr::PrepareInputs(input2, b->clips, &spec_aug, &rng);
      clips += in.features.size(0);
    }
  }
  double with_features_rate = clips / Seconds(t0);

  const torch::Device cpu(torch::kCPU);
  double nnet1_rate =
      mgr::bench::StepClipsPerSecond("nnet1", std::min<int64_t>(batch, 4), reps, kClip, cpu);
  double nnet2_rate = mgr::bench::StepClipsPerSecond("nnet2", batch, reps, kClip, cpu);

  std::printf("loader: %zu training tracks, clips of %lld samples, batch %lld, %d threads\n",
              train.size(), static_cast<long long>(kClip), static_cast<long long>(batch), threads);
  std::printf("%-44s %10.1f clips/s\n", "loader (cache + waveform augmentation)", loader_rate);
  std::printf("%-44s %10.1f clips/s\n", "loader + MFCC + spectrogram augmentation",
              with_features_rate);
  std::printf("%-44s %10.1f clips/s   loader/step %.2f (goal >= 2)\n",
              "NNET1 training step consumes", nnet1_rate, loader_rate / nnet1_rate);
  std::printf("%-44s %10.1f clips/s   loader+features/step %.2f (goal >= 2)\n",
              "NNET2 training step consumes", nnet2_rate, with_features_rate / nnet2_rate);
  return 0;
}
