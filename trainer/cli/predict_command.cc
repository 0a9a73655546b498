// `mgr-train predict MODEL FILE... [--format table|json] [--hop-seconds S] [--top K]`:
// genre probabilities of whole audio files with an exported model (docs/predict.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "trainer/audio/audio_decoder.h"
#include "trainer/cli/commands.h"
#include "trainer/data/clips.h"
#include "trainer/training/export.h"

namespace mgr {

namespace {

using Json = nlohmann::json;

struct PredictArgs {
  std::string model;
  std::vector<std::string> files;
  std::string format = "table";
  double hop_seconds = 0;  // 0: one clip length (windows side by side)
  int top = 3;
  int threads = 0;       // 0: libtorch's default
  int64_t batch = 16;    // windows per forward call
  bool compare = false;  // table: also the mid-point window's and the mean-logit genre
};

// The first sample of every window: 0, hop, 2 hop, ... while the window fits; one window
// (zero-padded) for a track shorter than a clip.
std::vector<int64_t> WindowStarts(int64_t num_samples, int64_t clip, int64_t hop) {
  std::vector<int64_t> starts;
  if (num_samples <= clip) return {0};
  for (int64_t s = 0; s + clip <= num_samples; s += hop) starts.push_back(s);
  return starts;
}

// What predict reports for a file: the mean softmax over the windows (the default), the
// softmax of the mean logits over the same windows (as track-level evaluation,
// trainer/training/track_eval.h) and the softmax of the paper's one mid-point window.
struct FilePrediction {
  torch::Tensor probabilities, track, midpoint;  // (classes) float64
  int64_t windows = 0;
};

// The windows of `samples` starting at `starts`, each zero-padded to a clip: (starts, clip).
torch::Tensor Windows(const std::vector<float>& samples, const int64_t* starts, int64_t count,
                      int64_t clip) {
  torch::Tensor clips = torch::zeros({count, clip}, torch::kFloat32);
  float* out = clips.data_ptr<float>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t len = std::min<int64_t>(clip, static_cast<int64_t>(samples.size()) - starts[i]);
    std::copy(samples.begin() + starts[i], samples.begin() + starts[i] + len, out + i * clip);
  }
  return clips;
}

FilePrediction Predict(ExportedModel& model, const std::vector<float>& samples, int64_t hop,
                       int64_t batch) {
  const int64_t clip = model.clip_samples;
  const int64_t n = static_cast<int64_t>(samples.size());
  std::vector<int64_t> starts = WindowStarts(n, clip, hop);
  FilePrediction out_prediction;
  out_prediction.windows = static_cast<int64_t>(starts.size());
  torch::NoGradGuard no_grad;
  torch::Tensor sum = torch::zeros({static_cast<int64_t>(model.classes.size())}, torch::kFloat64);
  torch::Tensor logit_sum = torch::zeros_like(sum);
  for (size_t first = 0; first < starts.size(); first += batch) {
    const int64_t count = std::min<int64_t>(batch, starts.size() - first);
    torch::Tensor logits =
        model.module.forward({Windows(samples, &starts[first], count, clip)}).toTensor();
    sum += torch::softmax(logits.to(torch::kFloat64), 1).sum(0);
    logit_sum += logits.to(torch::kFloat64).sum(0);
  }
  const double count = static_cast<double>(starts.size());
  out_prediction.probabilities = sum / count;
  out_prediction.track = torch::softmax(logit_sum / count, 0);
  std::mt19937_64 unused_rng(0);  // the test split's window draws nothing
  const int64_t mid = ClipStart(n, clip, Split::kTest, unused_rng);
  torch::Tensor mid_logits = model.module.forward({Windows(samples, &mid, 1, clip)}).toTensor();
  out_prediction.midpoint = torch::softmax(mid_logits.to(torch::kFloat64)[0], 0);
  return out_prediction;
}

// {"genre": the most probable, "probabilities": {class: p}} of a (classes) tensor.
Json GenreJson(const torch::Tensor& probs, const std::vector<std::string>& classes) {
  Json probabilities = Json::object();
  for (size_t c = 0; c < classes.size(); ++c) {
    probabilities[classes[c]] = probs[static_cast<int64_t>(c)].item<double>();
  }
  const int64_t best = probs.argmax().item<int64_t>();
  return {{"genre", classes[static_cast<size_t>(best)]}, {"probabilities", probabilities}};
}

int RunPredict(const PredictArgs& args) {
  if (args.format != "table" && args.format != "json") {
    std::fprintf(stderr, "mgr-train predict: --format must be table or json\n");
    return 2;
  }
  if (args.threads > 0) torch::set_num_threads(args.threads);
  Result<ExportedModel> loaded = LoadExportedModel(args.model);
  if (!loaded.ok()) {
    std::fprintf(stderr, "mgr-train predict: %s\n", loaded.status().message().c_str());
    return 1;
  }
  ExportedModel& model = *loaded;
  const int64_t hop = args.hop_seconds > 0
                          ? std::max<int64_t>(1, std::llround(args.hop_seconds * model.sample_rate))
                          : model.clip_samples;
  const size_t top = std::min<size_t>(std::max(args.top, 1), model.classes.size());

  int failures = 0;
  Json files = Json::array();
  if (args.format == "table") {
    std::printf("%-40s %7s  %s\n", "file", "windows", "top genres (mean probability)");
  }
  for (const std::string& file : args.files) {
    Json entry = {{"file", file}};
    std::string error;
    FilePrediction prediction;
    Result<std::vector<float>> audio = DecodeAudioFile(file, DecodeOptions{model.sample_rate});
    if (!audio.ok()) {
      error = audio.status().message();
    } else if (audio->empty()) {
      error = file + ": no audio samples";
    } else {
      try {
        prediction = Predict(model, *audio, hop, args.batch);
      } catch (const c10::Error& e) {
        error = file + ": " + e.what_without_backtrace();
      } catch (const std::exception& e) {
        error = file + ": " + e.what();
      }
    }
    if (!error.empty()) {
      ++failures;
      std::fprintf(stderr, "mgr-train predict: error: %s\n", error.c_str());
      std::fflush(stderr);
      entry["error"] = error;
      files.push_back(entry);
      continue;
    }
    const torch::Tensor& probs = prediction.probabilities;
    const int64_t windows = prediction.windows;
    std::vector<double> p(probs.data_ptr<double>(), probs.data_ptr<double>() + probs.numel());
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
    Json probabilities = Json::object();
    for (size_t c = 0; c < p.size(); ++c) probabilities[model.classes[c]] = p[c];
    Json ranked = Json::array();
    for (size_t i = 0; i < top; ++i) {
      ranked.push_back({{"genre", model.classes[order[i]]}, {"probability", p[order[i]]}});
    }
    entry["windows"] = windows;
    entry["genre"] = model.classes[order[0]];
    entry["probabilities"] = probabilities;
    entry["top"] = ranked;
    const Json track = GenreJson(prediction.track, model.classes);
    const Json midpoint = GenreJson(prediction.midpoint, model.classes);
    entry["track"] = track;
    entry["midpoint"] = midpoint;
    files.push_back(entry);
    if (args.format == "table") {
      std::string line;
      for (size_t i = 0; i < top; ++i) {
        char cell[96];
        std::snprintf(cell, sizeof cell, "%s%s %.3f", i ? "  " : "",
                      model.classes[order[i]].c_str(), p[order[i]]);
        line += cell;
      }
      if (args.compare) {
        line += "  | midpoint " + midpoint["genre"].get<std::string>() + ", track " +
                track["genre"].get<std::string>();
      }
      std::printf("%-40s %7lld  %s\n", file.c_str(), static_cast<long long>(windows), line.c_str());
      std::fflush(stdout);
    }
  }
  if (args.format == "json") {
    Json out = {{"model", args.model},
                {"classes", model.classes},
                {"sample_rate", model.sample_rate},
                {"clip_samples", model.clip_samples},
                {"hop_samples", hop},
                {"files", files}};
    std::printf("%s\n", out.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  }
  if (failures > 0) {
    std::fprintf(stderr, "mgr-train predict: %d of %zu files could not be predicted\n", failures,
                 args.files.size());
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterPredictCommand(CLI::App& app, CommandRunner* run) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", TrainerCommandHelp("predict"));
  cmd->add_option("MODEL", args->model, "exported model.pt (or its directory)")->required();
  cmd->add_option("FILE", args->files, "audio files (anything FFmpeg decodes)")->required();
  cmd->add_option("--format", args->format, "table or json")->capture_default_str();
  cmd->add_option("--hop-seconds", args->hop_seconds,
                  "distance between windows (default: one clip length)");
  cmd->add_option("--top", args->top, "genres shown per file in the table")->capture_default_str();
  cmd->add_option("--threads", args->threads, "intra-op threads (0 = libtorch's default)");
  cmd->add_flag("--compare", args->compare,
                "table: also the genre of the mid-point window and of the mean logits");
  cmd->callback([args, run] { *run = [args] { return RunPredict(*args); }; });
}

}  // namespace mgr
