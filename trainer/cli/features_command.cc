// `mgr-train features FILE`: decodes one audio file and writes what a network sees (the raw
// clip, its log-Mel spectrogram or its MFCCs) as .npy/.csv and/or a PNG.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/base/strings.h"
#include "trainer/audio/audio_decoder.h"
#include "trainer/cli/commands.h"
#include "trainer/data/clips.h"
#include "trainer/features/array_writer.h"
#include "trainer/features/features.h"
#include "trainer/features/image_writer.h"

namespace mgr {
namespace {

struct FeaturesArgs {
  std::string file;
  std::string kind = "mfcc";
  int sample_rate = 22050;
  int64_t clip_samples = 262144;
  double start_seconds = -1;  // < 0: the test window (middle of the track)
  bool standardize = false;
  std::string out;
  std::string png;
  std::string colormap = "viridis";
};

// A waveform as a min/max envelope per pixel column: one line of the clip on a dark field.
Status WriteWaveformPng(const std::string& path, const torch::Tensor& clip) {
  const int width = 1024, height = 256;
  const torch::Tensor x = clip.to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t n = x.numel();
  const double* data = x.data_ptr<double>();
  const double peak = std::max(1e-12, x.abs().max().item<double>());
  const auto background = MapColor(Colormap::kViridis, 0.0);
  const auto line = MapColor(Colormap::kViridis, 0.85);
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb.size(); i += 3)
    std::copy(background.begin(), background.end(), rgb.begin() + i);
  for (int column = 0; column < width; ++column) {
    const int64_t begin = n * column / width, end = std::max(begin + 1, n * (column + 1) / width);
    double low = 0, high = 0;
    for (int64_t i = begin; i < std::min(end, n); ++i) {
      low = std::min(low, data[i]);
      high = std::max(high, data[i]);
    }
    auto row = [&](double v) {  // +peak at the top, -peak at the bottom
      return std::clamp(static_cast<int>((1.0 - (v / peak + 1.0) / 2.0) * (height - 1) + 0.5), 0,
                        height - 1);
    };
    for (int y = row(high); y <= row(low); ++y) {
      std::copy(line.begin(), line.end(),
                rgb.begin() + (static_cast<size_t>(y) * width + column) * 3);
    }
  }
  return WritePng(path, width, height, rgb);
}

int RunFeatures(const FeaturesArgs& args) {
  if (args.kind != "mel" && args.kind != "mfcc" && args.kind != "raw") {
    std::fprintf(stderr, "features: --kind must be mel, mfcc or raw, got '%s'\n",
                 args.kind.c_str());
    return 2;
  }
  if (args.standardize && args.kind == "raw") {
    std::fprintf(stderr, "features: --standardize applies to --kind mel or mfcc only\n");
    return 2;
  }
  if (!args.out.empty() && !EndsWith(args.out, ".npy") && !EndsWith(args.out, ".csv")) {
    std::fprintf(stderr, "features: --out must end in .npy or .csv, got '%s'\n", args.out.c_str());
    return 2;
  }
  if (args.sample_rate <= 0 || args.clip_samples <= 0) {
    std::fprintf(stderr, "features: --sample-rate and --clip-samples must be positive\n");
    return 2;
  }
  DecodeOptions decode;
  decode.sample_rate = args.sample_rate;
  Result<std::vector<float>> audio = DecodeAudioFile(args.file, decode);
  if (!audio.ok()) {
    std::fprintf(stderr, "features: %s\n", audio.status().ToString().c_str());
    return 1;
  }
  const int64_t total = static_cast<int64_t>(audio->size());
  if (total == 0) {
    std::fprintf(stderr, "features: %s: no audio samples decoded\n", args.file.c_str());
    return 1;
  }
  std::mt19937_64 unused_rng(0);
  int64_t start = args.start_seconds < 0
                      ? ClipStart(total, args.clip_samples, Split::kTest, unused_rng)
                      : static_cast<int64_t>(args.start_seconds * args.sample_rate);
  if (start >= total) {
    std::fprintf(stderr, "features: %s: --start-seconds %.3f is past the end (%.3f s)\n",
                 args.file.c_str(), args.start_seconds,
                 static_cast<double>(total) / args.sample_rate);
    return 1;
  }
  const int64_t length = std::min(args.clip_samples, total - start);
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor clip =
        torch::from_blob(audio->data() + start, {length}, torch::kFloat32).clone();
    FeatureOptions options;
    options.sample_rate = args.sample_rate;
    options.standardize = args.standardize;
    torch::Tensor features = clip;
    if (args.kind == "mel") features = LogMelSpectrogram(clip, options);
    if (args.kind == "mfcc") features = Mfcc(clip, options);
    std::string shape;
    for (int64_t i = 0; i < features.dim(); ++i) {
      shape += (i ? ", " : "") + std::to_string(features.size(i));
    }
    std::fprintf(stderr,
                 "features: %s: %.2f s at %d Hz; clip at %.3f s, %lld samples%s; %s (%s), "
                 "min %.4g, max %.4g\n",
                 args.file.c_str(), static_cast<double>(total) / args.sample_rate, args.sample_rate,
                 static_cast<double>(start) / args.sample_rate, static_cast<long long>(length),
                 length < args.clip_samples ? " (track shorter than --clip-samples)" : "",
                 args.kind.c_str(), shape.c_str(), features.min().item<double>(),
                 features.max().item<double>());
    if (!args.out.empty()) {
      const Status s =
          EndsWith(args.out, ".npy") ? WriteNpy(args.out, features) : WriteCsv(args.out, features);
      if (!s.ok()) {
        std::fprintf(stderr, "features: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    if (!args.png.empty()) {
      FeatureImageOptions image;
      image.colormap = args.colormap == "magma"  ? Colormap::kMagma
                       : args.colormap == "gray" ? Colormap::kGray
                                                 : Colormap::kViridis;
      const Status s = args.kind == "raw" ? WriteWaveformPng(args.png, features)
                                          : WriteFeaturePng(args.png, features, image);
      if (!s.ok()) {
        std::fprintf(stderr, "features: %s\n", s.ToString().c_str());
        return 1;
      }
    }
  } catch (const std::exception& e) {  // c10::Error included
    std::fprintf(stderr, "features: %s: %s\n", args.file.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterFeaturesCommand(CLI::App& app, CommandRunner* run) {
  auto args = std::make_shared<FeaturesArgs>();
  CLI::App* cmd = app.add_subcommand("features", TrainerCommandHelp("features"));
  cmd->add_option("file", args->file, "Audio file (anything FFmpeg reads)")->required();
  cmd->add_option("--kind", args->kind, "raw, mel or mfcc")
      ->check(CLI::IsMember({"raw", "mel", "mfcc"}))
      ->capture_default_str();
  cmd->add_option("--sample-rate", args->sample_rate, "Resample to this rate (Hz)")
      ->capture_default_str();
  cmd->add_option("--clip-samples", args->clip_samples, "Clip length in samples")
      ->capture_default_str();
  cmd->add_option("--start-seconds", args->start_seconds,
                  "Clip start; default: the test window (middle of the track)");
  cmd->add_flag("--standardize", args->standardize,
                "Per-clip standardisation per coefficient (mel, mfcc)");
  cmd->add_option("--out", args->out, "Write the array to x.npy or x.csv");
  cmd->add_option("--png", args->png,
                  "Write an image: time on x, coefficient on y (low at the bottom)");
  cmd->add_option("--colormap", args->colormap, "viridis, magma or gray")
      ->check(CLI::IsMember({"viridis", "magma", "gray"}))
      ->capture_default_str();
  cmd->callback([args, run] { *run = [args] { return RunFeatures(*args); }; });
}

}  // namespace mgr
