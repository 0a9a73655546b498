// The paper's campaign (examples/paper/) shrunk, end to end with the real mgr-tune and
// mgr-train: the shipped study files copied and rewritten for the generated `tiny` dataset
// (8000 Hz, 2^14 samples, one trial per stage, one epoch, two final seeds), run by
// `mgr-tune campaign`, then run again, which must train nothing. Alone: ctest -R
// CampaignEndToEnd (label trainer); it prints its wall time. Built only with MGR_BUILD_TRAINER=ON.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/storage.h"
#include "studies/study_file.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string RunCommand(const std::string& cmd, int* rc) {
  std::string out;
  *rc = testing_util::Shell(cmd + " 2>&1", &out);
  return out;
}

Json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return in ? Json::parse(in, nullptr, false) : Json();
}

// A distribution's JSON with its choices (or range) replaced, the rest kept.
void Shrink(Json* stage, const std::string& name, const Json& distribution) {
  if (!stage->contains("params") || !(*stage)["params"].contains(name)) return;
  Json& p = (*stage)["params"][name];
  const Json per_layer = p.value("per_layer_of", Json());
  p = distribution;
  if (!per_layer.is_null()) p["per_layer_of"] = per_layer;
}

// Issue #13 lands in parts: the trainer's new hyperparameters (sample_rate, clip_samples,
// normalization, n_mfcc, the augmentation strengths) and the study file's `encoders`. Until
// both are in the tree this test runs what works: the shipped files without the stages
// that need them or change an encoder's architecture, and a MixNet given the encoders'
// settings and final models by hand. Set it to true once they are.
constexpr bool kWholeContract = true;

// Without the whole contract: the stages that can run, and the MixNet wired by hand.
void LeaveOutWhatIsMissing(const fs::path& dir, Json* j) {
  if ((*j)["model"]["family"] == "mixnet") {
    j->erase("encoders");
    Json& fixed = (*j)["fixed"];
    fixed["init_audio_encoder"] = (dir / "paper_nnet1-runs" / "final" / "model").string();
    fixed["init_feature_encoder"] = (dir / "paper_nnet2-runs" / "final" / "model").string();
    fixed["freeze_encoders"] = true;
    for (int i = 0; i < 4; ++i) fixed["conv_channels_" + std::to_string(i)] = 8;
    fixed["res_channels"] = 8;
    return;
  }
  Json kept = Json::array();
  for (const Json& stage : (*j)["stages"]) {
    const std::string name = stage["name"];
    if (name == "data" || name == "normalization" || name == "spectrogram" ||
        name == "augmentation_strength" || name == "conv_layers" || name == "channels" ||
        name == "kernels" || name == "res_blocks" || name == "bn_dropout")
      continue;
    kept.push_back(stage);
  }
  (*j)["stages"] = kept;
}

// The shipped study file, made to run in seconds on the tiny dataset: every stage keeps
// its parameters, with ranges that fit 2^14 samples and small widths.
Json ShrinkStudy(const fs::path& dir, Json j) {
  j["dataset"] = {{"metadata", "data/fma_metadata/tracks.csv"},
                  {"audio_dir", "data/fma_small"},
                  {"cache_dir", "cache"},
                  {"sample_rate", 8000},
                  {"clip_samples", 16384}};
  const std::string family = j["model"]["family"];
  // The shipped `fixed` (the layer counts that per-layer stages need) with a small budget.
  j["fixed"].update({{"max_epochs", 1}, {"batch_size", 8}, {"patience", 1}, {"dense_units_0", 16}});
  if (family == "nnet1") {
    for (int i = 0; i < 4; ++i) j["fixed"]["conv_channels_" + std::to_string(i)] = 8;
  }
  if (family == "nnet2") j["fixed"]["res_channels"] = 8;
  j["final"] = {{"max_epochs", 1}, {"patience", 1}, {"seeds", 2}};
  j["workers"] = {{"gpus", Json::array()}, {"cpu_workers", 2}, {"threads_per_worker", 1}};
  j["trial_timeout"] = 600;
  j["heartbeat"] = {{"interval", 5}, {"grace", 60}};
  j["pruner"] = {{"type", "nop"}};
  for (Json& stage : j["stages"]) {
    stage["trials"] = 1;
    Shrink(&stage, "sample_rate", {{"type", "categorical"}, {"choices", {8000}}});
    Shrink(&stage, "clip_samples", {{"type", "categorical"}, {"choices", {16384}}});
    Shrink(&stage, "conv_layers", {{"type", "int"}, {"low", 3}, {"high", 4}});
    Shrink(&stage, "conv_channels", {{"type", "categorical"}, {"choices", {4, 8}}});
    // At 2^14 samples the fourth layer sees 8 steps: a longer kernel is a spec error.
    Shrink(&stage, "conv_kernel", {{"type", "categorical"}, {"choices", {4, 8}}});
    Shrink(&stage, "res_channels", {{"type", "categorical"}, {"choices", {4, 8}}});
    Shrink(&stage, "res_blocks", {{"type", "int"}, {"low", 0}, {"high", 1}});
    Shrink(&stage, "aug_spec_time_max", {{"type", "categorical"}, {"choices", {4, 8}}});
    Shrink(&stage, "dense_layers", {{"type", "int"}, {"low", 1}, {"high", 2}});
    Shrink(&stage, "dense_units", {{"type", "int"}, {"low", 8}, {"high", 16}, {"log", true}});
  }
  if (!kWholeContract) LeaveOutWhatIsMissing(dir, &j);
  return j;
}

// Every trial of every stage, from the study's store.
int64_t CountTrials(const StudyFile& s, bool* all_decided) {
  auto storage = OpenStorage(s.storage_url);
  if (!storage.ok()) return -1;
  int64_t n = 0;
  *all_decided = true;
  for (size_t i = 0; i < s.stages.size(); ++i) {
    auto id = (*storage)->GetStudyId(s.StageStudyName(i));
    if (!id.ok()) {
      *all_decided = false;
      continue;
    }
    n += static_cast<int64_t>((*storage)->GetAllTrials(*id)->size());
    auto attrs = (*storage)->GetStudyUserAttrs(*id);
    *all_decided = *all_decided && attrs.ok() && attrs->count("decision");
  }
  return n;
}

TEST(CampaignEndToEndTest, ThePapersCampaignShrunkRunsAndResumes) {
  signal(SIGPIPE, SIG_IGN);
  const auto start = std::chrono::steady_clock::now();
  const fs::path dir = fs::temp_directory_path() / ("mgr_campaign_e2e_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  int rc = 0;
  std::string out = RunCommand(
      std::string(MGR_MAKE_DATASET) + " --size tiny --out " + (dir / "data").string() + " --seed 0",
      &rc);
  ASSERT_EQ(rc, 0) << out;
  const fs::path examples = fs::path(MGR_SOURCE_DIR) / "examples" / "paper";
  fs::copy_file(examples / "campaign.json", dir / "campaign.json");
  for (const char* f : {"nnet1.json", "nnet2.json", "mixnet.json"}) {
    Json j = ReadJson(examples / f);
    ASSERT_TRUE(j.is_object()) << f;
    std::ofstream(dir / f) << ShrinkStudy(dir, j).dump(2);
  }

  const std::string command = std::string(MGR_TUNE) + " campaign " +
                              (dir / "campaign.json").string() + " --plain --gpus 0 --worker " +
                              MGR_TRAIN;
  const std::string log = RunCommand(command, &rc);
  const double first_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(rc, 0) << log;

  std::vector<StudyFile> studies;
  std::vector<int64_t> trials;
  for (const char* f : {"nnet1.json", "nnet2.json", "mixnet.json"}) {
    auto s = LoadStudyFile((dir / f).string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    bool decided = false;
    trials.push_back(CountTrials(*s, &decided));
    EXPECT_TRUE(decided) << f << " has an undecided stage\n" << log;
    EXPECT_GE(trials.back(), static_cast<int64_t>(s->stages.size())) << f;
    studies.push_back(std::move(*s));
  }

  // The MixNet's trials carry the NNET1's and NNET2's tuned encoders and their final models,
  // frozen; a model that did not load would have failed the trial (the stage is decided
  // only with a complete trial, checked through the summary's metrics below).
  const StudyFile& n1 = studies[0];
  const StudyFile& n2 = studies[1];
  const StudyFile& mix = studies[2];
  const Json n1_result = ReadJson(fs::path(n1.run_dir) / "final" / "result.json");
  const Json n2_result = ReadJson(fs::path(n2.run_dir) / "final" / "result.json");
  Json mix_spec;
  for (const auto& e :
       fs::recursive_directory_iterator(fs::path(mix.run_dir) / "trials" / "base")) {
    if (e.path().filename().string().rfind("spec-", 0) == 0) mix_spec = ReadJson(e.path());
  }
  ASSERT_TRUE(mix_spec.is_object()) << "no spec of the MixNet's base trial under " << mix.run_dir;
  {
    auto storage = OpenStorage(mix.storage_url);
    ASSERT_TRUE(storage.ok());
    auto id = (*storage)->GetStudyId(mix.StageStudyName(0));
    ASSERT_TRUE(id.ok());
    auto attrs = (*storage)->GetStudyUserAttrs(*id);
    ASSERT_TRUE(attrs.ok());
    if (kWholeContract) {
      EXPECT_TRUE(attrs->count("imported")) << "no record of the imported encoders\n" << log;
    }
  }
  const Json& hp = mix_spec["hparams"];
  EXPECT_THAT(hp.value("init_audio_encoder", ""), HasSubstr(n1.run_dir + "/final/model")) << hp;
  EXPECT_THAT(hp.value("init_feature_encoder", ""), HasSubstr(n2.run_dir + "/final/model")) << hp;
  EXPECT_EQ(hp.value("freeze_encoders", false), true) << hp;
  // NNET1's tuned conv layers and NNET2's tuned channels, whatever the stages chose.
  Json n1_config = n1_result["incumbent"]["hparams"];
  if (n1_config.contains("conv_layers")) {
    EXPECT_EQ(hp["conv_layers"], n1_config["conv_layers"]) << hp;
  }
  Json n2_config = n2_result["incumbent"]["hparams"];
  if (n2_config.contains("res_channels")) {
    EXPECT_EQ(hp["res_channels"], n2_config["res_channels"]) << hp;
  }

  // The frozen encoders of the exported MixNet are the NNET1's and NNET2's final weights.
  const std::string script = (dir / "compare.py").string();
  std::ofstream(script) << R"(import sys, torch
def weights(path, prefix):
    m = torch.jit.load(path, map_location="cpu")
    d = {k[len(prefix):]: v for k, v in m.state_dict().items() if k.startswith(prefix)}
    assert d, (path, prefix, list(m.state_dict())[:5])
    return d
mix = sys.argv[1]
for src, src_prefix, mix_prefix in ((sys.argv[2], "net_encoder_", "net_audio_encoder_"),
                                    (sys.argv[3], "net_encoder_", "net_feature_encoder_")):
    a, b = weights(src, src_prefix), weights(mix, mix_prefix)
    assert a.keys() == b.keys(), (sorted(a)[:5], sorted(b)[:5])
    for k in a:
        assert torch.equal(a[k], b[k]), k
print("encoders equal")
)";
  auto model = [](const StudyFile& s) {
    return (fs::path(s.run_dir) / "final" / "model" / "model.pt").string();
  };
  out = RunCommand(
      std::string(MGR_PYTHON) + " " + script + " " + model(mix) + " " + model(n1) + " " + model(n2),
      &rc);
  EXPECT_EQ(rc, 0) << out;

  // The summary: three rows whose numbers are each result.json's.
  const Json summary = ReadJson(dir / "paper-summary.json");
  ASSERT_TRUE(summary.is_object()) << log;
  EXPECT_TRUE(fs::exists(dir / "paper-summary.md"));
  ASSERT_EQ(summary["nets"].size(), 3u) << summary.dump(2);
  EXPECT_THAT(log, HasSubstr("| nnet1 | paper_nnet1 |"));
  EXPECT_THAT(log, HasSubstr("| mixnet | paper_mixnet |"));
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(studies[i].name);
    const Json& net = summary["nets"][i];
    EXPECT_EQ(net["study"], studies[i].name);
    EXPECT_EQ(net["family"], studies[i].model_family);
    EXPECT_EQ(net["trials"], trials[i]);
    EXPECT_EQ(net["failed_trials"], 0);  // every stage's parameters could be drawn and trained
    ASSERT_FALSE(net.contains("missing")) << net.dump(2);
    const Json result = ReadJson(fs::path(studies[i].run_dir) / "final" / "result.json");
    ASSERT_EQ(result["seeds"].size(), 2u) << result.dump(2);
    for (const char* metric : {"accuracy", "macro_f1", "loss"}) {
      // The orchestrator's own summary over the seeds.
      const Json& expected = result["summary"][metric];
      EXPECT_DOUBLE_EQ(net["test"][metric]["mean"].get<double>(), expected["mean"].get<double>())
          << metric;
      EXPECT_DOUBLE_EQ(net["test"][metric]["std"].get<double>(), expected["std"].get<double>())
          << metric;
      EXPECT_EQ(net["test"][metric]["n"], 2);
      // Track level: the mean of the seeds' figures.
      const double track = (result["seeds"][0]["test"]["track"][metric].get<double>() +
                            result["seeds"][1]["test"]["track"][metric].get<double>()) /
                           2;
      EXPECT_NEAR(net["test_track"][metric]["mean"].get<double>(), track, 1e-12) << metric;
    }
    EXPECT_EQ(net["incumbent"], result["incumbent"]);
  }

  // Again: everything is finished, nothing trains and nothing changes in the stores.
  const auto again_start = std::chrono::steady_clock::now();
  const std::string again = RunCommand(command, &rc);
  const double again_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - again_start).count();
  ASSERT_EQ(rc, 0) << again;
  EXPECT_THAT(again, Not(HasSubstr("] start "))) << again;
  EXPECT_THAT(again, Not(HasSubstr("evaluating the incumbent"))) << again;
  for (size_t i = 0; i < 3; ++i) {
    bool decided = false;
    EXPECT_EQ(CountTrials(studies[i], &decided), trials[i]) << studies[i].name;
  }
  EXPECT_EQ(ReadJson(dir / "paper-summary.json"), summary);
  std::cout << "campaign_e2e: first run (dataset included) " << first_seconds << " s, second run "
            << again_seconds << " s\n";
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace mgr
