#include "trainer/training/checkpoint.h"

#include <dirent.h>

#include <gtest/gtest.h>

#include "storage/base/atomic_file.h"
#include "tests/trainer/data_test_util.h"
#include "trainer/models/nnet2.h"

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

}  // namespace
}  // namespace mgr
