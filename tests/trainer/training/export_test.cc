// TorchScript export checked against Debian's python3-torch: torch.jit.load opens the
// file and gives the logits of our C++ network on the same input.
#include "trainer/training/export.h"

#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/trainer/worker_test_util.h"
#include "trainer/models/model_factory.h"

namespace mgr {
namespace {

using worker_test::Json;
using worker_test::TempDir;

constexpr int64_t kClip = 65536;
const std::vector<std::string> kClasses = {"Electronic",   "Experimental",  "Folk", "Hip-Hop",
                                           "Instrumental", "International", "Pop",  "Rock"};

struct Built {
  GenreNet net{nullptr};
  InputConfig input;
  Json hparams;
};

Built Build(const std::string& family, const Json& overrides) {
  Built b;
  Result<HParams> hp = ResolveHParams(family, "paper", overrides);
  EXPECT_TRUE(hp.ok()) << hp.status().ToString();
  if (!hp.ok()) return b;
  b.hparams = HParamsToJson(family, *hp);
  b.input = MakeInputConfig(family, *hp, kClip, 22050);
  torch::manual_seed(7);
  Result<GenreNet> net = BuildModel(family, *hp, b.input, 8);
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  if (net.ok()) b.net = *net;
  return b;
}

// Small versions of the three families (the paper's sizes are too slow for a unit test).
Json SmallHParams(const std::string& family) {
  if (family == "nnet1") {
    return {{"conv_channels_0", 8}, {"conv_channels_1", 8}, {"conv_channels_2", 8},
            {"conv_channels_3", 8}, {"dense_layers", 1},    {"dense_units_0", 16}};
  }
  if (family == "nnet2") return {{"res_channels", 8}, {"dense_layers", 1}, {"dense_units_0", 16}};
  return {{"conv_channels_0", 8}, {"conv_channels_1", 8}, {"conv_channels_2", 8},
          {"conv_channels_3", 8}, {"res_channels", 8},    {"dense_layers", 1},
          {"dense_units_0", 16}};
}

// Audio-like input: a few sines plus noise, amplitude within [-1, 1].
torch::Tensor Clips(int64_t batch, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor t = torch::arange(kClip, torch::kFloat32).unsqueeze(0) / 22050.0;
  torch::Tensor f = torch::rand({batch, 1}) * 2000 + 100;
  return 0.5 * torch::sin(2 * M_PI * f * t) + 0.1 * torch::randn({batch, kClip});
}

torch::Tensor NetLogits(Built& b, const torch::Tensor& clips) {
  torch::NoGradGuard no_grad;
  b.net->eval();
  NetInputs in = PrepareInputs(b.input, clips);
  return b.net->forward(in.audio, in.features);
}

// Runs the Python reference on `clips`; returns its logits and its JSON report.
torch::Tensor PythonLogits(const std::string& model, const torch::Tensor& clips,
                           const std::string& tmp, Json* report) {
  std::string in = tmp + "/in.f32", out = tmp + "/out.f32";
  torch::Tensor c = clips.contiguous();
  {
    std::FILE* f = std::fopen(in.c_str(), "wb");
    std::fwrite(c.data_ptr<float>(), sizeof(float), c.numel(), f);
    std::fclose(f);
  }
  std::string stdout_text;
  int rc = worker_test::Shell(std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                                  "/tests/trainer/torchscript_reference.py logits '" + model +
                                  "' '" + in + "' " + std::to_string(c.size(0)) + " " +
                                  std::to_string(c.size(1)) + " '" + out + "'",
                              &stdout_text);
  EXPECT_EQ(rc, 0) << stdout_text;
  if (rc != 0) return torch::Tensor();
  *report = Json::parse(stdout_text);
  std::string bytes = worker_test::ReadText(out);
  int64_t n = static_cast<int64_t>(bytes.size() / sizeof(float));
  return torch::from_blob(bytes.data(), {n}, torch::kFloat32).clone().view({c.size(0), -1});
}

class ExportFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportFamilyTest, PythonTorchJitLoadGivesTheSameLogits) {
  const std::string family = GetParam();
  Built b = Build(family, SmallHParams(family));
  ASSERT_TRUE(b.net);
  TempDir tmp;
  Json extra = {{"trial", {{"study", "s"}, {"number", 3}}}};
  Result<std::string> path =
      ExportGenreNet(b.net, b.input, b.hparams, kClasses, extra, tmp.path() + "/export");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, tmp.path() + "/export/model.pt");

  torch::Tensor clips = Clips(3, 11);  // a batch size the trace never saw
  torch::Tensor want = NetLogits(b, clips);
  Json report;
  torch::Tensor got = PythonLogits(*path, clips, tmp.path(), &report);
  ASSERT_TRUE(got.defined());
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-5) << "python:\n"
                                                           << got << "\nC++:\n"
                                                           << want;

  // The metadata Python read from inside the archive.
  const Json& meta = report["metadata"];
  EXPECT_EQ(meta["format"], "mgr-tune-model");
  EXPECT_EQ(meta["family"], family);
  EXPECT_EQ(meta["sample_rate"], 22050);
  EXPECT_EQ(meta["clip_samples"], kClip);
  EXPECT_EQ(meta["classes"], Json(kClasses));
  EXPECT_EQ(meta["hparams"], b.hparams);
  EXPECT_EQ(meta["extra"], extra);
  const bool has_features = family != "nnet1";
  EXPECT_EQ(meta["features"].is_null(), !has_features);
  if (has_features) {
    EXPECT_EQ(meta["features"]["kind"], "mfcc");
    EXPECT_EQ(meta["features"]["n_fft"], 2048);
    EXPECT_EQ(meta["features"]["hop_length"], 1024);
    EXPECT_EQ(meta["features"]["standardize"], true);
  }
  // The weights are real parameters in Python, one per C++ parameter.
  EXPECT_EQ(report["parameters"].size(), b.net->parameters().size());
  // model.json beside the archive holds the same metadata.
  EXPECT_EQ(Json::parse(worker_test::ReadText(tmp.path() + "/export/model.json")), meta);

  // C++ torch::jit::load through LoadExportedModel.
  Result<ExportedModel> loaded = LoadExportedModel(tmp.path() + "/export");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->classes, kClasses);
  EXPECT_EQ(loaded->clip_samples, kClip);
  EXPECT_EQ(loaded->sample_rate, 22050);
  torch::NoGradGuard no_grad;
  torch::Tensor cpp = loaded->module.forward({clips}).toTensor();
  EXPECT_LE((cpp - want).abs().max().item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Families, ExportFamilyTest, ::testing::Values("nnet1", "nnet2", "mixnet"));

// A network used on the GPU (features and forward there) exports to a CPU TorchScript
// module that gives the same logits.
TEST_P(ExportFamilyTest, GpuNetworkExportsTheSameLogits) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string family = GetParam();
  Built b = Build(family, SmallHParams(family));
  ASSERT_TRUE(b.net);
  // No TF32 in cuDNN's convolutions, so the GPU computes in float32 like the CPU.
  at::globalContext().setAllowTF32CuDNN(false);
  const torch::Device gpu("cuda:0");
  b.net->to(gpu);
  torch::Tensor clips = Clips(3, 13);
  torch::Tensor on_gpu = NetLogits(b, clips.to(gpu));
  EXPECT_TRUE(on_gpu.is_cuda());
  TempDir tmp;
  Result<std::string> path =
      ExportGenreNet(b.net, b.input, b.hparams, kClasses, {}, tmp.path() + "/export");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  Result<ExportedModel> loaded = LoadExportedModel(*path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  torch::NoGradGuard no_grad;
  torch::Tensor cpu = loaded->module.forward({clips}).toTensor();
  // cuFFT vs pocketfft and other summation orders: float32 rounding, far below 1e-3.
  EXPECT_LE((cpu - on_gpu.cpu()).abs().max().item<double>(), 1e-3);
  at::globalContext().setAllowTF32CuDNN(true);
}

TEST(ExportTest, ScriptedForwardRejectsAWrongClipLength) {
  Built b = Build("nnet2", SmallHParams("nnet2"));
  ASSERT_TRUE(b.net);
  TempDir tmp;
  Result<std::string> path =
      ExportGenreNet(b.net, b.input, b.hparams, kClasses, Json::object(), tmp.path());
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  Result<ExportedModel> loaded = LoadExportedModel(*path);
  ASSERT_TRUE(loaded.ok());
  // The scripted assert surfaces as torch::jit::JITException (a std::runtime_error).
  EXPECT_THROW(loaded->module.forward({torch::zeros({1, kClip - 1})}), std::exception);
}

TEST(ExportTest, DataDependentForwardIsDetected) {
  // A value read out of the tensor (item) is frozen into the trace as a constant: the
  // check on a fresh input (larger amplitude than the trace example) must catch it.
  torch::nn::Linear linear(4, 2);
  ClipForward forward = [&](const torch::Tensor& clips) {
    double peak = clips.abs().max().item<double>();
    return linear->forward(torch::ones({clips.size(0), 4}) * peak);
  };
  Result<torch::jit::Module> traced = TraceClipModel(*linear, forward, 64);
  ASSERT_FALSE(traced.ok());
  EXPECT_NE(traced.status().message().find("differs"), std::string::npos)
      << traced.status().ToString();
  // The same network without the data-dependent value exports fine.
  ClipForward plain = [&](const torch::Tensor& clips) {
    return linear->forward(clips.narrow(1, 0, 4));
  };
  EXPECT_TRUE(TraceClipModel(*linear, plain, 64).ok());
}

TEST(ExportTest, LoadRejectsFilesThatAreNotModels) {
  TempDir tmp;
  EXPECT_EQ(LoadExportedModel(tmp.path() + "/none.pt").status().code(), StatusCode::kNotFound);
  worker_test::WriteText(tmp.path() + "/junk.pt", "not a zip archive");
  Result<ExportedModel> junk = LoadExportedModel(tmp.path() + "/junk.pt");
  EXPECT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("junk.pt"), std::string::npos);
  // A TorchScript archive without our metadata.
  torch::jit::Module plain("Plain");
  plain.define("def forward(self, x: Tensor) -> Tensor:\n    return x\n");
  plain.save(tmp.path() + "/plain.pt");
  Result<ExportedModel> no_meta = LoadExportedModel(tmp.path() + "/plain.pt");
  EXPECT_FALSE(no_meta.ok());
  EXPECT_NE(no_meta.status().message().find("not an mgr-tune model"), std::string::npos);
}

}  // namespace
}  // namespace mgr
