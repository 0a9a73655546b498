// `mgr-train predict` against Python: torch.jit.load on the same exported model, WAV files
// read with Python's wave module, windows and mean softmax computed in numpy/torch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/trainer/worker_test_util.h"
#include "trainer/training/export.h"
#include "trainer/models/model_factory.h"

namespace mgr {
namespace {

using worker_test::Json;
using worker_test::TempDir;

constexpr int64_t kClip = 65536;
constexpr int kRate = 22050;
const std::vector<std::string> kClasses = {"Electronic",   "Experimental",  "Folk", "Hip-Hop",
                                           "Instrumental", "International", "Pop",  "Rock"};

void WriteWav(const std::string& path, const std::vector<int16_t>& samples) {
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t bytes = static_cast<uint32_t>(samples.size() * 2);
  out.write("RIFF", 4);
  u32(36 + bytes);
  out.write("WAVEfmt ", 8);
  u32(16);
  u16(1);  // PCM
  u16(1);  // mono
  u32(kRate);
  u32(kRate * 2);
  u16(2);
  u16(16);
  out.write("data", 4);
  u32(bytes);
  out.write(reinterpret_cast<const char*>(samples.data()), bytes);
}

std::vector<int16_t> Tone(int64_t n, double hz, uint32_t seed) {
  std::vector<int16_t> s(n);
  uint32_t x = seed;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    double noise = (static_cast<double>(x >> 8) / (1 << 24) - 0.5) * 0.2;
    double v = 0.4 * std::sin(2 * M_PI * hz * i / kRate) * (1 + 0.5 * std::sin(i * 1e-4)) + noise;
    s[i] = static_cast<int16_t>(std::lround(std::max(-1.0, std::min(1.0, v)) * 32000));
  }
  return s;
}

class PredictCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<HParams> hp = ResolveHParams(
        "nnet2", "paper", {{"res_channels", 8}, {"dense_layers", 1}, {"dense_units_0", 16}});
    ASSERT_TRUE(hp.ok()) << hp.status().ToString();
    InputConfig input = MakeInputConfig("nnet2", *hp, kClip, kRate);
    torch::manual_seed(3);
    Result<GenreNet> net = BuildModel("nnet2", *hp, input, 8);
    ASSERT_TRUE(net.ok());
    Result<std::string> model = ExportGenreNet(*net, input, HParamsToJson("nnet2", *hp), kClasses,
                                               Json::object(), tmp_.path() + "/model");
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = *model;
    long_wav_ = tmp_.path() + "/long.wav";
    short_wav_ = tmp_.path() + "/short.wav";
    broken_ = tmp_.path() + "/broken.mp3";
    WriteWav(long_wav_, Tone(kClip * 5 / 2, 440, 1));  // 2.5 clips
    WriteWav(short_wav_, Tone(30000, 3000, 2));        // shorter than a clip: padded
    worker_test::WriteText(broken_, "this is not audio\n");
  }

  int Predict(const std::string& args, std::string* out) {
    return worker_test::Shell(std::string(MGR_TRAIN_BINARY) + " predict '" + model_ + "' " + args +
                                  " 2>'" + tmp_.path() + "/stderr.txt'",
                              out);
  }

  TempDir tmp_;
  std::string model_, long_wav_, short_wav_, broken_;
};

TEST_F(PredictCommandTest, JsonMatchesPythonAndBrokenFileIsReported) {
  const int64_t hop = kClip / 2;
  char hop_seconds[64];
  std::snprintf(hop_seconds, sizeof hop_seconds, "%.9f", static_cast<double>(hop) / kRate);
  std::string out;
  int rc = Predict("'" + long_wav_ + "' '" + broken_ + "' '" + short_wav_ +
                       "' --format json --hop-seconds " + hop_seconds,
                   &out);
  const std::string err = worker_test::ReadText(tmp_.path() + "/stderr.txt");
  EXPECT_EQ(rc, 1) << "a file failed, so the exit code is non-zero\n" << err;
  EXPECT_NE(err.find(broken_), std::string::npos) << err;
  Json result = Json::parse(out);
  EXPECT_EQ(result["classes"], Json(kClasses));
  EXPECT_EQ(result["hop_samples"], hop);
  ASSERT_EQ(result["files"].size(), 3u);
  const Json& broken = result["files"][1];
  EXPECT_EQ(broken["file"], broken_);
  EXPECT_TRUE(broken.contains("error"));

  // Windows at 0, hop, 2 hop, 3 hop (the last ends at 98304 + 65536 <= 163840).
  EXPECT_EQ(result["files"][0]["windows"], 4);
  EXPECT_EQ(result["files"][2]["windows"], 1);

  std::string py;
  ASSERT_EQ(
      worker_test::Shell(std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                             "/tests/trainer/torchscript_reference.py predict '" + model_ + "' " +
                             std::to_string(hop) + " '" + long_wav_ + "' '" + short_wav_ + "'",
                         &py),
      0)
      << py;
  Json want = Json::parse(py);
  for (int f : {0, 2}) {
    const Json& entry = result["files"][f];
    const std::vector<double> ref = want[entry["file"].get<std::string>()];
    double total = 0, best = -1;
    std::string best_genre;
    for (size_t c = 0; c < kClasses.size(); ++c) {
      double p = entry["probabilities"][kClasses[c]];
      EXPECT_NEAR(p, ref[c], 1e-4) << entry["file"] << " " << kClasses[c];
      total += p;
      if (ref[c] > best) best = ref[c], best_genre = kClasses[c];
    }
    EXPECT_NEAR(total, 1.0, 1e-6);
    EXPECT_EQ(entry["genre"], best_genre);
    EXPECT_EQ(entry["top"][0]["genre"], best_genre);
  }
}

TEST_F(PredictCommandTest, TableListsEachFileWithItsTopGenre) {
  std::string json_out;
  ASSERT_EQ(Predict("'" + long_wav_ + "' '" + short_wav_ + "' --format json", &json_out), 0);
  Json result = Json::parse(json_out);
  std::string table;
  ASSERT_EQ(Predict("'" + long_wav_ + "' '" + short_wav_ + "' --top 2", &table), 0);
  for (const Json& entry : result["files"]) {
    // The row of the file names its top genre first.
    const std::string file = entry["file"];
    size_t row = table.find(file);
    ASSERT_NE(row, std::string::npos) << table;
    std::string line = table.substr(row + file.size(), table.find('\n', row) - row - file.size());
    EXPECT_NE(line.find(entry["top"][0]["genre"].get<std::string>()), std::string::npos) << line;
    EXPECT_EQ(line.find(entry["top"][2]["genre"].get<std::string>()), std::string::npos)
        << "--top 2 shows two genres: " << line;
  }
}

TEST_F(PredictCommandTest, MissingModelFails) {
  std::string out;
  EXPECT_NE(worker_test::Shell(std::string(MGR_TRAIN_BINARY) + " predict '" + tmp_.path() +
                                   "/none.pt' '" + long_wav_ + "' 2>/dev/null",
                               &out),
            0);
}

}  // namespace
}  // namespace mgr
