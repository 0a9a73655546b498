#include "trainer/training/training.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/protocol/worker_protocol.h"
#include "trainer/training/checkpoint.h"
#include "trainer/training/data_loader.h"
#include "trainer/training/export.h"
#include "trainer/training/grad_scaler.h"
#include "trainer/training/torch_compat.h"

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

// Issue #13: a study scored on whole tracks keeps the weights (and stops early) by the
// whole-track validation loss when `monitor` says so.
TEST(TrainingTest, MonitorValTrackLossKeepsTheEpochOfTheLowestTrackLoss) {
  TempDir dir;
  Json hp = Small2d(10);
  hp["monitor"] = "val_track_loss";
  TrainSpec spec = MakeSpec("nnet2", hp, dir.path());
  std::vector<EpochMetrics> epochs;
  TrainCallbacks cb;
  cb.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m); };
  TrainOutcome out = RunTraining(spec, cb);
  ASSERT_EQ(epochs.size(), 10u);
  auto best = std::min_element(epochs.begin(), epochs.end(), [](auto& a, auto& b) {
    return a.val_track_loss < b.val_track_loss;
  });
  auto best_mid = std::min_element(epochs.begin(), epochs.end(),
                                   [](auto& a, auto& b) { return a.val_loss < b.val_loss; });
  EXPECT_EQ(out.best_epoch, best->epoch) << "the lowest val_loss is at epoch " << best_mid->epoch;
  EXPECT_EQ(out.best_val_loss, best->val_loss);  // that epoch's mid-point loss
  Result<LoadedModel> m = LoadBestModel(spec);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->best_epoch, best->epoch);

  // Early stopping follows it too: with a bar no epoch clears, training stops `patience`
  // epochs after the first, whose track loss sets the reference.
  TempDir dir2;
  hp["patience"] = 2;
  hp["min_delta"] = 1e6;
  TrainOutcome stopped = RunTraining(MakeSpec("nnet2", hp, dir2.path()), {});
  EXPECT_EQ(stopped.epochs_run, 3);
  EXPECT_TRUE(stopped.stopped_early);
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
  for (const EpochMetrics& m : epochs) {
    EXPECT_GT(m.samples_per_second, 0) << "epoch " << m.epoch;
    EXPECT_GT(m.peak_memory_bytes, 0) << "epoch " << m.epoch;
  }
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

// normalization "dataset": the MFCCs of the mid-point windows of the training tracks give
// the statistics (computed here with torch from the cache's audio), the checkpoint keeps
// them, and predict and the export standardise with them.
TEST(TrainingTest, DatasetNormalizationUsesTheTrainingSplitsStatistics) {
  TempDir dir;
  Json hp = Small2d(2);
  hp["normalization"] = "dataset";
  TrainSpec spec = MakeSpec("nnet2", hp, dir.path());
  TrainOutcome out = RunTraining(spec, {});
  ASSERT_EQ(out.epochs_run, 2);

  auto* tiny = GetTinyDataset();
  FeatureOptions raw;  // no per-clip standardisation
  std::vector<torch::Tensor> train_features;
  torch::Tensor test_clip;
  for (const Track& track : tiny->index.tracks) {
    if (!tiny->clips->Contains(track.id)) continue;
    int64_t samples = 0;
    const float* s = tiny->clips->Samples(track.id, &samples);
    const int64_t start = std::min(samples / 2, samples - 65536);
    torch::Tensor clip = torch::from_blob(const_cast<float*>(s) + start, {1, 65536}).clone();
    if (track.split == Split::kTraining) train_features.push_back(Mfcc(clip, raw));
    if (track.split == Split::kTest && !test_clip.defined()) test_clip = clip;
  }
  ASSERT_EQ(train_features.size(), 80u);
  const torch::Tensor frames = torch::cat(train_features).reshape({-1, 20}).to(torch::kFloat64);
  const torch::Tensor mean = frames.mean(0), std = frames.std(0, /*unbiased=*/false);

  Result<LoadedModel> m = LoadBestModel(spec);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(m->input.feature_mean.defined());
  EXPECT_LT((m->input.feature_mean.to(torch::kFloat64) - mean).abs().max().item<double>(),
            1e-4 * mean.abs().max().item<double>());
  EXPECT_LT((m->input.feature_std.to(torch::kFloat64) - std).abs().max().item<double>(),
            1e-4 * std.max().item<double>());

  // Predict standardises with them (and not per clip).
  torch::NoGradGuard no_grad;
  const torch::Tensor standardized =
      ((Mfcc(test_clip, raw).to(torch::kFloat64) - mean) / std).to(torch::kFloat32);
  const torch::Tensor want = m->model->forward(torch::Tensor(), standardized.unsqueeze(1));
  const torch::Tensor got = Forward(*m, test_clip);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-3) << got << want;
  const torch::Tensor per_clip = m->model->forward(
      torch::Tensor(), StandardizePerCoefficient(Mfcc(test_clip, raw)).unsqueeze(1));
  EXPECT_GT((got - per_clip).abs().max().item<double>(), 1e-3);  // the test can fail

  // The export carries them: its logits are predict's, its metadata names them.
  Result<std::string> exported = ExportBestModel(spec, dir.path() + "/export");
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  Result<ExportedModel> loaded = LoadExportedModel(*exported);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const torch::Tensor scripted = loaded->module.forward({test_clip}).toTensor();
  EXPECT_LT((scripted - got).abs().max().item<double>(), 1e-4);
  const Json& features = loaded->metadata["features"];
  EXPECT_EQ(features["normalization"], "dataset");
  EXPECT_EQ(features["standardize"], false);
  ASSERT_EQ(features["dataset_stats"]["mean"].size(), 20u);
  EXPECT_NEAR(features["dataset_stats"]["mean"][3].get<double>(), mean[3].item<double>(),
              1e-4 * mean.abs().max().item<double>());
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
  Json hp = Small2d(2);
  hp["res_channels"] = 4;
  hp["lr"] = 1.0;  // the largest lr allowed (hparams: (0, 1])
  hp["optimizer"] = "sgd";
  hp["momentum"] = 0.99;
  hp["batch_norm"] = false;
  hp["normalization"] = "none";
  hp["feature"] = "mel";  // dB values in the tens: SGD at lr 1 explodes
  // Whether the weights overflow before every ReLU dies (a finite, useless run) depends on
  // the initialisation: over a few seeds some run diverges, and each that does is kNan.
  int diverged = 0;
  for (int64_t seed = 0; seed < 6 && diverged == 0; ++seed) {
    SCOPED_TRACE(seed);
    TempDir dir;
    TrainSpec spec = MakeSpec("nnet2", hp, dir.path());
    spec.seed = seed;
    try {
      RunTraining(spec, {});
    } catch (const TrainingError& e) {
      EXPECT_EQ(e.kind(), TrainingError::Kind::kNan) << e.what();
      ++diverged;
    }
  }
  EXPECT_GT(diverged, 0) << "no seed diverged";
}

// ---- Precision, device and memory.

struct StepLosses {
  std::vector<double> losses;  // of each step, before its update
  torch::ScalarType logits_dtype = torch::kFloat32;
};

// `steps` optimizer steps of `family` (paper preset + `overrides`) on one fixed training
// batch of the tiny dataset, on `device` with `precision`, taken as TrainEpoch takes them:
// features in float32, forward + loss under AutocastGuard, fp16 through a GradScaler.
StepLosses FixedBatchSteps(const std::string& family, const Json& overrides,
                           const torch::Device& device, const std::string& precision, int steps) {
  StepLosses out;
  auto* tiny = GetTinyDataset();
  Result<HParams> hp = ResolveHParams(family, "paper", overrides);
  EXPECT_TRUE(hp.ok()) << hp.status().ToString();
  if (tiny == nullptr || !hp.ok()) return out;
  std::vector<Example> train;
  for (const Track& t : tiny->index.tracks) {
    if (t.split == Split::kTraining && tiny->clips->Contains(t.id))
      train.push_back({t.id, t.label});
  }
  LoaderOptions o;
  o.clip_samples = 65536;
  o.batch_size = 16;
  o.shuffle = true;
  o.seed = 3;
  DataLoader loader(tiny->clips.get(), train, o);
  const Batch batch = loader.MakeBatch(1, 0);
  const InputConfig input = MakeInputConfig(family, *hp, 65536, 22050);
  torch::manual_seed(11);  // the same initial weights on every device and precision
  GenreNet net = *BuildModel(family, *hp, input, 8);
  net->to(device);
  net->train();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(hp->lr));
  const torch::ScalarType dtype = PrecisionDtype(precision);
  GradScaler scaler;
  const torch::Tensor x = batch.clips.to(device), labels = batch.labels.to(device);
  for (int step = 0; step < steps; ++step) {
    torch::manual_seed(100 + step);  // dropout
    NetInputs in = PrepareInputs(input, x);
    torch::Tensor logits, loss;
    {
      AutocastGuard autocast(device, dtype);
      logits = net->forward(in.audio, in.features);
      loss = torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), labels);
    }
    out.logits_dtype = logits.scalar_type();
    out.losses.push_back(loss.item<double>());
    opt.zero_grad();
    if (dtype == torch::kFloat16) {
      scaler.Scale(loss).backward();
      scaler.Step(opt);
      scaler.Update();
    } else {
      loss.backward();
      opt.step();
    }
  }
  return out;
}

void ExpectFiniteAndDecreasing(const std::vector<double>& losses, const std::string& what) {
  ASSERT_GE(losses.size(), 2u) << what;
  for (double l : losses) EXPECT_TRUE(std::isfinite(l)) << what;
  EXPECT_LT(losses.back(), losses.front()) << what;
}

TEST(TrainingTest, Bf16OnTheCpuMatchesFp32AndLearns) {
  const torch::Device cpu(torch::kCPU);
  Json hp = Small2d(1);
  hp["dropout"] = 0.0;  // the two runs differ only in precision
  const StepLosses fp32 = FixedBatchSteps("nnet2", hp, cpu, "fp32", 6);
  const StepLosses bf16 = FixedBatchSteps("nnet2", hp, cpu, "bf16", 6);
  ASSERT_EQ(bf16.losses.size(), 6u);
  EXPECT_EQ(fp32.logits_dtype, torch::kFloat32);
  EXPECT_EQ(bf16.logits_dtype, torch::kBFloat16);
  // Same weights, same batch: the first losses differ by bfloat16 rounding only. bf16
  // keeps 8 mantissa bits, so each cast to it (every conv/linear input and weight) rounds
  // by up to 2^-9 = 0.2 %; even with the roundings of its 5 conv/linear layers (stem, two
  // in the residual block, hidden and output dense) all lined up, the loss (3.01 here)
  // would move by about 5 x 0.2 % x 3 = 0.03. Measured: 6.5e-4 (3.00946 vs 3.00881,
  // LibTorch 1.13).
  std::printf("first-step loss: fp32 %.5f, bf16 %.5f\n", fp32.losses[0], bf16.losses[0]);
  EXPECT_NEAR(bf16.losses[0], fp32.losses[0], 0.03);
  ExpectFiniteAndDecreasing(bf16.losses, "bf16");
  ExpectFiniteAndDecreasing(fp32.losses, "fp32");
}

TEST(TrainingTest, Bf16TrialTrainsOnTheCpuAndReportsSpeedAndMemory) {
  TempDir dir;
  Json hp = Small2d(2);
  hp["res_channels"] = 8;
  hp["precision"] = "bf16";
  TrainSpec spec = MakeSpec("nnet2", hp, dir.path());
  spec.evaluate_test = false;
  std::vector<EpochMetrics> epochs;
  TrainCallbacks cb;
  cb.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m); };
  TrainOutcome out = RunTraining(spec, cb);
  ASSERT_EQ(epochs.size(), 2u);
  for (const EpochMetrics& m : epochs) {
    EXPECT_TRUE(std::isfinite(m.train_loss) && std::isfinite(m.val_loss));
    EXPECT_GT(m.samples_per_second, 0);
    EXPECT_GT(m.peak_memory_bytes, 0);
    // The epoch event carries both, under the protocol's names.
    const Json j = EpochMetricsToJson(m);
    EXPECT_EQ(j.at(kFieldSamplesPerSecond).get<double>(), m.samples_per_second);
    EXPECT_EQ(j.at(kFieldPeakMemoryBytes).get<int64_t>(), m.peak_memory_bytes);
  }
  // 80 training clips in less time than the whole epoch took.
  EXPECT_GT(epochs[0].samples_per_second, 80 / epochs[0].seconds);
  EXPECT_EQ(out.history.size(), 2u);
  EXPECT_EQ(out.history[1].peak_memory_bytes, epochs[1].peak_memory_bytes);  // checkpointed
}

// CPU float16 autocast exists from LibTorch 2.x on: there it trains with the GradScaler
// (whose state goes into the checkpoint), in 1.13 it is a spec error before any work.
TEST(TrainingTest, Fp16OnTheCpuTrainsOrIsASpecError) {
  TempDir dir;
  Json hp = Small2d(1);
  hp["res_channels"] = 4;
  hp["precision"] = "fp16";
  TrainSpec spec = MakeSpec("nnet2", hp, dir.path());
  spec.evaluate_test = false;
  const torch::Device cpu(torch::kCPU);
  if (AutocastSupported(cpu, torch::kFloat16)) {
    TrainOutcome out = RunTraining(spec, {});
    ASSERT_EQ(out.history.size(), 1u);
    EXPECT_TRUE(std::isfinite(out.history[0].train_loss));
    CheckpointData data;
    GenreNet net =
        *BuildModel("nnet2", spec.params, MakeInputConfig("nnet2", spec.params, 65536, 22050), 8);
    torch::optim::Adam adam(net->parameters());
    ASSERT_TRUE(LoadCheckpoint(CheckpointPath(spec), *net, adam, cpu, &data).ok());
    ASSERT_TRUE(data.record.contains("grad_scaler"));
    GradScaler scaler;
    EXPECT_TRUE(scaler.FromJson(data.record["grad_scaler"]).ok());
  } else {
    try {
      CheckPrecision("fp16", cpu);
      ADD_FAILURE() << "fp16 accepted on the CPU although unsupported";
    } catch (const TrainingError& e) {
      EXPECT_EQ(e.kind(), TrainingError::Kind::kSpec);
    }
    try {
      RunTraining(spec, {});
      ADD_FAILURE() << "fp16 trained on the CPU although unsupported";
    } catch (const TrainingError& e) {
      EXPECT_EQ(e.kind(), TrainingError::Kind::kSpec);
      const std::string what = e.what();
      EXPECT_NE(what.find("hparams.precision"), std::string::npos) << what;
      EXPECT_NE(what.find("fp16"), std::string::npos) << what;
      EXPECT_NE(what.find("cpu"), std::string::npos) << what;
    }
  }
  EXPECT_EQ(PrecisionDtype("fp32"), torch::kFloat32);
  EXPECT_EQ(PrecisionDtype("bf16"), torch::kBFloat16);
  EXPECT_EQ(PrecisionDtype("fp16"), torch::kFloat16);
}

TEST(TrainingTest, OutOfMemoryIsAnOomErrorNamingDeviceAndBatchSize) {
  try {
    TranslateOutOfMemory(
        [] { TORCH_CHECK(false, "CUDA out of memory. Tried to allocate 2.00 GiB"); },
        torch::Device("cuda:1"), "evaluation", 48);
    ADD_FAILURE() << "not translated";
  } catch (const TrainingError& e) {
    EXPECT_EQ(e.kind(), TrainingError::Kind::kOom);
    const std::string what = e.what();
    EXPECT_NE(what.find("cuda:1"), std::string::npos) << what;
    EXPECT_NE(what.find("evaluation"), std::string::npos) << what;
    EXPECT_NE(what.find("batch_size 48"), std::string::npos) << what;
  }
  // Any other libtorch error passes through unchanged.
  EXPECT_THROW(TranslateOutOfMemory([] { TORCH_CHECK(false, "shape mismatch"); },
                                    torch::Device(torch::kCPU), "training", 48),
               c10::Error);
}

// ---- On a GPU (skipped without one).

// Each paper network (lr raised for a visible drop in a few steps) on one fixed batch on
// the GPU: finite losses that decrease, in every precision; fp32's first loss equals the
// CPU's (same weights, same batch).
TEST(TrainingGpuTest, PaperPresetsStepOnTheGpuInEveryPrecision) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu("cuda:0");
  at::globalContext().setAllowTF32CuDNN(false);  // float32 convolutions, to compare with the CPU
  for (const char* family : {"nnet1", "nnet2", "mixnet"}) {
    const Json hp = {{"lr", 1e-3}, {"dropout", 0.0}};
    const StepLosses cpu = FixedBatchSteps(family, hp, torch::kCPU, "fp32", 1);
    for (const char* precision : {"fp32", "bf16", "fp16"}) {
      const std::string what = std::string(family) + " " + precision;
      const StepLosses run = FixedBatchSteps(family, hp, gpu, precision, 8);
      ExpectFiniteAndDecreasing(run.losses, what);
      EXPECT_EQ(run.logits_dtype, PrecisionDtype(precision)) << what;
      // float32: summation order and the features' float32 rounding (cuFFT vs pocketfft,
      // features_test.cc); bf16/fp16: rounding as in the CPU test above, over
      // up to 9 conv/linear layers (nnet1: 4 conv + 5 linear), about twice its bound.
      const double tolerance = std::string(precision) == "fp32" ? 5e-3 : 0.05;
      ASSERT_FALSE(cpu.losses.empty());
      EXPECT_NEAR(run.losses[0], cpu.losses[0], tolerance) << what;
    }
  }
  at::globalContext().setAllowTF32CuDNN(true);
}

// A whole fp16 trial on the GPU: pinned batches, the scaler, per-epoch speed and device
// memory, resumable; then its best model predicts on the GPU what its export predicts on
// the CPU.
TEST(TrainingGpuTest, Fp16TrialOnTheGpuResumesAndExports) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  Json hp = Small2d(2);
  hp["precision"] = "fp16";
  TrainSpec spec = MakeSpec("nnet2", hp, dir.path());
  spec.device = "cuda";
  TrainStart start;
  std::vector<EpochMetrics> epochs;
  TrainCallbacks cb;
  cb.on_start = [&](const TrainStart& s) { start = s; };
  cb.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m); };
  cb.should_stop = [&] { return epochs.size() == 1; };
  TrainOutcome part = RunTraining(spec, cb);
  EXPECT_EQ(start.device, "cuda:0");
  EXPECT_TRUE(part.stopped);
  TrainOutcome out = RunTraining(spec, {});
  EXPECT_EQ(out.epochs_run, 2);
  ASSERT_EQ(out.history.size(), 2u);
  for (const EpochMetrics& m : out.history) {
    EXPECT_TRUE(std::isfinite(m.train_loss) && std::isfinite(m.val_loss));
    EXPECT_GT(m.samples_per_second, 0);
    // At least the weights (res_channels 16 ...) and a batch of 16 clips live on the GPU.
    EXPECT_GT(m.peak_memory_bytes, 16 * 65536 * 4);
  }
  ASSERT_TRUE(out.test.has_value());
  EXPECT_TRUE(std::isfinite(out.test->loss));

  Result<LoadedModel> m = LoadBestModel(spec);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->device.is_cuda());
  auto* tiny = GetTinyDataset();
  const Track& track = tiny->index.tracks.front();
  int64_t samples = 0;
  const float* s = tiny->clips->Samples(track.id, &samples);
  ASSERT_GE(samples, 65536);
  torch::Tensor clip = torch::from_blob(const_cast<float*>(s), {1, 65536}).clone();
  torch::Tensor gpu_logits = Forward(*m, clip);
  EXPECT_TRUE(gpu_logits.is_cuda());
  Result<std::string> exported = ExportBestModel(spec, dir.path() + "/export");
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  Result<ExportedModel> loaded = LoadExportedModel(*exported);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  torch::NoGradGuard no_grad;
  torch::Tensor cpu_logits = loaded->module.forward({clip}).toTensor();
  // float32 on both (Forward ignores precision); TF32 convolutions on the GPU: ~1e-3.
  EXPECT_LE((cpu_logits - gpu_logits.cpu()).abs().max().item<double>(), 1e-2);
}

}  // namespace
}  // namespace mgr
