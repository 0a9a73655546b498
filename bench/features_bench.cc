// Clip -> log-Mel and clip -> MFCC throughput (clips per second, batched) against
// python3-torchaudio doing the same transforms with the same thread count, in the same run.
//
// usage: features_bench [--threads 2] [--batch 32] [--iterations 5] [--python /usr/bin/python3]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "trainer/features/features.h"

namespace {

double BestRate(const std::function<void()>& fn, int iterations, int batch) {
  fn();  // warm-up (and the filterbank cache)
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count());
  }
  return batch / best;
}

double JsonNumber(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return 0;
  return std::strtod(json.c_str() + json.find(':', at) + 1, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, batch = 32, iterations = 5, sample_rate = 22050;
  const int64_t samples = 1 << 18;
  std::string python = MGR_PYTHON;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "--batch")
      batch = std::atoi(argv[i + 1]);
    else if (flag == "--iterations")
      iterations = std::atoi(argv[i + 1]);
    else if (flag == "--python")
      python = argv[i + 1];
    else {
      std::fprintf(stderr, "features_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  const torch::Tensor clips = torch::randn({batch, samples}) * 0.1;
  mgr::FeatureOptions options;
  options.sample_rate = sample_rate;
  torch::Tensor sink;
  const double mel =
      BestRate([&] { sink = mgr::LogMelSpectrogram(clips, options); }, iterations, batch);
  const double mfcc = BestRate([&] { sink = mgr::Mfcc(clips, options); }, iterations, batch);

  const std::string command =
      python + " " + MGR_SOURCE_DIR + "/bench/features_bench.py --threads " +
      std::to_string(threads) + " --batch " + std::to_string(batch) + " --samples " +
      std::to_string(samples) + " --iterations " + std::to_string(iterations) + " --sample-rate " +
      std::to_string(sample_rate);
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
    if (pclose(pipe) != 0) output.clear();
  }
  const double ref_mel = JsonNumber(output, "mel_clips_per_s");
  const double ref_mfcc = JsonNumber(output, "mfcc_clips_per_s");
  std::printf("features_bench: %d threads, batch %d clips of %lld samples at %d Hz, best of %d\n",
              threads, batch, static_cast<long long>(samples), sample_rate, iterations);
  std::printf("  log-Mel (256 x 128): mgr %8.1f clips/s  torchaudio %8.1f clips/s  ratio %.2fx\n",
              mel, ref_mel, ref_mel > 0 ? mel / ref_mel : 0.0);
  std::printf("  MFCC    (256 x 20):  mgr %8.1f clips/s  torchaudio %8.1f clips/s  ratio %.2fx\n",
              mfcc, ref_mfcc, ref_mfcc > 0 ? mfcc / ref_mfcc : 0.0);
  if (output.empty()) {
    std::fprintf(stderr, "features_bench: the torchaudio reference failed: %s\n", command.c_str());
    return 1;
  }
  return 0;
}
