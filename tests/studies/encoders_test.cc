// ResolveEncoders: a MixNet study importing its encoders from finished NNET1/NNET2 studies
// (stores written here as the orchestrator leaves them) and from exported models' model.json.
#include "studies/encoders.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "storage/storage.h"
#include "studies/playbook.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

namespace fs = std::filesystem;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A study file in `dir` with two stages; `decided` of them carry a decision and incumbent.
std::string WriteSourceStudy(const fs::path& dir, const std::string& name,
                             const std::string& family, const Json& fixed, const Json& chosen,
                             int decided) {
  Json file = {
      {"name", name},
      {"dataset",
       {{"metadata", "d/tracks.csv"},
        {"audio_dir", "d/a"},
        {"cache_dir", "c"},
        {"sample_rate", 22050},
        {"clip_samples", 131072}}},
      {"model", {{"family", family}}},
      {"fixed", fixed},
      {"retune", {{"lr", {{"type", "float"}, {"low", 1e-5}, {"high", 1e-2}, {"log", true}}}}},
      {"stages",
       Json::array(
           {{{"name", "base"}, {"trials", 1}},
            {{"name", "more"},
             {"trials", 1},
             {"params", {{"dropout", {{"type", "float"}, {"low", 0.0}, {"high", 0.5}}}}}}})}};
  const fs::path path = dir / (name + ".json");
  WriteFile(path, file.dump());
  auto storage = std::move(OpenStorage("sqlite:///" + (dir / (name + ".db")).string())).value();
  for (int i = 0; i < 2; ++i) {
    const int64_t id =
        *storage->CreateStudy(name + (i == 0 ? "/base" : "/more"), {StudyDirection::kMinimize});
    FrozenTrial t;
    t.state = TrialState::kComplete;
    t.values = {1.0};
    const int64_t trial = *storage->CreateTrial(id, &t);
    (void)trial;
    if (i >= decided) continue;
    Incumbent inc;
    for (const auto& [k, v] : chosen.items()) inc.hparams[k] = v;
    inc.value = 1.0;
    inc.stage = "base";
    inc.trial_number = 0;
    EXPECT_TRUE(storage->SetStudyUserAttr(id, "decision", Json{{"accepted", true}}).ok());
    EXPECT_TRUE(storage->SetStudyUserAttr(id, "incumbent", inc.ToJson()).ok());
  }
  return path.string();
}

Result<StudyFile> MixNet(const fs::path& dir, const Json& encoders,
                         const Json& fixed = Json::object()) {
  Json file = {
      {"name", "mix"},
      {"dataset", {{"metadata", "d/tracks.csv"}, {"audio_dir", "d/a"}, {"cache_dir", "c"}}},
      {"model", {{"family", "mixnet"}}},
      {"fixed", fixed},
      {"encoders", encoders},
      {"stages", Json::array({{{"name", "base"}, {"trials", 1}}})}};
  return ParseStudyJson(file, (dir / "mix.json").string());
}

TEST(EncodersTest, ImportsBothIncumbentsUnderMixNetsNames) {
  testing_util::TempDir tmp;
  const fs::path dir = tmp.path();
  WriteSourceStudy(dir, "n1", "nnet1", {{"conv_layers", 3}, {"dense_layers", 2}},
                   {{"conv_kernel_0", 64},
                    {"batch_norm", false},
                    {"lr", 0.01},
                    {"dropout", 0.2},
                    {"aug_noise_p", 0.3}},
                   2);
  WriteSourceStudy(dir, "n2", "nnet2", {{"res_channels", 32}, {"weight_decay", 0.01}},
                   {{"feature", "mel"}, {"normalization", "none"}, {"dense_units_0", 64}}, 2);
  // The NNET2 was exported: its final model is the weights; the NNET1 was not: its checkpoint.
  WriteFile(dir / "n2-runs/final/model/model.pt", "x");
  auto mix = MixNet(dir, {{"audio", {{"study", "n1.json"}}},
                          {"feature", {{"study", "n2.json"}}},
                          {"load_weights", true},
                          {"freeze", true}});
  ASSERT_TRUE(mix.ok()) << mix.status().message();
  Result<ImportedEncoders> r = ResolveEncoders(*mix);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::map<std::string, Json> want = {
      {"conv_layers", 3},
      {"conv_kernel_0", 64},
      {"audio_batch_norm", false},
      {"aug_noise_p", 0.3},
      {"res_channels", 32},
      {"feature", "mel"},
      {"normalization", "none"},
      {"clip_samples", 131072},  // the sources' clip, not the MixNet dataset's 262144
      {"init_audio_encoder", (dir / "n1-runs/trials/base/0/checkpoint/checkpoint.pt").string()},
      {"init_feature_encoder", (dir / "n2-runs/final/model").string()},
      {"freeze_encoders", true}};
  for (const auto& [k, v] : want) {
    ASSERT_TRUE(r->hparams.count(k)) << k;
    EXPECT_EQ(r->hparams.at(k), v) << k;
  }
  // Never a head, an optimiser setting or the learning rate.
  for (const char* k :
       {"dense_layers", "dense_units_0", "dropout", "lr", "weight_decay", "batch_norm"})
    EXPECT_EQ(r->hparams.count(k), 0u) << k;
  // sample_rate: the sources' 22050 is the MixNet dataset's already.
  EXPECT_EQ(r->hparams.size(), want.size());
  EXPECT_EQ(r->record["audio"]["family"], "nnet1");
}

TEST(EncodersTest, UnfinishedWrongFamilyConflictsAndMismatchesAreErrors) {
  testing_util::TempDir tmp;
  const fs::path dir = tmp.path();
  WriteSourceStudy(dir, "half", "nnet1", Json::object(), {{"conv_layers", 2}}, 1);
  WriteSourceStudy(dir, "n2", "nnet2", Json::object(), {{"res_blocks", 2}}, 2);
  auto err = [&](const Json& enc, const Json& fixed = Json::object()) {
    auto mix = MixNet(dir, enc, fixed);
    EXPECT_TRUE(mix.ok()) << mix.status().message();
    Result<ImportedEncoders> r = ResolveEncoders(*mix);
    EXPECT_FALSE(r.ok());
    return r.status().message();
  };
  EXPECT_NE(
      err({{"audio", {{"study", "half.json"}}}}).find("stage 'more' is not decided; run it first"),
      std::string::npos);
  EXPECT_NE(err({{"audio", {{"study", "n2.json"}}}})
                .find("is a nnet2; the audio encoder comes from an nnet1"),
            std::string::npos);
  EXPECT_NE(err({{"feature", {{"study", "n2.json"}}}}, {{"res_blocks", 1}})
                .find("res_blocks is imported from"),
            std::string::npos);
  // An exported NNET1 at another rate than the NNET2 study.
  WriteFile(dir / "m1/model.json", Json{{"family", "nnet1"},
                                        {"sample_rate", 44100},
                                        {"clip_samples", 262144},
                                        {"hparams", {{"conv_layers", 4}}}}
                                       .dump());
  EXPECT_NE(err({{"audio", {{"model", "m1"}}}, {"feature", {{"study", "n2.json"}}}})
                .find("MixNet needs one input"),
            std::string::npos);
  // The model alone imports its settings and rate.
  auto mix = MixNet(dir, {{"audio", {{"model", "m1/model.pt"}}}, {"load_weights", true}});
  ASSERT_TRUE(mix.ok());
  Result<ImportedEncoders> r = ResolveEncoders(*mix);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->hparams.at("conv_layers"), 4);
  EXPECT_EQ(r->hparams.at("sample_rate"), 44100);
  EXPECT_EQ(r->hparams.at("init_audio_encoder"), (dir / "m1").string());
}

TEST(EncodersTest, TheStudyFileChecksTheKey) {
  testing_util::TempDir tmp;
  auto bad = [&](const Json& enc) {
    auto r = MixNet(tmp.path(), enc);
    EXPECT_FALSE(r.ok());
    return r.status().message();
  };
  EXPECT_NE(bad({{"audio", {{"study", "a.json"}, {"model", "m"}}}}).find("exactly one of study"),
            std::string::npos);
  EXPECT_NE(bad({{"audio", {{"study", "a.json"}}}, {"freeze", true}}).find("need load_weights"),
            std::string::npos);
  EXPECT_NE(bad({{"audoi", {{"study", "a.json"}}}}).find("encoders.audoi: unknown key"),
            std::string::npos);
  Json nnet2 = {{"name", "x"},
                {"dataset", {{"metadata", "m"}, {"audio_dir", "a"}, {"cache_dir", "c"}}},
                {"model", {{"family", "nnet2"}}},
                {"encoders", {{"audio", {{"study", "a.json"}}}}},
                {"stages", Json::array({{{"name", "base"}, {"trials", 1}}})}};
  auto r = ParseStudyJson(nnet2, tmp.path() + "/x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("only a mixnet builds on"), std::string::npos);
}

}  // namespace
}  // namespace mgr
