// `mgr-train prepare`: decodes every track of an FMA subset once into the shared clip cache.
#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "trainer/data/clip_cache.h"
#include "trainer/cli/commands.h"
#include "trainer/data/fma_metadata.h"

namespace mgr {
namespace {

struct PrepareArgs {
  std::string data_json;
  FmaOptions fma;
  CacheOptions cache;
};

// Reads the "data" block of docs/worker-protocol.md from a file holding either that block
// or a whole trial spec. Fields given on the command line win.
Status ReadDataJson(const std::string& path, PrepareArgs* args, const CLI::App& app) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open");
  nlohmann::json j;
  try {
    in >> j;
    if (j.contains("data")) j = j.at("data");
    auto str = [&](const char* key, const char* flag, std::string* out) {
      if (j.contains(key) && app.count(flag) == 0) *out = j.at(key).get<std::string>();
    };
    str("metadata", "--metadata", &args->fma.metadata_csv);
    str("audio_dir", "--audio-dir", &args->fma.audio_dir);
    str("subset", "--subset", &args->fma.subset);
    str("cache_dir", "--cache-dir", &args->cache.cache_dir);
    if (j.contains("sample_rate") && app.count("--sample-rate") == 0) {
      args->cache.sample_rate = j.at("sample_rate").get<int>();
    }
    if (j.contains("clip_samples") && app.count("--clip-samples") == 0) {
      args->cache.min_samples = j.at("clip_samples").get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
  return Status::Ok();
}

int RunPrepare(const PrepareArgs& given, const CLI::App& app) {
  PrepareArgs args = given;
  if (!args.data_json.empty()) {
    Status s = ReadDataJson(args.data_json, &args, app);
    if (!s.ok()) {
      std::fprintf(stderr, "prepare: %s\n", s.ToString().c_str());
      return 2;
    }
  }
  const char* missing = args.fma.metadata_csv.empty()  ? "--metadata"
                        : args.fma.audio_dir.empty()   ? "--audio-dir"
                        : args.cache.cache_dir.empty() ? "--cache-dir"
                                                       : nullptr;
  if (missing != nullptr) {
    std::fprintf(stderr, "prepare: %s is required (or give it in --data)\n", missing);
    return 2;
  }
  Result<FmaIndex> index = LoadFmaIndex(args.fma);
  if (!index.ok()) {
    std::fprintf(stderr, "prepare: %s\n", index.status().ToString().c_str());
    return 1;
  }
  for (const std::string& w : index->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::fprintf(stderr, "prepare: %zu tracks in subset '%s' (%zu classes), %lld rows skipped\n",
               index->tracks.size(), args.fma.subset.c_str(), index->classes.size(),
               static_cast<long long>(index->rows_skipped));
  Result<PrepareSummary> summary = PrepareClipCache(args.fma, *index, args.cache);
  if (!summary.ok()) {
    std::fprintf(stderr, "prepare: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  for (const std::string& w : summary->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::fprintf(stderr, "prepare: decoded %lld, reused %lld, skipped %lld tracks; cache %s\n",
               static_cast<long long>(summary->decoded), static_cast<long long>(summary->reused),
               static_cast<long long>(summary->skipped),
               ClipCacheDirectory(args.fma, args.cache).c_str());
  return 0;
}

}  // namespace

void RegisterPrepareCommand(CLI::App& app, CommandRunner* run) {
  auto args = std::make_shared<PrepareArgs>();
  CLI::App* cmd = app.add_subcommand("prepare", TrainerCommandHelp("prepare"));
  cmd->add_option("--data", args->data_json,
                  "JSON file with the \"data\" block of a trial spec (or a whole spec)");
  cmd->add_option("--metadata", args->fma.metadata_csv, "fma_metadata/tracks.csv");
  cmd->add_option("--audio-dir", args->fma.audio_dir, "audio directory, e.g. fma_small");
  cmd->add_option("--subset", args->fma.subset, "small, medium or large")->capture_default_str();
  cmd->add_option("--sample-rate", args->cache.sample_rate, "Hz")->capture_default_str();
  cmd->add_option("--clip-samples", args->cache.min_samples,
                  "clip length in samples; shorter tracks are skipped")
      ->capture_default_str();
  cmd->add_option("--cache-dir", args->cache.cache_dir, "cache directory shared by all workers");
  cmd->add_option("--threads", args->cache.threads, "decoding threads (0 = all cores)")
      ->capture_default_str();
  cmd->callback([args, cmd, run] { *run = [args, cmd] { return RunPrepare(*args, *cmd); }; });
}

}  // namespace mgr
