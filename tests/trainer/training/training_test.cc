#include "trainer/training/training.h"

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/training/checkpoint.h"

namespace mgr {
namespace {

using testing_util::GetTinyDataset;
using testing_util::TempDir;

// A spec on the tiny dataset (2^16-sample clips) for `family` with small widths.
TrainSpec MakeSpec(const std::string& family, const Json& hparams, const std::string& dir) {
  auto* tiny = GetTinyDataset();
  Json spec = {{"version", 1},
               {"seed", 3},
               {"device", "cpu"},
               {"threads", 2},
               {"checkpoint_dir", dir},
               {"evaluate_test", true},
               {"data",
                {{"metadata", tiny->data.metadata_csv},
                 {"audio_dir", tiny->data.audio_dir},
                 {"subset", "small"},
                 {"sample_rate", 22050},
                 {"clip_samples", 65536},
                 {"cache_dir", tiny->cache.cache_dir}}},
               {"model", {{"family", family}, {"preset", "paper"}}},
               {"hparams", hparams}};
  Result<TrainSpec> s = ParseTrainSpec(spec);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : TrainSpec();
}

// Small 2D branch: 16 channels, one dense layer of 64.
Json Small2d(int epochs) {
  return {{"res_channels", 16}, {"dense_layers", 1},  {"dense_units_0", 64},
          {"lr", 0.003},        {"batch_size", 16},   {"max_epochs", epochs},
          {"patience", 100},    {"weight_decay", 0.0}};
}

// Small 1D branch: 65536 -> 4097 -> 1024 -> 513 -> 256 -> 129 -> 64 steps.
Json Small1d(Json j) {
  j["conv_layers"] = 3;
  const int64_t ch[] = {16, 32, 32}, k[] = {64, 16, 8}, s[] = {16, 2, 2}, p[] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    std::string n = std::to_string(i);
    j["conv_channels_" + n] = ch[i];
    j["conv_kernel_" + n] = k[i];
    j["conv_stride_" + n] = s[i];
    j["pool_" + n] = p[i];
  }
  return j;
}

void ExpectSameHistory(const std::vector<EpochMetrics>& a, const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].train_loss, b[i].train_loss) << "epoch " << a[i].epoch;
    EXPECT_EQ(a[i].train_accuracy, b[i].train_accuracy) << "epoch " << a[i].epoch;
    EXPECT_EQ(a[i].val_loss, b[i].val_loss) << "epoch " << a[i].epoch;
    EXPECT_EQ(a[i].val_accuracy, b[i].val_accuracy) << "epoch " << a[i].epoch;
    EXPECT_EQ(a[i].val_macro_f1, b[i].val_macro_f1) << "epoch " << a[i].epoch;
  }
}

TEST(TrainingTest, Nnet2LearnsTheTinyDataset) {
  TempDir dir;
  TrainSpec spec = MakeSpec("nnet2", Small2d(12), dir.path());
  std::vector<EpochMetrics> epochs;
  TrainStart start;
  int64_t progress = 0;
  TrainCallbacks cb;
  cb.on_start = [&](const TrainStart& s) { start = s; };
  cb.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m); };
  cb.on_progress = [&](int, int64_t, int64_t) { ++progress; };
  TrainOutcome out = RunTraining(spec, cb);
  EXPECT_EQ(start.device, "cpu");
  EXPECT_EQ(start.resumed_from_epoch, 0);
  EXPECT_EQ(start.train_clips, 80);
  EXPECT_EQ(start.val_clips, 24);
  EXPECT_EQ(progress, 12 * 5);  // 80 clips / 16
  ASSERT_EQ(epochs.size(), 12u);
  EXPECT_EQ(out.epochs_run, 12);
  EXPECT_FALSE(out.stopped);
  // best_epoch is the epoch of the lowest validation loss.
  auto best = std::min_element(epochs.begin(), epochs.end(),
                               [](auto& a, auto& b) { return a.val_loss < b.val_loss; });
  EXPECT_EQ(out.best_epoch, best->epoch);
  EXPECT_EQ(out.best_val_loss, best->val_loss);
  ASSERT_TRUE(out.test.has_value());
  const TestMetrics& t = *out.test;
  EXPECT_GE(t.accuracy, 0.9) << "test loss " << t.loss;
  int64_t total = 0, diagonal = 0;
  for (size_t i = 0; i < t.confusion.size(); ++i) {
    for (int64_t c : t.confusion[i]) total += c;
    diagonal += t.confusion[i][i];
  }
  EXPECT_EQ(total, 24);
  EXPECT_DOUBLE_EQ(t.accuracy, static_cast<double>(diagonal) / total);
  EXPECT_EQ(t.classes.size(), 8u);
  EXPECT_EQ(t.classes[0], "Electronic");
  EXPECT_EQ(t.precision.size(), 8u);

  // The exported view: the best weights reproduce the test accuracy on mid-point clips.
  Result<LoadedModel> m = LoadBestModel(spec);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->best_epoch, out.best_epoch);
  auto* tiny = GetTinyDataset();
  int64_t correct = 0, n = 0;
  for (const Track& track : tiny->index.tracks) {
    if (track.split != Split::kTest || !tiny->clips->Contains(track.id)) continue;
    int64_t samples = 0;
    const float* s = tiny->clips->Samples(track.id, &samples);
    const int64_t start = std::min(samples / 2, samples - 65536);
    torch::Tensor clip = torch::from_blob(const_cast<float*>(s) + start, {1, 65536}).clone();
    correct += Forward(*m, clip).argmax(1).item<int64_t>() == track.label;
    ++n;
  }
  EXPECT_EQ(static_cast<double>(correct) / n, t.accuracy);
}

TEST(TrainingTest, Nnet1BeatsChance) {
  TempDir dir;
  Json hp = Small1d({{"dense_layers", 1},
                     {"dense_units_0", 64},
                     {"lr", 0.003},
                     {"batch_size", 16},
                     {"max_epochs", 10},
                     {"patience", 100},
                     {"weight_decay", 0.0}});
  TrainOutcome out = RunTraining(MakeSpec("nnet1", hp, dir.path()), {});
  ASSERT_TRUE(out.test.has_value());
  EXPECT_GT(out.test->accuracy, 0.3);
}

TEST(TrainingTest, MixNetLearnsTheTinyDataset) {
  TempDir dir;
  TrainOutcome out = RunTraining(MakeSpec("mixnet", Small1d(Small2d(12)), dir.path()), {});
  ASSERT_TRUE(out.test.has_value());
  EXPECT_GE(out.test->accuracy, 0.9);
}

// Early stopping (Keras/Lightning rule): with min_delta 10 no epoch after the first counts
// as an improvement, so patience 2 stops after epoch 3.
TEST(TrainingTest, EarlyStoppingFollowsPatienceAndMinDelta) {
  TempDir dir;
  Json hp = Small2d(10);
  hp["min_delta"] = 10.0;
  hp["patience"] = 2;
  hp["res_channels"] = 4;
  std::vector<int> epochs;
  TrainCallbacks cb;
  cb.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m.epoch); };
  TrainOutcome out = RunTraining(MakeSpec("nnet2", hp, dir.path()), cb);
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(out.stopped_early);
  EXPECT_EQ(out.epochs_run, 3);
}

// A run stopped (between batches, or after an epoch) and resumed from its checkpoint ends
// with exactly the metrics and weights of an uninterrupted run.
TEST(TrainingTest, ResumeIsExact) {
  Json hp = Small2d(4);
  hp["res_channels"] = 8;
  hp["dropout"] = 0.2;  // exercises the torch generator
  TempDir straight_dir, resumed_dir;
  TrainSpec straight = MakeSpec("nnet2", hp, straight_dir.path());
  straight.evaluate_test = false;
  TrainOutcome a = RunTraining(straight, {});
  ASSERT_EQ(a.epochs_run, 4);

  TrainSpec resumed = MakeSpec("nnet2", hp, resumed_dir.path());
  resumed.evaluate_test = false;
  // Killed in the middle of epoch 2 (batch 3): epoch 1's checkpoint stays.
  int epoch_now = 0;
  int64_t batch_now = 0;
  TrainCallbacks kill_mid;
  kill_mid.on_progress = [&](int e, int64_t b, int64_t) { epoch_now = e, batch_now = b; };
  kill_mid.should_stop = [&] { return epoch_now == 2 && batch_now == 3; };
  TrainOutcome part1 = RunTraining(resumed, kill_mid);
  EXPECT_TRUE(part1.stopped);
  EXPECT_EQ(part1.epochs_run, 1);
  // Then stopped right after epoch 3.
  TrainCallbacks after3;
  int resumed_from = -1, last = 0;
  after3.on_start = [&](const TrainStart& s) { resumed_from = s.resumed_from_epoch; };
  after3.on_epoch = [&](const EpochMetrics& m) { last = m.epoch; };
  after3.should_stop = [&] { return last == 3; };
  TrainOutcome part2 = RunTraining(resumed, after3);
  EXPECT_EQ(resumed_from, 1);
  EXPECT_TRUE(part2.stopped);
  EXPECT_EQ(part2.epochs_run, 3);
  TrainOutcome part3 = RunTraining(resumed, {});
  EXPECT_FALSE(part3.stopped);
  EXPECT_EQ(part3.epochs_run, 4);
  ExpectSameHistory(a.history, part3.history);
  EXPECT_EQ(a.best_epoch, part3.best_epoch);
  EXPECT_EQ(a.best_val_loss, part3.best_val_loss);

  // Final (last-epoch) weights and best weights, bit for bit.
  auto load = [&](const TrainSpec& s, CheckpointData* data) {
    Result<HParams> hpr = ResolveHParams(s.family, "", s.hparams);
    InputConfig in = MakeInputConfig(s.family, *hpr, s.clip_samples, 22050);
    GenreNet net = *BuildModel(s.family, *hpr, in, 8);
    torch::optim::Adam opt(net->parameters());
    EXPECT_TRUE(LoadCheckpoint(CheckpointPath(s), *net, opt, torch::kCPU, data).ok());
    return SnapshotState(*net);
  };
  CheckpointData da, db;
  std::vector<torch::Tensor> wa = load(straight, &da), wb = load(resumed, &db);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i])) << i;
  ASSERT_EQ(da.best_state.size(), db.best_state.size());
  for (size_t i = 0; i < da.best_state.size(); ++i) {
    EXPECT_TRUE(torch::equal(da.best_state[i], db.best_state[i])) << i;
  }
  // A finished run resumed again does nothing more and reports the same outcome.
  TrainOutcome again = RunTraining(resumed, {});
  EXPECT_EQ(again.epochs_run, 4);
  ExpectSameHistory(a.history, again.history);
}

TEST(TrainingTest, CheckpointOfAnotherTrialIsRefused) {
  TempDir dir;
  Json hp = Small2d(1);
  hp["res_channels"] = 4;
  RunTraining(MakeSpec("nnet2", hp, dir.path()), {});
  hp["lr"] = 0.01;
  try {
    RunTraining(MakeSpec("nnet2", hp, dir.path()), {});
    ADD_FAILURE() << "resumed another trial's checkpoint";
  } catch (const TrainingError& e) {
    EXPECT_EQ(e.kind(), TrainingError::Kind::kSpec);
  }
}

TEST(TrainingTest, DivergenceIsANanError) {
  TempDir dir;
  Json hp = Small2d(2);
  hp["res_channels"] = 4;
  hp["lr"] = 1.0;
  hp["optimizer"] = "sgd";
  hp["momentum"] = 0.99;
  hp["batch_norm"] = false;
  hp["standardize"] = false;
  hp["feature"] = "mel";  // dB values in the tens: SGD at lr 1 explodes
  try {
    RunTraining(MakeSpec("nnet2", hp, dir.path()), {});
    ADD_FAILURE() << "no divergence";
  } catch (const TrainingError& e) {
    EXPECT_EQ(e.kind(), TrainingError::Kind::kNan) << e.what();
  }
}

}  // namespace
}  // namespace mgr
