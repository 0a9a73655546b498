// The campaign file, its checks across studies, the paper's example campaign
// (examples/paper/) and the summary read from hand-written result.json files.
#include "tuner/campaign.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mgr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CampaignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mgr_campaign_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string Write(const std::string& name, const Json& j) {
    std::ofstream((dir_ / name).string()) << j.dump(2);
    return (dir_ / name).string();
  }
  // A small valid study file of `family`, optionally with a MixNet's encoders.
  Json Study(const std::string& name, const std::string& family, Json encoders = Json()) {
    Json j = {
        {"name", name},
        {"dataset", {{"metadata", "m.csv"}, {"audio_dir", "audio"}, {"cache_dir", "cache"}}},
        {"model", {{"family", family}}},
        {"stages", {{{"name", "base"}, {"trials", 1}}}},
        {"retune", {{"lr", {{"type", "float"}, {"low", 1e-5}, {"high", 1e-2}, {"log", true}}}}}};
    if (!encoders.is_null()) j["encoders"] = encoders;
    return j;
  }
  fs::path dir_;
};

TEST_F(CampaignTest, ParsesAFileWithPathsRelativeToIt) {
  const std::string path = Write(
      "c.json",
      {{"name", "paper"}, {"description", "three nets"}, {"studies", {"a.json", "sub/b.json"}}});
  auto c = LoadCampaignFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "paper");
  EXPECT_EQ(c->description, "three nets");
  EXPECT_EQ(c->dir, fs::weakly_canonical(dir_).string());
  ASSERT_EQ(c->study_paths.size(), 2u);
  EXPECT_EQ(c->study_paths[0], (fs::weakly_canonical(dir_) / "a.json").string());
  EXPECT_EQ(c->study_paths[1], (fs::weakly_canonical(dir_) / "sub" / "b.json").string());
}

TEST_F(CampaignTest, EveryErrorNamesTheFileAndTheJsonPath) {
  const std::string path =
      Write("c.json", {{"name", "a b"}, {"studie", 1}, {"studies", {"a.json", 3}}});
  auto c = LoadCampaignFile(path);
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr(path + ": studie: unknown key"));
  EXPECT_THAT(m, HasSubstr(path + ": name: only letters"));
  EXPECT_THAT(m, HasSubstr(path + ": studies[1]: must be a study file's path"));

  auto empty = LoadCampaignFile(Write("e.json", {{"name", "x"}, {"studies", Json::array()}}));
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("studies: required"));
  EXPECT_FALSE(LoadCampaignFile((dir_ / "missing.json").string()).ok());
}

TEST_F(CampaignTest, EveryStudyIsValidatedBeforeAnythingRuns) {
  Write("a.json", Study("a", "nnet1"));
  Json bad = Study("b", "nnet2");
  bad["stages"][0]["trials"] = 0;
  Write("b.json", bad);
  Write("c.json", Study("a", "nnet2"));  // the same study name as a.json
  auto c = LoadCampaignFile(
      Write("camp.json", {{"name", "x"}, {"studies", {"a.json", "b.json", "c.json", "a.json"}}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto s = LoadCampaignStudies(*c);
  ASSERT_FALSE(s.ok());
  const std::string m(s.status().message());
  EXPECT_THAT(m, HasSubstr("camp.json: studies[1]: " +
                           fs::weakly_canonical(dir_ / "b.json").string() + ": stages[0].trials"));
  EXPECT_THAT(m, HasSubstr("studies[2]: "));
  EXPECT_THAT(m, HasSubstr("study name 'a' is already studies[0]"));
  EXPECT_THAT(m, HasSubstr("studies[3]: "));
  EXPECT_THAT(m, HasSubstr("is already studies[0]"));
}

// Needs the study file's `encoders` (issue #13, point 1).
TEST_F(CampaignTest, AMixNetsEncoderStudiesMustRunBeforeIt) {
  Write("n1.json", Study("n1", "nnet1"));
  Write("n2.json", Study("n2", "nnet2"));
  Write("mix.json", Study("mix", "mixnet",
                          {{"audio", {{"study", "n1.json"}}},
                           {"feature", {{"study", "n2.json"}}},
                           {"load_weights", true},
                           {"freeze", true}}));
  Write("swapped.json",
        Study("swapped", "mixnet",
              {{"audio", {{"study", "n2.json"}}}, {"feature", {{"study", "n1.json"}}}}));
  auto ok = LoadCampaignFile(
      Write("ok.json", {{"name", "ok"}, {"studies", {"n1.json", "n2.json", "mix.json"}}}));
  ASSERT_TRUE(ok.ok());
  auto studies = LoadCampaignStudies(*ok);
  ASSERT_TRUE(studies.ok()) << studies.status().ToString();
  EXPECT_EQ(studies->size(), 3u);

  auto later = LoadCampaignStudies(*LoadCampaignFile(
      Write("later.json", {{"name", "l"}, {"studies", {"n1.json", "mix.json", "n2.json"}}})));
  ASSERT_FALSE(later.ok());
  EXPECT_THAT(
      std::string(later.status().message()),
      HasSubstr("studies[1] (" + fs::weakly_canonical(dir_ / "mix.json").string() +
                "): encoders.feature.study " + fs::weakly_canonical(dir_ / "n2.json").string() +
                " runs after it (studies[2])"));

  auto absent = LoadCampaignStudies(*LoadCampaignFile(
      Write("absent.json", {{"name", "a"}, {"studies", {"n2.json", "mix.json"}}})));
  ASSERT_FALSE(absent.ok());
  EXPECT_THAT(std::string(absent.status().message()),
              HasSubstr("encoders.audio.study " + fs::weakly_canonical(dir_ / "n1.json").string() +
                        " is not in the campaign"));

  auto swapped = LoadCampaignStudies(*LoadCampaignFile(
      Write("sw.json", {{"name", "s"}, {"studies", {"n1.json", "n2.json", "swapped.json"}}})));
  ASSERT_FALSE(swapped.ok());
  EXPECT_THAT(std::string(swapped.status().message()), HasSubstr("is a nnet2 study, not nnet1"));
}

// Every campaign under examples/ (the paper's, the real-music check) loads with its studies.
TEST(CampaignFileTest, EveryExampleCampaignLoads) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(MGR_SOURCE_DIR) / "examples")) {
    const fs::path file = e.path() / "campaign.json";
    if (!e.is_directory() || !fs::exists(file)) continue;
    SCOPED_TRACE(file.string());
    auto campaign = LoadCampaignFile(file.string());
    ASSERT_TRUE(campaign.ok()) << campaign.status().ToString();
    auto studies = LoadCampaignStudies(*campaign);
    ASSERT_TRUE(studies.ok()) << studies.status().ToString();
    EXPECT_EQ(studies->size(), campaign->study_paths.size());
    ++n;
  }
  EXPECT_GE(n, 2);
}

// --- examples/paper: the paper's campaign as shipped.

const ParamSpec* FindParam(const StudyFile& s, const std::string& stage, const std::string& name) {
  for (const auto& st : s.stages) {
    if (st.name != stage) continue;
    for (const auto& p : st.params)
      if (p.name == name) return &p;
  }
  return nullptr;
}

bool Holds(const Distribution& d, const Json& value) {
  auto internal = ToInternal(d, value);
  return internal.ok() && Contains(d, *internal);
}

TEST(PaperCampaignTest, TheExamplesValidateAndContainThePapersValues) {
  const std::string dir = std::string(MGR_SOURCE_DIR) + "/examples/paper";
  auto campaign = LoadCampaignFile(dir + "/campaign.json");
  ASSERT_TRUE(campaign.ok()) << campaign.status().ToString();
  EXPECT_EQ(campaign->name, "paper");
  auto studies = LoadCampaignStudies(*campaign);
  ASSERT_TRUE(studies.ok()) << studies.status().ToString();
  ASSERT_EQ(studies->size(), 3u);
  const StudyFile& n1 = (*studies)[0];
  const StudyFile& n2 = (*studies)[1];
  const StudyFile& mix = (*studies)[2];
  EXPECT_EQ(n1.model_family, "nnet1");
  EXPECT_EQ(n2.model_family, "nnet2");
  EXPECT_EQ(mix.model_family, "mixnet");
  for (const StudyFile* s : {&n1, &n2, &mix}) {
    SCOPED_TRACE(s->name);
    EXPECT_EQ(s->dataset["sample_rate"], 44100);
    EXPECT_EQ(s->dataset["clip_samples"], 262144);
    EXPECT_EQ(s->dataset["subset"], "small");
    ASSERT_TRUE(s->final_training.has_value());
    EXPECT_EQ(s->final_training->max_epochs, 100);
    EXPECT_EQ(s->final_training->patience, 20);
    EXPECT_EQ(s->final_training->seeds.size(), 5u);
    // The learning rate is re-tuned in every stage and holds the paper's 1e-4 and 5e-5.
    ASSERT_EQ(s->retune.size(), 1u);
    EXPECT_EQ(s->retune[0].name, "lr");
    EXPECT_TRUE(Holds(s->retune[0].distribution, 1e-4));
    EXPECT_TRUE(Holds(s->retune[0].distribution, 5e-5));
    const ParamSpec* wd = FindParam(*s, "weight_decay", "weight_decay");
    ASSERT_NE(wd, nullptr);
    EXPECT_TRUE(Holds(wd->distribution, 0.005));
  }
  // Section III's order.
  auto names = [](const StudyFile& s) {
    std::vector<std::string> v;
    for (const auto& st : s.stages) v.push_back(st.name);
    return v;
  };
  EXPECT_THAT(names(n1),
              ::testing::ElementsAre("base", "optimizer", "data", "augmentation",
                                     "augmentation_strength", "conv_layers", "channels", "kernels",
                                     "dense", "bn_dropout", "weight_decay", "adam_betas"));
  EXPECT_THAT(names(n2), ::testing::ElementsAre(
                             "base", "optimizer", "data", "normalization", "spectrogram",
                             "augmentation", "augmentation_strength", "res_blocks", "channels",
                             "kernels", "dense", "bn_dropout", "weight_decay", "adam_betas"));
  EXPECT_THAT(names(mix), ::testing::ElementsAre("base", "dense", "dropout", "weight_decay"));

  // NNET1 (REFERENCE.md section 1): kernels 128/32/16/8, channels 64..512, 4 conv layers,
  // 4 dense layers of 512/128/128/64, Adam, noise p 0.5 and time mask p 1.
  const ParamSpec* kernel = FindParam(n1, "kernels", "conv_kernel");
  ASSERT_NE(kernel, nullptr);
  EXPECT_EQ(kernel->per_layer_of, "conv_layers");
  for (int k : {128, 32, 16, 8}) EXPECT_TRUE(Holds(kernel->distribution, k)) << k;
  for (int c : {64, 128, 256, 512})
    EXPECT_TRUE(Holds(FindParam(n1, "channels", "conv_channels")->distribution, c)) << c;
  EXPECT_TRUE(Holds(FindParam(n1, "conv_layers", "conv_layers")->distribution, 4));
  EXPECT_TRUE(Holds(FindParam(n1, "dense", "dense_layers")->distribution, 4));
  for (int u : {512, 128, 64})
    EXPECT_TRUE(Holds(FindParam(n1, "dense", "dense_units")->distribution, u)) << u;
  EXPECT_TRUE(Holds(FindParam(n1, "optimizer", "optimizer")->distribution, "adam"));
  EXPECT_TRUE(Holds(FindParam(n1, "optimizer", "optimizer")->distribution, "sgd"));
  EXPECT_TRUE(Holds(FindParam(n1, "data", "sample_rate")->distribution, 44100));
  EXPECT_TRUE(Holds(FindParam(n1, "data", "clip_samples")->distribution, 262144));
  EXPECT_TRUE(Holds(FindParam(n1, "augmentation", "aug_noise_p")->distribution, 0.5));
  EXPECT_TRUE(Holds(FindParam(n1, "augmentation", "aug_time_mask_p")->distribution, 1.0));
  EXPECT_TRUE(Holds(FindParam(n1, "augmentation_strength", "aug_noise_max")->distribution, 0.015));
  EXPECT_TRUE(
      Holds(FindParam(n1, "augmentation_strength", "aug_time_mask_max")->distribution, 0.15));
  EXPECT_TRUE(Holds(FindParam(n1, "bn_dropout", "batch_norm")->distribution, true));
  EXPECT_TRUE(Holds(FindParam(n1, "bn_dropout", "dropout")->distribution, 0.0));
  EXPECT_TRUE(Holds(FindParam(n1, "adam_betas", "beta1")->distribution, 0.9));
  EXPECT_TRUE(Holds(FindParam(n1, "adam_betas", "beta2")->distribution, 0.999));

  // NNET2: MFCC with 20 coefficients, per-clip normalization, 256 channels, kernel 4, one
  // residual block, 3 dense layers of 1024/256/64 with dropout 0.1, spectrogram masks of 30
  // frames and 2 coefficients, noise 0.015, each with p 0.5.
  EXPECT_TRUE(Holds(FindParam(n2, "normalization", "normalization")->distribution, "clip"));
  EXPECT_TRUE(Holds(FindParam(n2, "spectrogram", "feature")->distribution, "mfcc"));
  EXPECT_TRUE(Holds(FindParam(n2, "spectrogram", "feature")->distribution, "mel"));
  EXPECT_TRUE(Holds(FindParam(n2, "spectrogram", "n_mfcc")->distribution, 20));
  EXPECT_TRUE(Holds(FindParam(n2, "res_blocks", "res_blocks")->distribution, 1));
  EXPECT_TRUE(Holds(FindParam(n2, "channels", "res_channels")->distribution, 256));
  EXPECT_TRUE(Holds(FindParam(n2, "kernels", "res_kernel")->distribution, 4));
  EXPECT_TRUE(Holds(FindParam(n2, "dense", "dense_layers")->distribution, 3));
  for (int u : {1024, 256, 64})
    EXPECT_TRUE(Holds(FindParam(n2, "dense", "dense_units")->distribution, u)) << u;
  EXPECT_TRUE(Holds(FindParam(n2, "bn_dropout", "dropout")->distribution, 0.1));
  for (const char* p : {"aug_spec_time_p", "aug_spec_coef_p", "aug_spec_noise_p"})
    EXPECT_TRUE(Holds(FindParam(n2, "augmentation", p)->distribution, 0.5)) << p;
  EXPECT_TRUE(Holds(FindParam(n2, "augmentation_strength", "aug_spec_time_max")->distribution, 30));
  EXPECT_TRUE(Holds(FindParam(n2, "augmentation_strength", "aug_spec_coef_max")->distribution, 2));
  EXPECT_TRUE(
      Holds(FindParam(n2, "augmentation_strength", "aug_spec_noise_std")->distribution, 0.015));

  // MixNet: 3 dense layers of 512/256/128 with dropout 0.1; weight decay 0 is the paper's, a
  // log range cannot hold it, so its low end stands for it.
  EXPECT_TRUE(Holds(FindParam(mix, "dense", "dense_layers")->distribution, 3));
  for (int u : {512, 256, 128})
    EXPECT_TRUE(Holds(FindParam(mix, "dense", "dense_units")->distribution, u)) << u;
  EXPECT_TRUE(Holds(FindParam(mix, "dropout", "dropout")->distribution, 0.1));
}

// --- the summary, from result.json files written here with hand-computed figures.

TEST_F(CampaignTest, TheSummaryAveragesTheFinalSeedsAndSaysWhatIsMissing) {
  // Study a: final runs over 3 seeds (one failed); study b: one export; study c: nothing.
  for (const char* n : {"a", "b", "c"}) {
    Json s = Study(n, std::string(n) == "c" ? "mixnet" : "nnet1");
    s["run_dir"] = std::string("runs/") + n;
    Write(std::string(n) + ".json", s);
    fs::create_directories(dir_ / "runs" / n / "final");
  }
  auto test = [](double acc, double f1, double loss, double track_acc) {
    return Json{{"accuracy", acc},
                {"macro_f1", f1},
                {"loss", loss},
                {"track", {{"accuracy", track_acc}, {"macro_f1", f1 + 0.1}, {"loss", loss - 0.1}}}};
  };
  Json a = {{"incumbent",
             {{"hparams", {{"lr", 0.0003}, {"conv_layers", 4}}},
              {"value", 1.5},
              {"stage", "kernels"},
              {"trial_number", 2}}},
            {"seeds",
             {{{"seed", 0}, {"test", test(0.4, 0.3, 1.8, 0.5)}},
              {{"seed", 1}, {"error", "out of memory"}},
              {{"seed", 2}, {"test", test(0.6, 0.5, 1.6, 0.7)}}}},
            {"summary", Json::object()},
            {"test", test(0.6, 0.5, 1.6, 0.7)}};
  std::ofstream(dir_ / "runs/a/final/result.json") << a.dump();
  Json b = {{"incumbent", {{"hparams", Json::object()}, {"stage", "base"}, {"trial_number", 0}}},
            {"test", {{"accuracy", 0.5}, {"macro_f1", 0.25}, {"loss", 1.7}}},
            {"model_path", "m.pt"}};
  std::ofstream(dir_ / "runs/b/final/result.json") << b.dump();

  CampaignFile c;
  c.name = "t";
  std::vector<CampaignRow> rows;
  for (const char* n : {"a", "b", "c"}) {
    auto s = LoadStudyFile((dir_ / (std::string(n) + ".json")).string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    rows.push_back(ReadCampaignRow(*s));
  }
  EXPECT_EQ(rows[0].trials, 0);  // no store yet
  EXPECT_TRUE(rows[0].missing.empty());
  EXPECT_THAT(rows[2].missing, HasSubstr("no export"));
  Json j = CampaignSummaryJson(c, rows);
  ASSERT_EQ(j["nets"].size(), 3u);
  const Json& na = j["nets"][0]["test"];
  // Seeds 0 and 2: mean 0.5, sample std sqrt(((0.1)^2 * 2) / 1) = 0.1414...
  EXPECT_NEAR(na["accuracy"]["mean"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(na["accuracy"]["std"].get<double>(), std::sqrt(0.02), 1e-12);
  EXPECT_EQ(na["accuracy"]["n"], 2);
  EXPECT_NEAR(na["loss"]["mean"].get<double>(), 1.7, 1e-12);
  EXPECT_NEAR(j["nets"][0]["test_track"]["accuracy"]["mean"].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(j["nets"][0]["test_track"]["macro_f1"]["mean"].get<double>(), 0.5, 1e-12);
  const Json& nb = j["nets"][1]["test"];
  EXPECT_EQ(nb["accuracy"]["mean"], 0.5);
  EXPECT_TRUE(nb["accuracy"]["std"].is_null());
  EXPECT_EQ(nb["accuracy"]["n"], 1);
  EXPECT_FALSE(j["nets"][1].contains("test_track"));
  EXPECT_EQ(j["nets"][1]["model_path"], "m.pt");
  EXPECT_THAT(j["nets"][2]["missing"].get<std::string>(), HasSubstr("no export"));
  EXPECT_FALSE(j["nets"][2].contains("test"));

  const std::string md = CampaignSummaryMarkdown(c, rows);
  EXPECT_THAT(
      md,
      HasSubstr(
          "| nnet1 | a | 0 | 2 | 0.5 +- 0.1414 | 0.4 +- 0.1414 | 1.7 +- 0.1414 | 0.6 +- 0.1414 |"));
  EXPECT_THAT(md, HasSubstr("| nnet1 | b | 0 | export | 0.5 | 0.25 | 1.7 | - | - | - |"));
  EXPECT_THAT(md, HasSubstr("| mixnet | c | 0 | | no export"));
  EXPECT_THAT(md,
              HasSubstr("- a (nnet1): stage kernels #2, validation 1.5; conv_layers=4, lr=0.0003"));
}

}  // namespace
}  // namespace mgr
