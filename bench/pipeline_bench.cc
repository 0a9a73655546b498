// The data pipeline against the training step, on one device, at the paper's clip length
// (2^18 samples, 22050 Hz), paper presets, batch 32: clips/s that the background DataLoader
// delivers from the prepared clip cache, moved to the device with the network's inputs
// computed there (NNET2: MFCC, standardisation, spectrogram augmentation; NNET1: the raw
// clip after the loader's waveform augmentation; pinned batches and asynchronous copies on
// CUDA, as the trainer does), against clips/s that a training step consumes on that device.
// Goal on a GPU: pipeline >= 2x the step.
//
//   pipeline_bench [--device cpu|cuda] [--dataset DIR] [--threads 2] [--batch 32]
//                  [--epochs 2] [--reps 3]
//
// DIR holds data/ (mgr-make-dataset --size demo) and cache/, created on first use (default
// $TMPDIR/mgr-loader-bench, shared with loader_bench).
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/pipeline_bench_util.h"

namespace {

using mgr::bench::Clock;
using mgr::bench::OrDie;
using mgr::bench::Seconds;
constexpr int64_t kClip = 262144;

// Clips/s of `epochs` loader epochs with the inputs of `family` prepared on `device`.
double PipelineClipsPerSecond(const std::string& family, const mgr::bench::DemoCache& demo,
                              int64_t batch, int threads, int epochs, const torch::Device& device) {
  mgr::HParams hp = OrDie(mgr::ResolveHParams(family, "paper", nlohmann::json::object()));
  mgr::InputConfig input = mgr::MakeInputConfig(family, hp, kClip, 22050);
  mgr::LoaderOptions options;
  options.split = mgr::Split::kTraining;
  options.clip_samples = kClip;
  options.batch_size = batch;
  options.shuffle = true;
  options.augment = input.audio;  // as training does: waveform augmentation for raw audio
  options.augment_options = mgr::WaveformAugment(hp, 22050);
  options.threads = threads;
  const mgr::HostTransfer transfer = mgr::HostTransferFor(device);  // as the trainer moves batches
  options.pin_memory = transfer.pin_memory;
  mgr::DataLoader loader(demo.cache.get(), demo.train, options);
  mgr::SpectrogramAugmentOptions spec_aug = mgr::SpectrogramAugment(hp);
  std::mt19937_64 rng(1);
  auto run_epoch = [&](int epoch, torch::Tensor* sink) {
    int64_t clips = 0;
    loader.StartEpoch(epoch);
    while (auto b = loader.Next()) {
      mgr::NetInputs in =
          mgr::PrepareInputs(input, b->clips.to(device, transfer.non_blocking), &spec_aug, &rng);
      const torch::Tensor& x = input.features ? in.features : in.audio;
      *sink = sink->defined() ? *sink + x.sum() : x.sum();
      clips += x.size(0);
    }
    return clips;
  };
  torch::Tensor sink;
  run_epoch(0, &sink);  // warm-up: filterbank cache, allocator, page cache
  sink.item<float>();
  int64_t clips = 0;
  auto t0 = Clock::now();
  for (int e = 1; e <= epochs; ++e) clips += run_epoch(e, &sink);
  sink.item<float>();  // waits for the device's queued work
  return clips / Seconds(t0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"data pipeline vs training step, on the CPU or a GPU"};
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/mgr-loader-bench";
  std::string device_name = "cpu";
  int threads = 2, epochs = 2, reps = 3;
  int64_t batch = 32;
  app.add_option("--device", device_name, "cpu or cuda")->capture_default_str();
  app.add_option("--dataset", dir, "dataset + cache directory (created if missing)");
  app.add_option("--threads", threads, "loader threads and torch threads")->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--epochs", epochs, "loader epochs to time")->capture_default_str();
  app.add_option("--reps", reps, "training steps to time")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (device_name != "cpu" && device_name != "cuda") {
    std::fprintf(stderr, "pipeline_bench: --device must be cpu or cuda, got \"%s\"\n",
                 device_name.c_str());
    return 2;
  }
  if (device_name == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "pipeline_bench: --device cuda, but this libtorch sees no CUDA device\n");
    return 1;
  }
  const torch::Device device(device_name == "cuda" ? torch::kCUDA : torch::kCPU);
  torch::set_num_threads(threads);
  mgr::bench::DemoCache demo = mgr::bench::OpenDemoCache(dir, MGR_MAKE_DATASET, kClip, threads);

  std::printf("pipeline: %s, %zu training tracks, clips of %lld samples, batch %lld, %d threads\n",
              device_name.c_str(), demo.train.size(), static_cast<long long>(kClip),
              static_cast<long long>(batch), threads);
  std::printf("%-8s %18s %18s %8s\n", "net", "pipeline clips/s", "step clips/s", "ratio");
  for (const std::string family : {"nnet2", "nnet1"}) {
    const double pipeline = PipelineClipsPerSecond(family, demo, batch, threads, epochs, device);
    const double step = mgr::bench::StepClipsPerSecond(family, batch, reps, kClip, device);
    std::printf("%-8s %18.1f %18.1f %7.2fx   (goal on a GPU: >= 2)\n", family.c_str(), pipeline,
                step, pipeline / step);
  }
  return 0;
}
