#include "studies/study_file.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mgr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

Json Minimal() {
  return Json::parse(R"({
    "name": "s",
    "dataset": {"metadata": "data/tracks.csv", "audio_dir": "data/audio", "cache_dir": "cache"},
    "model": {"family": "nnet2"},
    "retune": {"lr": {"type": "float", "low": 1e-5, "high": 1e-2, "log": true}},
    "stages": [{"name": "base", "trials": 3},
               {"name": "dense", "trials": 4, "params": {
                  "dense_layers": {"type": "int", "low": 1, "high": 3},
                  "dense_units": {"type": "int", "low": 4, "high": 256, "log": true,
                                  "per_layer_of": "dense_layers"}}}]
  })");
}

std::string Error(const Json& j) {
  auto r = ParseStudyJson(j, "/tmp/x/study.json");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(StudyFileTest, MinimalFileGetsDefaultsAndAbsolutePaths) {
  auto r = ParseStudyJson(Minimal(), "/tmp/x/study.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const StudyFile& s = *r;
  EXPECT_EQ(s.storage_url, "sqlite:////tmp/x/s.db");
  EXPECT_EQ(s.run_dir, "/tmp/x/s-runs");
  EXPECT_EQ(s.dataset["metadata"], "/tmp/x/data/tracks.csv");
  EXPECT_EQ(s.dataset["cache_dir"], "/tmp/x/cache");
  EXPECT_EQ(s.dataset["sample_rate"], 22050);
  EXPECT_EQ(s.direction, StudyDirection::kMinimize);
  ASSERT_EQ(s.stages.size(), 2u);
  EXPECT_EQ(s.StageStudyName(1), "s/dense");
  // The study's retune applies to every stage that does not override it.
  ASSERT_EQ(s.stages[0].retune.size(), 1u);
  EXPECT_EQ(s.stages[1].retune[0].name, "lr");
  ASSERT_EQ(s.stages[1].params.size(), 2u);
  EXPECT_EQ(s.stages[1].params[1].per_layer_of, std::optional<std::string>("dense_layers"));
  EXPECT_EQ(s.stages[1].sampler["type"], "tpe");
  EXPECT_EQ(s.stages[1].pruner["type"], "median");
}

TEST(StudyFileTest, BoundsErrorNamesTheJsonPath) {
  Json j = Minimal();
  j["stages"][1]["params"]["channels"] = {{"type", "int"}, {"low", 512}, {"high", 256}};
  EXPECT_THAT(
      Error(j),
      HasSubstr("study.json: stages[1].params.channels: low must be <= high (got 512 > 256)"));
}

TEST(StudyFileTest, UnknownKeysAreErrorsAtEveryLevel) {
  Json j = Minimal();
  j["sampeler"] = Json::object();
  j["stages"][0]["trails"] = 3;
  j["workers"] = {{"gpu", "auto"}};
  j["stages"][1]["params"]["dense_layers"]["hgih"] = 3;
  std::string e = Error(j);
  EXPECT_THAT(e, HasSubstr("sampeler: unknown key"));
  EXPECT_THAT(e, HasSubstr("stages[0].trails: unknown key"));
  EXPECT_THAT(e, HasSubstr("workers.gpu: unknown key (expected one of: gpus,"));
  EXPECT_THAT(e, HasSubstr("stages[1].params.dense_layers.hgih: unknown key"));
}

TEST(StudyFileTest, AllErrorsAreCollected) {
  Json j = Minimal();
  j.erase("model");
  j["stages"][0]["trials"] = 0;
  j["retune"]["lr"]["low"] = -1;
  j["workers"] = {{"gpus", {0, 0}}, {"cpu_workers", "two"}};
  j["objective"] = {{"direction", "down"}};
  std::string e = Error(j);
  EXPECT_THAT(e, HasSubstr("model: required"));
  EXPECT_THAT(e, HasSubstr("stages[0].trials: must be >= 1 (got 0)"));
  EXPECT_THAT(e, HasSubstr("retune.lr: low must be > 0 for a log distribution"));
  EXPECT_THAT(e, HasSubstr("workers.gpus[1]: GPU 0 is listed twice"));
  EXPECT_THAT(e, HasSubstr("workers.cpu_workers: expected an integer"));
  EXPECT_THAT(e, HasSubstr("objective.direction: expected minimize or maximize"));
  EXPECT_GE(std::count(e.begin(), e.end(), '\n'), 5);
}

TEST(StudyFileTest, DistributionErrors) {
  Json j = Minimal();
  j["stages"][1]["params"]["opt"] = {{"type", "categorical"}, {"choices", Json::array()}};
  j["stages"][1]["params"]["wd"] = {
      {"type", "float"}, {"low", 0.1}, {"high", 1}, {"log", true}, {"step", 0.1}};
  j["stages"][1]["params"]["k"] = {{"type", "int"}, {"low", 1.5}, {"high", 3}};
  j["stages"][1]["params"]["q"] = {{"type", "normal"}};
  j["stages"][1]["params"]["BadName"] = {{"type", "int"}, {"low", 1}, {"high", 3}};
  std::string e = Error(j);
  EXPECT_THAT(e, HasSubstr("stages[1].params.opt: choices must not be empty"));
  EXPECT_THAT(e, HasSubstr("stages[1].params.wd: log and step cannot be used together"));
  EXPECT_THAT(e, HasSubstr("stages[1].params.k.low: expected an integer, got 1.5"));
  EXPECT_THAT(e,
              HasSubstr("stages[1].params.q.type: expected \"float\", \"int\" or \"categorical\""));
  EXPECT_THAT(e, HasSubstr("stages[1].params.BadName: a hyperparameter name must match"));
}

TEST(StudyFileTest, ConditionalParamsNeedAnIntCount) {
  Json j = Minimal();
  j["stages"][1]["params"]["dense_layers"] = {{"type", "float"}, {"low", 1}, {"high", 3}};
  EXPECT_THAT(Error(j),
              HasSubstr("stages[1].params.dense_units.per_layer_of: 'dense_layers' must be "
                        "an int parameter"));
  Json k = Minimal();
  k["fixed"] = {{"conv_layers", "three"}};
  k["stages"][1]["params"]["conv_channels"] = {
      {"type", "int"}, {"low", 8}, {"high", 64}, {"per_layer_of", "conv_layers"}};
  EXPECT_THAT(Error(k), HasSubstr("'conv_layers' is fixed to \"three\", not a layer count"));
}

TEST(StudyFileTest, SearchedAndFixedConflict) {
  Json j = Minimal();
  j["fixed"] = {{"lr", 0.001}};
  EXPECT_THAT(Error(j), HasSubstr("fixed.lr: is also in retune"));
  Json k = Minimal();
  k["stages"][1]["fixed"] = {{"dense_layers", 2}};
  EXPECT_THAT(Error(k), HasSubstr("stages[1].fixed.dense_layers: is also searched in this stage"));
}

TEST(StudyFileTest, SampleRateIsSearchedOverChoicesOnly) {
  Json ok = Minimal();
  ok["stages"][1]["params"]["sample_rate"] = {{"type", "categorical"}, {"choices", {16000, 22050}}};
  ok["stages"][1]["params"]["clip_samples"] = {{"type", "int"}, {"low", 65536}, {"high", 262144}};
  ok["fixed"] = {{"sample_rate", 22050}};
  ok["stages"][0]["fixed"] = {{"clip_samples", 131072}};
  ASSERT_TRUE(ParseStudyJson(ok, "/tmp/s.json").ok());

  Json j = Minimal();
  j["stages"][1]["params"]["sample_rate"] = {{"type", "int"}, {"low", 8000}, {"high", 22050}};
  j["stages"][1]["params"]["clip_samples"] = {{"type", "categorical"}, {"choices", {4096, 100}}};
  j["fixed"] = {{"sample_rate", 999}};
  j["stages"][0]["fixed"] = {{"clip_samples", "long"}};
  std::string e = Error(j);
  EXPECT_THAT(e, HasSubstr("stages[1].params.sample_rate: must be categorical: each rate needs "
                           "its own prepared cache"));
  EXPECT_THAT(e, HasSubstr("stages[1].params.clip_samples.choices[1]: must be"));
  EXPECT_THAT(e, HasSubstr("(got 100)"));
  EXPECT_THAT(e, HasSubstr("fixed.sample_rate: must be"));
  EXPECT_THAT(e, HasSubstr("(got 999)"));
  EXPECT_THAT(e, HasSubstr("stages[0].fixed.clip_samples: must be"));

  Json k = Minimal();
  k["stages"][1]["params"]["clip_samples"] = {{"type", "int"}, {"low", 100}, {"high", 4096}};
  k["stages"][1]["params"]["sample_rate"] = {{"type", "float"}, {"low", 8000.0}, {"high", 22050.0}};
  std::string f = Error(k);
  EXPECT_THAT(f, HasSubstr("stages[1].params.clip_samples.low: must be"));
  EXPECT_THAT(f, HasSubstr("stages[1].params.sample_rate: must be categorical"));
}

TEST(StudyFileTest, StageNamesAreUniqueAndMinImprovementParses) {
  Json j = Minimal();
  j["stages"][1]["name"] = "base";
  EXPECT_THAT(Error(j), HasSubstr("stages[1].name: \"base\" is the name of an earlier stage"));
  Json k = Minimal();
  k["stages"][1]["min_improvement"] = "2.5%";
  auto r = ParseStudyJson(k, "/tmp/s.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stages[1].min_improvement_relative);
  EXPECT_DOUBLE_EQ(r->stages[1].min_improvement, 0.025);
  k["stages"][1]["min_improvement"] = "lots";
  EXPECT_THAT(Error(k), HasSubstr("stages[1].min_improvement: expected a number >= 0"));
}

// std::stod threw std::out_of_range on a percentage too large for a double.
TEST(StudyFileTest, MinImprovementPercentageTooLargeIsAnError) {
  Json j = Minimal();
  j["stages"][1]["min_improvement"] = std::string(400, '9') + "%";
  EXPECT_THAT(Error(j), HasSubstr("stages[1].min_improvement: expected a number >= 0"));
  j["stages"][1]["min_improvement"] = "7.%";
  auto r = ParseStudyJson(j, "/tmp/s.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->stages[1].min_improvement, 0.07);
  for (const char* bad : {"%", ".5%", "1.5", "1e3%", "-1%", "1%%", " 1%", "1.2.3%"}) {
    j["stages"][1]["min_improvement"] = bad;
    EXPECT_THAT(Error(j), HasSubstr("stages[1].min_improvement: expected a number >= 0")) << bad;
  }
}

// std::regex_match recursed once per character and overflowed the stack on a long name.
TEST(StudyFileTest, LongNamesDoNotOverflowTheStack) {
  const std::string long_name(200000, 'a');
  Json j = Minimal();
  j["name"] = long_name;
  j["stages"][0]["name"] = long_name;
  j["stages"][1]["params"][long_name] = {{"type", "int"}, {"low", 1}, {"high", 2}};
  auto r = ParseStudyJson(j, "/tmp/s.json");
  ASSERT_TRUE(r.ok()) << r.status().message().substr(0, 200);
  EXPECT_EQ(r->name, long_name);
  j["name"] = long_name + "/";
  EXPECT_THAT(Error(j), HasSubstr("name: use letters, digits, '_', '.', '-'"));
}

TEST(StudyFileTest, NameCharacterSets) {
  auto study_name_ok = [](const std::string& name) {
    Json j = Minimal();
    j["name"] = name;
    return ParseStudyJson(j, "/tmp/s.json").ok();
  };
  for (const char* good : {"a", "Z", "0", "9a.b-c_d", "A.-_"}) EXPECT_TRUE(study_name_ok(good));
  for (const char* bad : {"_a", ".a", "-a", "a b", "a/b", "\xc3\xa9", "a\xc3\xa9", "a+"})
    EXPECT_FALSE(study_name_ok(bad)) << bad;
  auto hparam_ok = [](const std::string& name) {
    Json j = Minimal();
    j["fixed"] = {{name, 1}};
    return ParseStudyJson(j, "/tmp/s.json").ok();
  };
  for (const char* good : {"a", "z", "a0_9", "lr_", "z__"}) EXPECT_TRUE(hparam_ok(good)) << good;
  for (const char* bad : {"", "A", "0a", "_a", "aB", "a-b", "a.b", "a b"})
    EXPECT_FALSE(hparam_ok(bad)) << bad;
  Json j = Minimal();
  j["fixed"] = {{"Lr", 1}};
  EXPECT_THAT(Error(j), HasSubstr("fixed.Lr: a hyperparameter name must match [a-z][a-z0-9_]*"));
}

// get<int>() and the int fields wrapped values above INT_MAX (4294967296 became 0).
TEST(StudyFileTest, IntegersOutOfRangeAreErrorsNotWrapped) {
  Json j = Minimal();
  j["workers"] = {{"gpus", {1, 2147483648LL}},
                  {"trials_per_gpu", 4294967296LL},
                  {"cpu_workers", 4294967296LL},
                  {"threads_per_worker", 2147483648LL}};
  j["retries"] = 4294967297LL;
  j["seed"] = 18446744073709551615ULL;
  j["dataset"]["sample_rate"] = 2147483648LL;
  const std::string e = Error(j);
  EXPECT_THAT(e, HasSubstr("workers.gpus[1]: expected a GPU id between 0 and 2147483647, got "
                           "2147483648"));
  EXPECT_THAT(e, HasSubstr("workers.trials_per_gpu: must be between 1 and 2147483647 (got "
                           "4294967296)"));
  EXPECT_THAT(e, HasSubstr("workers.cpu_workers: must be between 0 and 2147483647 (got "
                           "4294967296)"));
  EXPECT_THAT(e, HasSubstr("workers.threads_per_worker: must be between 1 and 2147483647"));
  EXPECT_THAT(e, HasSubstr("retries: must be between 0 and 2147483647 (got 4294967297)"));
  EXPECT_THAT(e, HasSubstr("seed: must be between 0 and 9223372036854775807 (got "
                           "18446744073709551615)"));
  EXPECT_THAT(e, HasSubstr("dataset.sample_rate: must be between 1000 and 2147483647"));

  Json k = Minimal();
  k["workers"] = {{"gpus", {2147483647}}, {"trials_per_gpu", 2147483647}};
  k["retries"] = 2147483647;
  k["seed"] = 9223372036854775807LL;
  auto r = ParseStudyJson(k, "/tmp/s.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->workers.gpu_ids, std::vector<int>{2147483647});
  EXPECT_EQ(r->workers.trials_per_gpu, 2147483647);
  EXPECT_EQ(r->retries, 2147483647);
  EXPECT_EQ(r->seed, INT64_MAX);

  Json d = Minimal();
  d["stages"][1]["params"]["dense_layers"]["high"] = 18446744073709551615ULL;
  d["stages"][1]["params"]["dense_layers"]["step"] = 9223372036854775808ULL;
  const std::string de = Error(d);
  EXPECT_THAT(de, HasSubstr("stages[1].params.dense_layers.high: must be between "
                            "-9223372036854775808 and 9223372036854775807 (got "
                            "18446744073709551615)"));
  EXPECT_THAT(de, HasSubstr("stages[1].params.dense_layers.step: must be between"));
}

TEST(StudyFileTest, StageSamplerOverridesMerge) {
  Json j = Minimal();
  j["sampler"] = {{"type", "tpe"}, {"seed", 3}, {"multivariate", true}};
  j["stages"][1]["sampler"] = {{"seed", 9}};
  j["stages"][0]["sampler"] = {{"type", "random"}};
  auto r = ParseStudyJson(j, "/tmp/s.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stages[1].sampler, Json({{"type", "tpe"}, {"seed", 9}, {"multivariate", true}}));
  EXPECT_EQ(r->stages[0].sampler, Json({{"type", "random"}}));
}

TEST(StudyFileTest, StorageForms) {
  Json j = Minimal();
  j["storage"] = "db/other.db";
  EXPECT_EQ(ParseStudyJson(j, "/a/b.json")->storage_url, "sqlite:////a/db/other.db");
  j["storage"] = "sqlite:///../x.db";
  EXPECT_EQ(ParseStudyJson(j, "/a/b.json")->storage_url, "sqlite:////x.db");
  j["storage"] = "postgresql://u@h:5433/db";  // as written: no path to resolve
  EXPECT_EQ(ParseStudyJson(j, "/a/b.json")->storage_url, "postgresql://u@h:5433/db");
  j["storage"] = "mysql://h/db";
  EXPECT_THAT(Error(j), HasSubstr("storage: expected a path, sqlite:///path or postgresql://"));
  j["storage"] = "postgresql://u:secret@h:99999/db";
  EXPECT_THAT(Error(j), HasSubstr("port"));
  EXPECT_THAT(Error(j), Not(HasSubstr("secret")));
}

TEST(StudyFileTest, LoadReportsSyntaxErrorsWithTheFileName) {
  const fs::path p = fs::temp_directory_path() / "mgr_study_file_test_bad.json";
  std::ofstream(p) << "{\"name\": \"x\",\n \"stages\": [}";
  auto r = LoadStudyFile(p.string());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(p.string() + ": not valid JSON"));
  EXPECT_EQ(LoadStudyFile("/nonexistent/s.json").status().code(), StatusCode::kNotFound);
  fs::remove(p);
}

// nlohmann reports a number too large for a double as out_of_range, not parse_error.
TEST(StudyFileTest, LoadReportsANumberOverflowInsteadOfThrowing) {
  const fs::path p = fs::temp_directory_path() / "mgr_study_file_test_overflow.json";
  std::ofstream(p) << "{\"name\": \"x\", \"seed\": 1e999}";
  auto r = LoadStudyFile(p.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr(p.string() + ": not valid JSON: "));
  EXPECT_THAT(r.status().message(), HasSubstr("number overflow"));
  fs::remove(p);
}

TEST(StudyFileTest, EveryExampleParses) {
  const fs::path dir = fs::path(MGR_SOURCE_DIR) / "examples";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    auto r = LoadStudyFile(e.path().string());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    ++n;
  }
  EXPECT_GE(n, 4);
}

// docs/study.schema.json must be valid JSON and describe exactly the keys the parser takes.
TEST(StudyFileTest, SchemaMatchesTheParserKeys) {
  std::ifstream in(fs::path(MGR_SOURCE_DIR) / "docs" / "study.schema.json");
  ASSERT_TRUE(in.good());
  Json schema = Json::parse(in, nullptr, false);
  ASSERT_FALSE(schema.is_discarded()) << "docs/study.schema.json is not valid JSON";
  auto keys = [](const Json& obj) {
    std::set<std::string> out;
    for (auto it = obj["properties"].begin(); it != obj["properties"].end(); ++it)
      out.insert(it.key());
    return out;
  };
  auto parser = [](const std::string& kind) {
    const auto& v = StudyFileKeys(kind);
    return std::set<std::string>(v.begin(), v.end());
  };
  EXPECT_EQ(keys(schema), parser("study"));
  const Json& defs = schema["$defs"];
  EXPECT_EQ(keys(schema["properties"]["dataset"]), parser("dataset"));
  EXPECT_EQ(keys(schema["properties"]["model"]), parser("model"));
  EXPECT_EQ(keys(schema["properties"]["objective"]), parser("objective"));
  EXPECT_EQ(keys(schema["properties"]["workers"]), parser("workers"));
  EXPECT_EQ(keys(schema["properties"]["heartbeat"]), parser("heartbeat"));
  EXPECT_EQ(keys(defs["stage"]), parser("stage"));
  EXPECT_EQ(keys(defs["param"]), parser("param"));
  EXPECT_EQ(keys(schema["properties"]["encoders"]), parser("encoders"));
  EXPECT_EQ(keys(defs["encoder"]), parser("encoder"));
  EXPECT_EQ(schema["additionalProperties"], false);
  EXPECT_EQ(defs["stage"]["additionalProperties"], false);
}

TEST(StudyFileTest, FinalIsAbsentByDefault) {
  auto r = ParseStudyJson(Minimal(), "/tmp/x/study.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->final_training.has_value());
}

TEST(StudyFileTest, FinalSeedsAsACountStartAtTheStudySeed) {
  Json j = Minimal();
  j["seed"] = 7;
  j["final"] = {{"seeds", 3}};
  auto r = ParseStudyJson(j, "/tmp/x/study.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->final_training.has_value());
  EXPECT_EQ(r->final_training->seeds, (std::vector<int64_t>{7, 8, 9}));
  // The paper's final budget.
  EXPECT_EQ(r->final_training->max_epochs, 100);
  EXPECT_EQ(r->final_training->patience, 20);
}

TEST(StudyFileTest, FinalSeedsAsAListKeepTheirOrder) {
  Json j = Minimal();
  j["final"] = {{"max_epochs", 40}, {"patience", 5}, {"seeds", {11, 3, 0}}};
  auto r = ParseStudyJson(j, "/tmp/x/study.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_training->seeds, (std::vector<int64_t>{11, 3, 0}));
  EXPECT_EQ(r->final_training->max_epochs, 40);
  EXPECT_EQ(r->final_training->patience, 5);
}

TEST(StudyFileTest, FinalErrorsNameTheField) {
  auto error_of = [](const Json& final, const Json& extra = Json::object()) {
    Json j = Minimal();
    j["final"] = final;
    j.merge_patch(extra);
    return Error(j);
  };
  EXPECT_THAT(error_of({{"seeds", 0}}), HasSubstr("study.json: final.seeds: must be >= 1 (got 0)"));
  EXPECT_THAT(error_of(Json::object()), HasSubstr("final.seeds: required"));
  EXPECT_THAT(error_of({{"seeds", Json::array()}}),
              HasSubstr("final.seeds: expected at least one"));
  EXPECT_THAT(error_of({{"seeds", {1, 2, 1}}}),
              HasSubstr("final.seeds[2]: seed 1 is listed twice"));
  EXPECT_THAT(error_of({{"seeds", {1, -2}}}), HasSubstr("final.seeds[1]: expected a seed"));
  EXPECT_THAT(error_of({{"seeds", {1.5}}}), HasSubstr("final.seeds[0]: expected a seed"));
  EXPECT_THAT(error_of({{"seeds", 1001}}), HasSubstr("final.seeds: must be between 1 and 1000"));
  EXPECT_THAT(error_of({{"seeds", "3"}}), HasSubstr("final.seeds: expected an integer"));
  EXPECT_THAT(error_of({{"seeds", 2}, {"max_epochs", 0}}),
              HasSubstr("final.max_epochs: must be >= 1 (got 0)"));
  EXPECT_THAT(error_of({{"seeds", 2}, {"patience", 100001}}),
              HasSubstr("final.patience: must be between 1 and 100000"));
  EXPECT_THAT(error_of({{"seeds", 2}, {"epochs", 3}}), HasSubstr("final.epochs: unknown key"));
  EXPECT_THAT(error_of(5), HasSubstr("final: expected an object"));
  EXPECT_THAT(error_of({{"seeds", 2}}, {{"export", false}}),
              HasSubstr("final: the final runs evaluate and export the model"));
  // N seeds from the study seed must not overflow.
  EXPECT_THAT(error_of({{"seeds", 2}}, {{"seed", INT64_MAX}}),
              HasSubstr("final.seeds: seed + 1 exceeds"));
}

TEST(StudyFileTest, SchemaDescribesFinal) {
  std::ifstream in(fs::path(MGR_SOURCE_DIR) / "docs" / "study.schema.json");
  Json schema = Json::parse(in, nullptr, false);
  ASSERT_FALSE(schema.is_discarded());
  const Json& final = schema["properties"]["final"];
  std::set<std::string> keys;
  for (auto it = final["properties"].begin(); it != final["properties"].end(); ++it)
    keys.insert(it.key());
  const auto& parser = StudyFileKeys("final");
  EXPECT_EQ(keys, std::set<std::string>(parser.begin(), parser.end()));
  EXPECT_EQ(final["additionalProperties"], false);
}

TEST(StudyFileTest, TrackLevelObjectivesAndTheirDirections) {
  const std::vector<std::pair<std::string, StudyDirection>> metrics = {
      {"val_loss", StudyDirection::kMinimize},
      {"val_accuracy", StudyDirection::kMaximize},
      {"val_macro_f1", StudyDirection::kMaximize},
      {"val_track_loss", StudyDirection::kMinimize},
      {"val_track_accuracy", StudyDirection::kMaximize},
      {"val_track_macro_f1", StudyDirection::kMaximize}};
  for (const auto& [metric, direction] : metrics) {
    Json j = Minimal();
    j["objective"] = {{"metric", metric}};
    auto r = ParseStudyJson(j, "/tmp/x/study.json");
    ASSERT_TRUE(r.ok()) << metric << ": " << r.status().ToString();
    EXPECT_EQ(r->objective_metric, metric);
    EXPECT_EQ(r->direction, direction) << metric;
  }
  Json j = Minimal();
  j["objective"] = {{"metric", "val_track_f1"}};
  EXPECT_THAT(Error(j),
              HasSubstr("objective.metric: expected val_loss, val_accuracy, val_macro_f1, "
                        "val_track_loss, val_track_accuracy or val_track_macro_f1 "
                        "(got \"val_track_f1\")"));
}

}  // namespace
}  // namespace mgr
