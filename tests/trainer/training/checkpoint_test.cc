#include "trainer/training/checkpoint.h"

#include <dirent.h>

#include <gtest/gtest.h>

#include "storage/base/atomic_file.h"
#include "tests/trainer/data_test_util.h"
#include "trainer/models/nnet2.h"
#include "trainer/training/export.h"

namespace mgr {
namespace {

using testing_util::ReadFile;
using testing_util::TempDir;

Nnet2 SmallNet(uint64_t seed) {
  torch::manual_seed(seed);
  return Nnet2(Nnet2Options(12, 5, 3).channels(4).kernel(3).dense_units({6}).dropout({0.0}));
}

void Step(Nnet2& net, torch::optim::Optimizer& opt, int64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({4, 1, 12, 5});
  torch::Tensor y = torch::randint(0, 3, {4});
  opt.zero_grad();
  torch::nn::functional::cross_entropy(net->forward(x), y).backward();
  opt.step();
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = d ? readdir(d) : nullptr) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  if (d) closedir(d);
  return names;
}

// Saving and loading model + Adam state + best weights + record, then continuing, gives
// exactly the same weights as never stopping (Adam's moments and step count restored).
TEST(CheckpointTest, RoundTripContinuesExactly) {
  TempDir dir;
  const std::string path = dir.path() + "/checkpoint.pt";
  Nnet2 a = SmallNet(1);
  torch::optim::Adam opt_a(a->parameters(), torch::optim::AdamOptions(0.01).weight_decay(0.001));
  for (int i = 0; i < 3; ++i) Step(a, opt_a, 100 + i);
  CheckpointData data;
  data.record = {{"epoch", 3}, {"history", {1.5, 0.1234567890123456789}}};
  data.best_state = SnapshotState(*a);
  ASSERT_TRUE(SaveCheckpoint(path, *a, opt_a, data).ok());
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"checkpoint.pt"});  // no temp left

  Nnet2 b = SmallNet(2);  // different initial weights
  torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(0.01).weight_decay(0.001));
  CheckpointData loaded;
  Status s = LoadCheckpoint(path, *b, opt_b, torch::kCPU, &loaded);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(loaded.record, data.record);
  ASSERT_EQ(loaded.best_state.size(), data.best_state.size());
  for (size_t i = 0; i < data.best_state.size(); ++i) {
    EXPECT_TRUE(torch::equal(loaded.best_state[i], data.best_state[i]));
  }
  a->train();
  b->train();
  Step(a, opt_a, 7);
  Step(b, opt_b, 7);
  std::vector<torch::Tensor> sa = SnapshotState(*a), sb = SnapshotState(*b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i], sb[i])) << i;
}

TEST(CheckpointTest, BestWeightsAndRestore) {
  TempDir dir;
  const std::string path = dir.path() + "/c.pt";
  Nnet2 a = SmallNet(1);
  torch::optim::SGD opt(a->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  std::vector<torch::Tensor> best = SnapshotState(*a);
  Step(a, opt, 5);  // the live weights move away from `best`
  ASSERT_TRUE(SaveCheckpoint(path, *a, opt, {{{"epoch", 1}}, best}).ok());
  Nnet2 b = SmallNet(9);
  Json record;
  ASSERT_TRUE(LoadBestWeights(path, *b, &record).ok());
  EXPECT_EQ(record["epoch"], 1);
  std::vector<torch::Tensor> got = SnapshotState(*b);
  for (size_t i = 0; i < best.size(); ++i) EXPECT_TRUE(torch::equal(got[i], best[i]));
  // A snapshot is a copy: training does not change it.
  EXPECT_FALSE(torch::equal(SnapshotState(*a)[0], best[0]));
}

TEST(CheckpointTest, MissingCorruptAndMismatched) {
  TempDir dir;
  Nnet2 a = SmallNet(1);
  torch::optim::Adam opt(a->parameters());
  CheckpointData data;
  EXPECT_EQ(LoadCheckpoint(dir.path() + "/none.pt", *a, opt, torch::kCPU, &data).code(),
            StatusCode::kNotFound);
  testing_util::WriteFile(dir.path() + "/bad.pt", "not a zip archive");
  EXPECT_EQ(LoadCheckpoint(dir.path() + "/bad.pt", *a, opt, torch::kCPU, &data).code(),
            StatusCode::kCorruption);
  // A checkpoint of a different architecture does not load into this one.
  torch::manual_seed(0);
  Nnet2 other(Nnet2Options(12, 5, 3).channels(5).kernel(3).dense_units({6}).dropout({0.0}));
  torch::optim::Adam opt_other(other->parameters());
  ASSERT_TRUE(SaveCheckpoint(dir.path() + "/other.pt", *other, opt_other,
                             {{{"epoch", 1}}, SnapshotState(*other)})
                  .ok());
  EXPECT_EQ(LoadCheckpoint(dir.path() + "/other.pt", *a, opt, torch::kCPU, &data).code(),
            StatusCode::kCorruption);
}

TEST(CheckpointTest, WriteFileAtomically) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, std::string("sec\0ond", 7)).ok());
  EXPECT_EQ(ReadFile(path), std::string("sec\0ond", 7));
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"f"});
  Status s = WriteFileAtomically(dir.path() + "/no/such/dir/f", "x");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("no/such/dir"), std::string::npos);
}

// A small NNET1 / MixNet pair for MixNet's encoder initialisation (8192-sample clips).
Json SmallConv(Json j) {
  j["conv_layers"] = 2;
  j["conv_channels_0"] = 8;
  j["conv_kernel_0"] = 64;
  j["conv_stride_0"] = 16;
  j["pool_0"] = 4;
  j["conv_channels_1"] = 16;
  j["conv_kernel_1"] = 16;
  j["conv_stride_1"] = 2;
  j["pool_1"] = 2;
  j["dense_layers"] = 1;
  j["dense_units_0"] = 8;
  return j;
}
constexpr int64_t kClip = 8192;
constexpr int kRate = 22050;

torch::nn::Module& Child(torch::nn::Module& net, const std::string& name) {
  return *net.named_modules()[name];
}

// Trains a small NNET1 a little (so its BatchNorm statistics are not the defaults) and
// saves a checkpoint whose best weights are `best` and whose last weights differ. Returns
// the best encoder's output on `x` (eval mode).
torch::Tensor SaveNnet1Checkpoint(const std::string& path, const torch::Tensor& x,
                                  GenreNet* trained) {
  Result<HParams> hp = ResolveHParams("nnet1", "", SmallConv(Json::object()));
  EXPECT_TRUE(hp.ok()) << hp.status().ToString();
  InputConfig in = MakeInputConfig("nnet1", *hp, kClip, kRate);
  torch::manual_seed(7);
  GenreNet net = *BuildModel("nnet1", *hp, in, 3);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(0.01));
  auto step = [&] {
    net->train();
    opt.zero_grad();
    torch::Tensor a = torch::randn({4, 1, kClip});
    torch::nn::functional::cross_entropy(net->forward(a, torch::Tensor()),
                                         torch::tensor({0, 1, 2, 0}))
        .backward();
    opt.step();
  };
  step();
  CheckpointData data;
  data.best_state = SnapshotState(*net);
  net->eval();
  torch::Tensor ref;
  {
    torch::NoGradGuard no_grad;
    ref = Child(*net, "net.encoder").as<Conv1dEncoderImpl>()->forward(x);
  }
  step();  // the checkpoint's last weights are not its best ones
  data.record = {{"trial",
                  {{"family", "nnet1"},
                   {"hparams", HParamsToJson("nnet1", *hp)},
                   {"clip_samples", kClip},
                   {"sample_rate", kRate},
                   {"seed", 7}}},
                 {"classes", {"a", "b", "c"}}};
  EXPECT_TRUE(SaveCheckpoint(path, *net, opt, data).ok());
  if (trained != nullptr) {
    RestoreState(*net, data.best_state);
    *trained = net;
  }
  return ref;
}

Result<GenreNet> MixNetFrom(const Json& overrides) {
  Json o = SmallConv(Json::object());
  o["res_channels"] = 8;
  for (auto& [name, value] : overrides.items()) o[name] = value;
  Result<HParams> hp = ResolveHParams("mixnet", "", o);
  if (!hp.ok()) return hp.status();
  InputConfig in = MakeInputConfig("mixnet", *hp, kClip, kRate);
  torch::manual_seed(11);
  MGR_ASSIGN_OR_RETURN(GenreNet net, BuildModel("mixnet", *hp, in, 3));
  MGR_RETURN_IF_ERROR(LoadMixNetEncoders(net, *hp, in));
  return net;
}

torch::Tensor AudioEncoderOutput(GenreNet& mix, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  mix->eval();
  return Child(*mix, "net.audio_encoder").as<Conv1dEncoderImpl>()->forward(x);
}

// Issue #13: the audio branch of a MixNet initialised from an NNET1 checkpoint computes
// exactly what the NNET1's best encoder computes (weights and BatchNorm statistics), and
// the feature branch and the head keep their own initialisation.
TEST(CheckpointTest, MixNetAudioEncoderFromNnet1Checkpoint) {
  TempDir dir;
  const std::string path = dir.path() + "/nnet1.pt";
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({2, 1, kClip});
  torch::Tensor ref = SaveNnet1Checkpoint(path, x, nullptr);

  Result<GenreNet> plain = MixNetFrom(Json::object());
  Result<GenreNet> mix = MixNetFrom({{"init_audio_encoder", path}});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  EXPECT_FALSE(torch::equal(AudioEncoderOutput(*plain, x), ref));  // the test can fail
  EXPECT_TRUE(torch::equal(AudioEncoderOutput(*mix, x), ref));
  for (const char* name : {"net.feature_encoder", "net.classifier"}) {
    auto a = Child(**plain, name).parameters(), b = Child(**mix, name).parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << name;
  }
}

// The same from the NNET1's exported model (model.pt's directory).
TEST(CheckpointTest, MixNetAudioEncoderFromExportedNnet1) {
  TempDir dir;
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({2, 1, kClip});
  GenreNet trained{nullptr};
  torch::Tensor ref = SaveNnet1Checkpoint(dir.path() + "/nnet1.pt", x, &trained);
  Result<HParams> hp = ResolveHParams("nnet1", "", SmallConv(Json::object()));
  ASSERT_TRUE(hp.ok());
  Result<std::string> exported = ExportGenreNet(
      trained, MakeInputConfig("nnet1", *hp, kClip, kRate), HParamsToJson("nnet1", *hp),
      {"a", "b", "c"}, Json::object(), dir.path() + "/export");
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  Result<GenreNet> mix = MixNetFrom({{"init_audio_encoder", dir.path() + "/export"}});
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  EXPECT_TRUE(torch::equal(AudioEncoderOutput(*mix, x), ref));
}

// A MixNet whose audio branch is not the NNET1's encoder: the error names the tensor and
// both shapes; a source of the wrong family or a missing file names the hyperparameter.
TEST(CheckpointTest, MixNetEncoderMismatchesAreErrors) {
  TempDir dir;
  const std::string path = dir.path() + "/nnet1.pt";
  SaveNnet1Checkpoint(path, torch::zeros({1, 1, kClip}), nullptr);

  Result<GenreNet> wider = MixNetFrom({{"init_audio_encoder", path}, {"conv_channels_0", 12}});
  ASSERT_FALSE(wider.ok());
  EXPECT_EQ(wider.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = wider.status().message();
  EXPECT_NE(m.find("hparams.init_audio_encoder: net.audio_encoder.layers.0.weight has shape "
                   "[12, 1, 64] in the MixNet, net.encoder.layers.0.weight has shape [8, 1, 64]"),
            std::string::npos)
      << m;

  Result<GenreNet> no_bn = MixNetFrom({{"init_audio_encoder", path}, {"audio_batch_norm", false}});
  ASSERT_FALSE(no_bn.ok());
  EXPECT_NE(no_bn.status().message().find("hparams.init_audio_encoder"), std::string::npos);

  Result<GenreNet> wrong = MixNetFrom({{"init_feature_encoder", path}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("hparams.init_feature_encoder: " + path +
                                          " is a nnet1, not a nnet2 or mixnet"),
            std::string::npos)
      << wrong.status().ToString();

  Result<GenreNet> missing = MixNetFrom({{"init_audio_encoder", dir.path() + "/none.pt"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// The feature branch from an NNET2 checkpoint (best weights and BatchNorm statistics of a
// network trained one step); a MixNet reading another feature is refused.
TEST(CheckpointTest, MixNetFeatureEncoderFromNnet2Checkpoint) {
  TempDir dir;
  const std::string path = dir.path() + "/nnet2.pt";
  Json o = {{"res_channels", 8}, {"dense_layers", 1}, {"dense_units_0", 8}};
  Result<HParams> hp = ResolveHParams("nnet2", "", o);
  ASSERT_TRUE(hp.ok());
  InputConfig in = MakeInputConfig("nnet2", *hp, kClip, kRate);
  torch::manual_seed(5);
  GenreNet net = *BuildModel("nnet2", *hp, in, 3);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(0.01));
  torch::Tensor f = torch::randn({4, 1, in.frames, in.coefficients});
  net->train();
  torch::nn::functional::cross_entropy(net->forward(torch::Tensor(), f),
                                       torch::tensor({0, 1, 2, 0}))
      .backward();
  opt.step();
  CheckpointData data;
  data.best_state = SnapshotState(*net);
  data.record = {{"trial",
                  {{"family", "nnet2"},
                   {"hparams", HParamsToJson("nnet2", *hp)},
                   {"clip_samples", kClip},
                   {"sample_rate", kRate},
                   {"seed", 5}}},
                 {"classes", {"a", "b", "c"}}};
  ASSERT_TRUE(SaveCheckpoint(path, *net, opt, data).ok());
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor ref = Child(*net, "net.encoder").as<ResEncoderImpl>()->forward(f);

  Result<GenreNet> mix = MixNetFrom({{"init_feature_encoder", path}});
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  (*mix)->eval();
  EXPECT_TRUE(
      torch::equal(Child(**mix, "net.feature_encoder").as<ResEncoderImpl>()->forward(f), ref));

  Result<GenreNet> mel = MixNetFrom({{"init_feature_encoder", path}, {"feature", "mel"}});
  ASSERT_FALSE(mel.ok());
  EXPECT_NE(mel.status().message().find("hparams.init_feature_encoder: " + path +
                                        " was trained on feature mfcc (normalization clip), "
                                        "this MixNet reads mel (normalization clip)"),
            std::string::npos)
      << mel.status().ToString();
  Result<GenreNet> dataset =
      MixNetFrom({{"init_feature_encoder", path}, {"normalization", "dataset"}});
  ASSERT_FALSE(dataset.ok());
  EXPECT_NE(dataset.status().message().find("(normalization clip), this MixNet reads mfcc "
                                            "(normalization dataset)"),
            std::string::npos)
      << dataset.status().ToString();
}

}  // namespace
}  // namespace mgr
