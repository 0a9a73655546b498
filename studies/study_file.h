// The study file: what `mgr-tune study.json` reads (docs/study-file.md, docs/study.schema.json).
//
// ParseStudyFile validates the whole file before anything starts: every problem is
// collected (not just the first) and named by its JSON path, e.g.
//   study.json: stages[2].params.channels: low must be <= high (got 512 > 256)
// Unknown keys are errors. Relative paths are resolved against the study file's folder.
#ifndef MGR_STUDIES_STUDY_FILE_H_
#define MGR_STUDIES_STUDY_FILE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/base/status.h"
#include "storage/distribution.h"
#include "storage/trial.h"

namespace mgr {

// One searched hyperparameter. With `per_layer_of` set (the name of an int parameter, e.g.
// "dense_layers"), the parameter is conditional: it expands to <name>_0 .. <name>_{n-1},
// one per layer that exists once the count is known.
struct ParamSpec {
  std::string name;
  Distribution distribution;
  std::optional<std::string> per_layer_of;
};

struct StageSpec {
  std::string name;
  int64_t trials = 0;                     // this stage's trial budget
  std::vector<ParamSpec> params;          // searched in this stage only
  std::vector<ParamSpec> retune;          // searched again in this stage (default: the study's)
  std::map<std::string, Json> fixed;      // extra fixed hparams for this stage (win over incumbent)
  double min_improvement = 0.0;           // needed to replace the incumbent
  bool min_improvement_relative = false;  // "2%" in the file: fraction of |incumbent value|
  Json sampler;                           // the study's, with this stage's overrides merged
  Json pruner;
};

struct WorkersSpec {
  bool gpus_auto = true;     // "auto": discover the host's GPUs
  std::vector<int> gpu_ids;  // when not auto; empty: CPU only
  int trials_per_gpu = 1;
  int cpu_workers = 1;  // used when there is no GPU
  int threads_per_worker = 1;
};

// "final": after the last stage, the incumbent's configuration is trained again from
// scratch with a longer budget, once per seed (docs/playbook.md "Final training").
struct FinalSpec {
  int max_epochs = 100;        // the paper's final budget
  int patience = 20;           // early stopping, epochs without improvement
  std::vector<int64_t> seeds;  // the workers' seeds, distinct, one final run each
};

// A MixNet's encoder source: exactly one of a study file or an exported model (absolute).
struct EncoderSource {
  std::string study;
  std::string model;
};

// "encoders" (mixnet only): the NNET1/NNET2 the MixNet builds on (studies/encoders.h).
struct EncodersSpec {
  std::optional<EncoderSource> audio, feature;
  bool load_weights = false;  // init_*_encoder from the sources' trained weights
  bool freeze = false;        // freeze_encoders: only the head trains
};

struct StudyFile {
  std::string path;  // absolute path of the file
  std::string dir;   // its folder
  std::string name;
  std::string storage_url;               // default sqlite:///<dir>/<name>.db
  std::string run_dir;                   // checkpoints, specs, logs, the exported model
  Json dataset;                          // the worker's "data" object, paths absolute
  bool prepare = true;                   // run `mgr-train prepare` before the first trial
  std::string model_family;              // nnet1, nnet2, mixnet
  std::string model_preset;              // "paper" by default
  std::map<std::string, Json> fixed;     // hparams fixed for every stage
  std::optional<EncodersSpec> encoders;  // mixnet: imported into `fixed` when a run starts
  std::string objective_metric = "val_loss";
  StudyDirection direction = StudyDirection::kMinimize;
  std::vector<ParamSpec> retune;  // re-tuned in every stage (e.g. lr)
  std::vector<StageSpec> stages;
  WorkersSpec workers;
  double trial_timeout_seconds = 0;  // 0: none
  double kill_grace_seconds = 30;    // after `stop`, before SIGKILL
  int retries = 2;                   // per failed trial
  int64_t seed = 0;
  double heartbeat_interval_seconds = 10;
  double heartbeat_grace_seconds = 60;
  bool export_model = true;  // run the final evaluation and export
  // With a value: the final runs of FinalSpec instead of evaluating the incumbent's checkpoint.
  std::optional<FinalSpec> final_training;

  // The Optuna study name of a stage: "<name>/<stage>".
  std::string StageStudyName(size_t stage) const { return name + "/" + stages[stage].name; }
};

// Parses and validates `json` as if read from `path` (used for messages and to resolve
// relative paths). All errors are reported in one InvalidArgument, one per line.
Result<StudyFile> ParseStudyJson(const Json& json, const std::string& path);
// Reads a JSON file (comments allowed, as in study files). NotFound when it cannot be opened,
// InvalidArgument naming the file and the position when it is not JSON.
Result<Json> ReadJsonFile(const std::string& path);
// Reads the file, then ParseStudyJson. Errors are prefixed with the file's path.
Result<StudyFile> LoadStudyFile(const std::string& path);

// The study file's top-level keys (and the nested objects' keys), as the parser accepts
// them: the schema test checks docs/study.schema.json against these.
const std::vector<std::string>& StudyFileKeys(const std::string& object);

}  // namespace mgr

#endif  // MGR_STUDIES_STUDY_FILE_H_
