// The trial spec (docs/worker-protocol.md, SPEC.json) parsed and validated.
#ifndef MGR_TRAINER_TRAINING_TRAIN_SPEC_H_
#define MGR_TRAINER_TRAINING_TRAIN_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>

#include "storage/base/status.h"
#include "trainer/data/clip_cache.h"
#include "trainer/data/fma_metadata.h"
#include "trainer/models/hparams.h"

namespace mgr {

struct TrainSpec {
  Json trial;  // informational
  uint64_t seed = 0;
  std::string device = "auto";  // "auto" | "cpu" | "cuda" | "cuda:N"
  int threads = 1;
  std::string checkpoint_dir;
  std::optional<std::string> export_dir;
  bool evaluate_test = false;
  FmaOptions data;
  CacheOptions cache;  // min_samples = clip_samples
  int64_t clip_samples = 262144;
  std::string family;  // "nnet1" | "nnet2" | "mixnet"
  std::string preset;  // "paper" or ""
  Json hparams;        // flat, validated, complete (HParamsToJson of `params`)
  HParams params;      // the same, typed
};

// Every error names the JSON path ("data.clip_samples: must be a positive integer",
// "hparams.conv_kernl_0: unknown hyperparameter for nnet1"); unknown keys are errors.
// Also checks that the network can be built for clip_samples (ValidateArchitecture).
Result<TrainSpec> ParseTrainSpec(const Json& spec);
// Reads and parses a SPEC.json file.
Result<TrainSpec> LoadTrainSpec(const std::string& path);

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_TRAIN_SPEC_H_
