#include "trainer/training/train_spec.h"

#include <gtest/gtest.h>

namespace mgr {
namespace {

// The example of docs/worker-protocol.md.
Json Example() {
  return Json::parse(R"({
    "version": 1,
    "trial": {"study": "demo/conv_layers", "number": 4, "trial_id": 17},
    "seed": 0, "device": "auto", "threads": 1,
    "checkpoint_dir": "/path/to/run/trials/demo-conv_layers-4",
    "export_dir": null, "evaluate_test": false,
    "data": {"metadata": "/data/fma_metadata/tracks.csv", "audio_dir": "/data/fma_small",
             "subset": "small", "sample_rate": 22050, "clip_samples": 262144,
             "cache_dir": "/data/.mgr-cache"},
    "model": {"family": "nnet2", "preset": "paper"},
    "hparams": {"lr": 0.0001, "batch_size": 64, "max_epochs": 20, "dense_layers": 2,
                "dense_units_0": 256, "dense_units_1": 64, "dropout_0": 0.1, "dropout_1": 0.1}
  })");
}

std::string Error(const Json& spec) {
  Result<TrainSpec> r = ParseTrainSpec(spec);
  return r.ok() ? "ok" : r.status().message();
}

TEST(TrainSpecTest, ParsesTheProtocolExample) {
  Result<TrainSpec> r = ParseTrainSpec(Example());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const TrainSpec& s = *r;
  EXPECT_EQ(s.trial["number"], 4);
  EXPECT_EQ(s.seed, 0u);
  EXPECT_EQ(s.device, "auto");
  EXPECT_EQ(s.threads, 1);
  EXPECT_EQ(s.checkpoint_dir, "/path/to/run/trials/demo-conv_layers-4");
  EXPECT_FALSE(s.export_dir.has_value());
  EXPECT_FALSE(s.evaluate_test);
  EXPECT_EQ(s.data.metadata_csv, "/data/fma_metadata/tracks.csv");
  EXPECT_EQ(s.data.audio_dir, "/data/fma_small");
  EXPECT_EQ(s.data.subset, "small");
  EXPECT_EQ(s.cache.cache_dir, "/data/.mgr-cache");
  EXPECT_EQ(s.cache.sample_rate, 22050);
  EXPECT_EQ(s.cache.min_samples, 262144);
  EXPECT_EQ(s.clip_samples, 262144);
  EXPECT_EQ(s.family, "nnet2");
  EXPECT_EQ(s.preset, "paper");
  EXPECT_EQ(s.params.max_epochs, 20);
  EXPECT_EQ(s.params.dense_units, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(s.params.res_channels, 256);  // from the preset
  EXPECT_EQ(s.hparams["dense_layers"], 2);
  EXPECT_EQ(s.hparams["weight_decay"], 0.005);  // complete, flat
}

TEST(TrainSpecTest, ErrorsNameTheJsonPath) {
  Json j = Example();
  j["data"]["clip_sampls"] = 5;
  EXPECT_NE(Error(j).find("data.clip_sampls: unknown key"), std::string::npos) << Error(j);
  j = Example();
  j["colour"] = "red";
  EXPECT_NE(Error(j).find("colour: unknown key"), std::string::npos);
  j = Example();
  j["hparams"]["lerning_rate"] = 0.1;
  EXPECT_NE(Error(j).find("hparams.lerning_rate: unknown hyperparameter for nnet2"),
            std::string::npos);
  j = Example();
  j["data"].erase("cache_dir");
  EXPECT_NE(Error(j).find("data.cache_dir: required"), std::string::npos);
  j = Example();
  j["data"]["clip_samples"] = 0;
  EXPECT_NE(Error(j).find("data.clip_samples: must be in [1"), std::string::npos);
  j = Example();
  j["model"]["family"] = "nnet9";
  EXPECT_NE(Error(j).find("model.family"), std::string::npos);
  j = Example();
  j["version"] = 2;
  EXPECT_NE(Error(j).find("version"), std::string::npos);
  j = Example();
  j["seed"] = -1;
  EXPECT_NE(Error(j).find("seed"), std::string::npos);
  j = Example();
  j["device"] = "tpu";
  EXPECT_NE(Error(j).find("device"), std::string::npos);
  j = Example();
  j["threads"] = 0;
  EXPECT_NE(Error(j).find("threads"), std::string::npos);
}

// The network is checked against clip_samples before any training.
TEST(TrainSpecTest, UnbuildableNetworkIsASpecError) {
  Json j = Example();
  j["data"]["clip_samples"] = 2048;  // 2 frames (2048 / hop 1024) for res_kernel 4
  std::string e = Error(j);
  EXPECT_NE(e.find("res_kernel = 4"), std::string::npos) << e;
  EXPECT_NE(e.find("clip_samples 2048"), std::string::npos) << e;
  j = Example();
  j["model"]["family"] = "nnet1";
  j["hparams"] = {{"conv_kernel_0", 300000}};
  e = Error(j);
  EXPECT_NE(e.find("conv_kernel_0 = 300000"), std::string::npos) << e;
}

// hparams.sample_rate / clip_samples (searched by a stage) override data's values and
// drive the cache (rate, min_samples), the features and the architecture check.
TEST(TrainSpecTest, HParamsOverrideSampleRateAndClipSamples) {
  Json j = Example();
  j["hparams"]["sample_rate"] = 44100;
  j["hparams"]["clip_samples"] = 524288;
  Result<TrainSpec> r = ParseTrainSpec(j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cache.sample_rate, 44100);
  EXPECT_EQ(r->clip_samples, 524288);
  EXPECT_EQ(r->cache.min_samples, 524288);
  EXPECT_EQ(r->hparams["sample_rate"], 44100);
  EXPECT_EQ(r->hparams["clip_samples"], 524288);
  // Not given: data's values, and the flat form does not carry them.
  r = ParseTrainSpec(Example());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cache.sample_rate, 22050);
  EXPECT_FALSE(r->hparams.contains("sample_rate"));
  // A clip too short for the network names the overridden length.
  j = Example();
  j["hparams"]["clip_samples"] = 2048;
  const std::string e = Error(j);
  EXPECT_NE(e.find("clip_samples 2048"), std::string::npos) << e;
}

TEST(TrainSpecTest, DefaultsAndExportDir) {
  Json j = Example();
  j.erase("seed");
  j.erase("device");
  j.erase("threads");
  j["export_dir"] = "/tmp/out";
  j["model"].erase("preset");
  j.erase("hparams");
  Result<TrainSpec> r = ParseTrainSpec(j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->seed, 0u);
  EXPECT_EQ(r->device, "auto");
  EXPECT_EQ(r->threads, 1);
  EXPECT_EQ(r->export_dir.value_or(""), "/tmp/out");
  EXPECT_EQ(r->params.dense_units, (std::vector<int64_t>{1024, 256, 64}));
}

}  // namespace
}  // namespace mgr
