#include "trainer/training/data_loader.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "tests/trainer/model_test_util.h"
#include "trainer/features/features.h"
#include "trainer/models/training_error.h"

namespace mgr {
namespace {

using testing_util::GetTinyDataset;

constexpr int64_t kClip = 65536;

std::vector<Example> SplitExamples(const testing_util::TinyDataset& t, Split split) {
  std::vector<Example> out;
  for (const Track& track : t.index.tracks) {
    if (track.split == split && t.clips->Contains(track.id)) out.push_back({track.id, track.label});
  }
  return out;
}

// Where `clip` starts inside the track, found independently by search; -1 if nowhere.
int64_t FindInTrack(const ClipCache& cache, int64_t id, const torch::Tensor& clip) {
  int64_t n = 0;
  const float* s = cache.Samples(id, &n);
  const float* c = clip.data_ptr<float>();
  for (int64_t start = 0; start + kClip <= n; ++start) {
    if (std::equal(c, c + kClip, s + start)) return start;
  }
  return -1;
}

std::vector<Batch> Epoch(DataLoader& loader, int epoch) {
  std::vector<Batch> out;
  loader.StartEpoch(epoch);
  while (std::optional<Batch> b = loader.Next()) out.push_back(std::move(*b));
  return out;
}

TEST(DataLoaderTest, EveryExampleOnceWithItsLabelAndARealWindow) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  std::vector<Example> train = SplitExamples(*tiny, Split::kTraining);
  ASSERT_GE(train.size(), 70u);
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 16;
  o.shuffle = true;
  o.seed = 5;
  DataLoader loader(tiny->clips.get(), train, o);
  EXPECT_EQ(loader.NumBatches(), static_cast<int64_t>((train.size() + 15) / 16));
  std::vector<Batch> batches = Epoch(loader, 1);
  ASSERT_EQ(static_cast<int64_t>(batches.size()), loader.NumBatches());
  std::multiset<int64_t> seen_labels;
  std::set<int64_t> seen_tracks;
  for (size_t b = 0; b < batches.size(); ++b) {
    EXPECT_EQ(batches[b].index, static_cast<int64_t>(b));
    EXPECT_EQ(batches[b].clips.size(1), kClip);
    for (int64_t i = 0; i < batches[b].clips.size(0); ++i) {
      // Identify the track by its window: exactly one track of the split contains it.
      int matches = 0;
      for (const Example& e : train) {
        if (seen_tracks.count(e.track_id)) continue;
        int64_t start = FindInTrack(*tiny->clips, e.track_id, batches[b].clips[i].contiguous());
        if (start < 0) continue;
        ++matches;
        seen_tracks.insert(e.track_id);
        EXPECT_EQ(batches[b].labels[i].item<int64_t>(), e.label);
        int64_t n = 0;
        tiny->clips->Samples(e.track_id, &n);
        EXPECT_LT(start, n - kClip);  // uniform in [0, n - clip)
        break;
      }
      EXPECT_EQ(matches, 1);
      seen_labels.insert(batches[b].labels[i].item<int64_t>());
    }
  }
  EXPECT_EQ(seen_tracks.size(), train.size());
}

// The same batches whatever the thread count and prefetch depth, and equal to MakeBatch.
TEST(DataLoaderTest, DeterministicRegardlessOfThreads) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  std::vector<Example> train = SplitExamples(*tiny, Split::kTraining);
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 7;
  o.shuffle = true;
  o.augment = true;
  o.seed = 11;
  o.threads = 1;
  o.prefetch = 1;
  DataLoader one(tiny->clips.get(), train, o);
  o.threads = 3;
  o.prefetch = 5;
  DataLoader three(tiny->clips.get(), train, o);
  std::vector<Batch> a = Epoch(one, 2), b = Epoch(three, 2);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].clips, b[i].clips)) << i;
    EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels)) << i;
  }
  EXPECT_TRUE(torch::equal(one.MakeBatch(2, 3).clips, a[3].clips));
  // Another epoch: another order and other windows/augmentation.
  std::vector<Batch> c = Epoch(three, 3);
  EXPECT_FALSE(torch::equal(a[0].clips, c[0].clips));
  // An abandoned epoch does not disturb the next one.
  three.StartEpoch(2);
  three.Next();
  std::vector<Batch> again = Epoch(three, 2);
  EXPECT_TRUE(torch::equal(again[1].clips, a[1].clips));
}

TEST(DataLoaderTest, FixedAndMidPointWindows) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  std::vector<Example> val = SplitExamples(*tiny, Split::kValidation);
  LoaderOptions o;
  o.split = Split::kValidation;
  o.clip_samples = kClip;
  o.batch_size = 8;
  o.fixed_windows = true;
  DataLoader loader(tiny->clips.get(), val, o);
  std::vector<Batch> e1 = Epoch(loader, 1), e2 = Epoch(loader, 2);
  for (size_t i = 0; i < e1.size(); ++i) EXPECT_TRUE(torch::equal(e1[i].clips, e2[i].clips));

  std::vector<Example> test = SplitExamples(*tiny, Split::kTest);
  o.split = Split::kTest;
  DataLoader test_loader(tiny->clips.get(), test, o);
  std::vector<Batch> t = Epoch(test_loader, 1);
  // Unshuffled: batch 0 row 0 is test[0]; its window starts at n / 2, clamped to fit.
  int64_t n = 0;
  const float* s = tiny->clips->Samples(test[0].track_id, &n);
  const int64_t start = std::min(n / 2, n - kClip);
  torch::Tensor expected =
      torch::from_blob(const_cast<float*>(s) + start, {kClip}, torch::kFloat32);
  EXPECT_TRUE(torch::equal(t[0].clips[0], expected));
  EXPECT_EQ(t[0].labels[0].item<int64_t>(), test[0].label);
}

// Training-loader options for `input` as trials use them (training.cc TrainLoaderOptions):
// waveform augmentation for an audio branch, clean clips kept for a second branch.
LoaderOptions TrainingLike(const InputConfig& input) {
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 4;
  o.shuffle = true;
  o.seed = 21;
  o.augment = input.audio;
  o.augment_options.noise_p = 1;  // noise and time mask on every clip
  o.keep_clean = input.audio && input.features;
  return o;
}

// The windows of `clips` read straight from the cache (each row located by search), so
// that the references below do not go through the loader.
torch::Tensor WindowsFromCache(const testing_util::TinyDataset& t,
                               const std::vector<Example>& examples, const torch::Tensor& clips) {
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < clips.size(0); ++i) {
    for (const Example& e : examples) {
      const int64_t start = FindInTrack(*t.clips, e.track_id, clips[i].contiguous());
      if (start < 0) continue;
      int64_t n = 0;
      const float* s = t.clips->Samples(e.track_id, &n);
      rows.push_back(torch::from_blob(const_cast<float*>(s) + start, {kClip}, torch::kFloat32));
      break;
    }
  }
  EXPECT_EQ(static_cast<int64_t>(rows.size()), clips.size(0)) << "a row is not a clean window";
  return torch::stack(rows);
}

// Issue #13: MixNet's feature branch is computed from the clean clip (then gets its own
// spectrogram augmentation); only its audio branch sees the waveform augmentation.
TEST(DataLoaderTest, MixNetFeaturesComeFromTheCleanClip) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  const std::vector<Example> train = SplitExamples(*tiny, Split::kTraining);
  Result<HParams> hp = ResolveHParams("mixnet", "paper", Json::object());
  ASSERT_TRUE(hp.ok()) << hp.status().ToString();
  const InputConfig input = MakeInputConfig("mixnet", *hp, kClip, 22050);
  ASSERT_TRUE(input.audio && input.features);
  DataLoader loader(tiny->clips.get(), train, TrainingLike(input));
  const Batch batch = loader.MakeBatch(1, 0);
  ASSERT_TRUE(batch.clean.defined());
  const torch::Tensor clean = WindowsFromCache(*tiny, train, batch.clean);
  ASSERT_TRUE(torch::equal(batch.clean, clean));

  NetInputs in = BatchInputs(input, batch.clips, batch.clean);
  const torch::Tensor expected = Mfcc(clean, input.feature_options).unsqueeze(1);
  ASSERT_EQ(in.features.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(in.features, expected, 1e-5, 1e-5));
  // Features of the augmented clips are far from those (what the old pipeline fed).
  const torch::Tensor old = Mfcc(batch.clips, input.feature_options).unsqueeze(1);
  EXPECT_GT((old - expected).abs().max().item<double>(), 0.1);
  // The audio branch: the augmented clips, different from the clean windows in every row.
  EXPECT_TRUE(torch::equal(in.audio, batch.clips.unsqueeze(1)));
  for (int64_t i = 0; i < clean.size(0); ++i) {
    EXPECT_FALSE(torch::equal(in.audio[i][0], clean[i])) << i;
  }

  // With spectrogram augmentation: the clean clip's features, augmented by the same stream.
  SpectrogramAugmentOptions aug;
  aug.time_mask_p = aug.coef_mask_p = aug.noise_p = 1;
  std::mt19937_64 rng(7), reference_rng(7);
  NetInputs augmented = BatchInputs(input, batch.clips, batch.clean, &aug, &rng);
  torch::Tensor f = Mfcc(clean, input.feature_options);
  AugmentSpectrogram(f, aug, reference_rng);
  EXPECT_TRUE(torch::allclose(augmented.features, f.unsqueeze(1), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(augmented.features, expected, 1e-5, 1e-5));

  // A MixNet batch without its clean clips is refused rather than silently mixed up.
  try {
    BatchInputs(input, batch.clips, torch::Tensor());
    ADD_FAILURE() << "no error";
  } catch (const TrainingError& e) {
    EXPECT_EQ(e.kind(), TrainingError::Kind::kInternal);
    EXPECT_NE(std::string(e.what()).find("keep_clean"), std::string::npos) << e.what();
  }
}

// NNET1 keeps its augmented input (and no clean copy); NNET2's loader does not augment.
TEST(DataLoaderTest, SingleBranchNetworksKeepTheirInputs) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  const std::vector<Example> train = SplitExamples(*tiny, Split::kTraining);
  Result<HParams> hp1 = ResolveHParams("nnet1", "paper", Json::object());
  ASSERT_TRUE(hp1.ok()) << hp1.status().ToString();
  const InputConfig nnet1 = MakeInputConfig("nnet1", *hp1, kClip, 22050);
  LoaderOptions o = TrainingLike(nnet1);
  DataLoader augmented(tiny->clips.get(), train, o);
  o.augment = false;
  DataLoader plain(tiny->clips.get(), train, o);  // the same windows (their own stream)
  const Batch batch = augmented.MakeBatch(1, 0), clean = plain.MakeBatch(1, 0);
  EXPECT_FALSE(batch.clean.defined());
  const torch::Tensor windows = WindowsFromCache(*tiny, train, clean.clips);
  NetInputs in = BatchInputs(nnet1, batch.clips, batch.clean);
  EXPECT_FALSE(in.features.defined());
  EXPECT_TRUE(torch::equal(in.audio, batch.clips.unsqueeze(1)));
  for (int64_t i = 0; i < windows.size(0); ++i) {
    EXPECT_FALSE(torch::equal(in.audio[i][0], windows[i])) << i;
  }

  Result<HParams> hp2 = ResolveHParams("nnet2", "paper", Json::object());
  ASSERT_TRUE(hp2.ok()) << hp2.status().ToString();
  const InputConfig nnet2 = MakeInputConfig("nnet2", *hp2, kClip, 22050);
  const LoaderOptions o2 = TrainingLike(nnet2);
  EXPECT_FALSE(o2.augment || o2.keep_clean);
  DataLoader loader2(tiny->clips.get(), train, o2);
  const Batch b2 = loader2.MakeBatch(1, 0);
  EXPECT_FALSE(b2.clean.defined());
  NetInputs in2 = BatchInputs(nnet2, b2.clips, b2.clean);
  EXPECT_FALSE(in2.audio.defined());
  const torch::Tensor expected2 =
      Mfcc(WindowsFromCache(*tiny, train, b2.clips), nnet2.feature_options).unsqueeze(1);
  EXPECT_TRUE(torch::allclose(in2.features, expected2, 1e-5, 1e-5));
}

// keep_clean without augmentation costs nothing: clean is the clips tensor itself.
TEST(DataLoaderTest, KeepCleanWithoutAugmentationIsNoCopy) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 4;
  o.keep_clean = true;
  DataLoader loader(tiny->clips.get(), SplitExamples(*tiny, Split::kValidation), o);
  const Batch b = loader.MakeBatch(0, 0);
  EXPECT_TRUE(b.clean.is_same(b.clips));
}

TEST(DataLoaderTest, MissingTrackIsADataError) {
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 2;
  DataLoader loader(tiny->clips.get(), {{999999999, 0}}, o);
  loader.StartEpoch(1);
  try {
    loader.Next();
    ADD_FAILURE() << "no error";
  } catch (const TrainingError& e) {
    EXPECT_EQ(e.kind(), TrainingError::Kind::kData);
    EXPECT_NE(std::string(e.what()).find("999999999"), std::string::npos);
  }
}

TEST(DataLoaderTest, PinnedNonBlockingTransfersOnlyForCuda) {
  const HostTransfer cpu = HostTransferFor(torch::Device(torch::kCPU));
  EXPECT_FALSE(cpu.pin_memory);
  EXPECT_FALSE(cpu.non_blocking);
  // A device name only: no CUDA runtime is needed to decide.
  const HostTransfer cuda = HostTransferFor(torch::Device("cuda:1"));
  EXPECT_TRUE(cuda.pin_memory);
  EXPECT_TRUE(cuda.non_blocking);
}

TEST(DataLoaderGpuTest, PinnedBatchesEqualUnpinnedOnes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 16;
  o.shuffle = true;
  o.seed = 5;
  o.pin_memory = true;
  DataLoader loader(tiny->clips.get(), SplitExamples(*tiny, Split::kTraining), o);
  std::vector<Batch> batches = Epoch(loader, 2);
  ASSERT_FALSE(batches.empty());
  for (const Batch& b : batches) {
    EXPECT_TRUE(b.clips.is_pinned());
    EXPECT_TRUE(b.labels.is_pinned());
    const Batch same = loader.MakeBatch(2, b.index);  // unpinned, on this thread
    EXPECT_FALSE(same.clips.is_pinned());
    EXPECT_TRUE(torch::equal(b.clips, same.clips));
    // The asynchronous copy lands the same values.
    torch::Tensor on_gpu = b.clips.to(torch::Device("cuda:0"), torch::kFloat32, true);
    EXPECT_TRUE(torch::equal(on_gpu.cpu(), same.clips));
  }
}

TEST(DataLoaderGpuTest, PinnedCleanClipsEqualUnpinnedOnes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto* tiny = GetTinyDataset();
  ASSERT_NE(tiny, nullptr);
  LoaderOptions o;
  o.clip_samples = kClip;
  o.batch_size = 16;
  o.seed = 5;
  o.augment = true;
  o.keep_clean = true;
  o.pin_memory = true;
  DataLoader loader(tiny->clips.get(), SplitExamples(*tiny, Split::kTraining), o);
  std::vector<Batch> batches = Epoch(loader, 2);
  ASSERT_FALSE(batches.empty());
  for (const Batch& b : batches) {
    EXPECT_TRUE(b.clips.is_pinned());
    EXPECT_TRUE(b.clean.is_pinned());
    const Batch same = loader.MakeBatch(2, b.index);
    EXPECT_TRUE(torch::equal(b.clips, same.clips));
    EXPECT_TRUE(torch::equal(b.clean, same.clean));
    EXPECT_FALSE(torch::equal(b.clips, b.clean));
  }
}

}  // namespace
}  // namespace mgr
