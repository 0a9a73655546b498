// Helpers for the model and training tests: the tiny generated FMA dataset
// (mgr-make-dataset --size tiny: 8 genres x 10/3/3 tracks of ~4 s at 22.05 kHz) with its
// clip cache prepared once per test process.
#ifndef MGR_TESTS_TRAINER_MODEL_TEST_UTIL_H_
#define MGR_TESTS_TRAINER_MODEL_TEST_UTIL_H_

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/trainer/data_test_util.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"

namespace mgr {
namespace testing_util {

struct TinyDataset {
  TempDir dir;
  FmaOptions data;
  CacheOptions cache;
  FmaIndex index;
  std::unique_ptr<ClipCache> clips;
};

// Generated and cached on first use; nullptr (with a test failure) if that fails.
inline TinyDataset* GetTinyDataset(int64_t clip_samples = 65536) {
  static TinyDataset* tiny = [clip_samples]() -> TinyDataset* {
    auto* t = new TinyDataset;
    const std::string root = t->dir.path();
    std::string log;
    int rc = Shell(std::string(MGR_MAKE_DATASET) + " --size tiny --seed 1 --threads 2 --out '" +
                     root + "/ds' 2>&1",
                 &log);
    if (rc != 0) {
      ADD_FAILURE() << "mgr-make-dataset failed: " << log;
      return nullptr;
    }
    t->data.metadata_csv = root + "/ds/fma_metadata/tracks.csv";
    t->data.audio_dir = root + "/ds/fma_small";
    t->data.subset = "small";
    t->cache.cache_dir = root + "/cache";
    t->cache.sample_rate = 22050;
    t->cache.min_samples = clip_samples;
    t->cache.threads = 2;
    Result<FmaIndex> index = LoadFmaIndex(t->data);
    if (!index.ok()) {
      ADD_FAILURE() << index.status().ToString();
      return nullptr;
    }
    t->index = *index;
    Result<PrepareSummary> prepared = PrepareClipCache(t->data, t->index, t->cache);
    if (!prepared.ok()) {
      ADD_FAILURE() << prepared.status().ToString();
      return nullptr;
    }
    Result<std::unique_ptr<ClipCache>> clips = ClipCache::Open(t->data, t->cache);
    if (!clips.ok()) {
      ADD_FAILURE() << clips.status().ToString();
      return nullptr;
    }
    t->clips = std::move(*clips);
    return t;
  }();
  return tiny;
}

// Runs `code` with Debian's python3 (python3-torch); returns its stdout, "" on failure.
inline std::string RunPython(const std::string& code) {
  std::string out;
  int rc = Shell(std::string(MGR_PYTHON) + " - <<'MGR_PY_EOF'\n" + code + "\nMGR_PY_EOF\n", &out);
  if (rc != 0) {
    ADD_FAILURE() << "python failed (" << rc << "): " << out;
    return "";
  }
  return out;
}

// The paper's networks built with python3-torch's nn layers straight from REFERENCE.md's
// layer tables; prints "<parameters> <output shape>" for nnet1, nnet2, mixnet.
inline const char* kPythonPaperModels = R"PY(
import torch, torch.nn as nn
def conv1d_block():
    return nn.Sequential(
        nn.Conv1d(1, 64, 128, stride=32, padding=64), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(4, 4),
        nn.Conv1d(64, 128, 32, stride=2, padding=16), nn.BatchNorm1d(128), nn.ReLU(), nn.MaxPool1d(2, 2),
        nn.Conv1d(128, 256, 16, stride=2, padding=8), nn.BatchNorm1d(256), nn.ReLU(), nn.MaxPool1d(2, 2),
        nn.Conv1d(256, 512, 8, stride=2, padding=4), nn.BatchNorm1d(512), nn.ReLU())
class Res(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 256, (4, 20)); self.b1 = nn.BatchNorm2d(256)
        self.c2 = nn.Conv2d(256, 256, (4, 1), padding=(2, 0)); self.b2 = nn.BatchNorm2d(256)
        self.c3 = nn.Conv2d(256, 256, (4, 1), padding=(1, 0)); self.b3 = nn.BatchNorm2d(256)
    def forward(self, x):
        x = torch.relu(self.b1(self.c1(x)))
        y = self.b3(self.c3(torch.relu(self.b2(self.c2(x)))))
        x = torch.relu(x + y)
        return torch.cat([nn.functional.max_pool2d(x, (125, 1)), nn.functional.avg_pool2d(x, (125, 1))], 1).flatten(1)
def mlp(sizes, p):
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.ReLU()] + ([nn.Dropout(p)] if p else [])
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))
def count(m): return sum(p.numel() for p in m.parameters())
c1, res = conv1d_block(), Res()
head1 = lambda x: torch.cat([nn.functional.max_pool1d(x, 64), nn.functional.avg_pool1d(x, 64)], 1).flatten(1)
n1 = mlp([1024, 512, 128, 128, 64, 8], 0)
n2 = mlp([1024, 1024, 256, 64, 8], 0.1)
mx = mlp([2048, 512, 256, 128, 8], 0.1)
with torch.no_grad():
    a = torch.zeros(2, 1, 262144); f = torch.zeros(2, 1, 256, 20)
    print(count(c1) + count(n1), tuple(n1(head1(c1(a))).shape), tuple(c1(a).shape))
    print(count(res) + count(n2), tuple(n2(res(f)).shape))
    print(count(c1) + count(res) + count(mx), tuple(mx(torch.cat([head1(c1(a)), res(f)], 1)).shape))
)PY";

}  // namespace testing_util
}  // namespace mgr

#endif  // MGR_TESTS_TRAINER_MODEL_TEST_UTIL_H_
