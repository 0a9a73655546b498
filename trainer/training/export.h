// Export of a trained network as TorchScript: one self-contained `model.pt` that maps raw
// mono audio clips (B, clip_samples) at the model's sample rate to logits (B, classes),
// features and standardisation included, plus its metadata (sample rate, clip length,
// feature settings, class names, hyperparameters) both inside the archive (extra file
// `mgr-model.json`) and next to it (`model.json`). Python opens it with torch.jit.load,
// C++ with torch::jit::load; no mgr-tune code is needed to run it. See docs/predict.md.
//
// How: libtorch C++ modules cannot be scripted, so the forward pass is traced (torch's
// tracer, as torch.jit.trace does) for a batch of one, with the weights bound to module
// attributes (they stay visible as parameters/buffers in Python). A scripted `forward`
// loops over the batch and calls the traced `forward_one`: the C++ feature code reads the
// batch size as a plain integer, which a trace would freeze. The result is checked against
// the live network on a fresh input before it is written.
#ifndef MGR_TRAINER_TRAINING_EXPORT_H_
#define MGR_TRAINER_TRAINING_EXPORT_H_

#include <functional>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "storage/base/status.h"
#include "trainer/models/model_factory.h"
#include "trainer/training/train_spec.h"

namespace mgr {

inline constexpr const char* kExportedModelFile = "model.pt";
inline constexpr const char* kExportedMetadataFile = "model.json";
inline constexpr const char* kExportedMetadataArchiveName = "mgr-model.json";

// Maps clips (B, N) on the CPU to logits (B, C). Must be deterministic (eval mode).
using ClipForward = std::function<torch::Tensor(const torch::Tensor&)>;

// Traces `forward` (whose weights are the parameters and buffers of `net`, not copied) for
// clips of `clip_samples` samples into a TorchScript module with `forward(clips)` for any
// batch size and `forward_one` for a batch of one. Checks the module against `forward`
// on a random batch of two (relative tolerance 1e-4); Internal error if they differ (the
// forward pass depends on the data in a way a trace cannot capture). CPU only. Puts
// `net` in eval mode. Not thread-safe (torch's tracer state is per thread, but `net` is
// used).
Result<torch::jit::Module> TraceClipModel(torch::nn::Module& net, const ClipForward& forward,
                                          int64_t clip_samples);

// The metadata of an exported model (docs/predict.md): format, sample_rate, clip_samples,
// family, input description, feature settings, classes, hparams and `extra` (trial info).
nlohmann::json ExportMetadata(const InputConfig& input, const std::string& family,
                              const nlohmann::json& hparams,
                              const std::vector<std::string>& classes, const nlohmann::json& extra);

// Writes <dir>/model.pt (metadata inside) and <dir>/model.json, creating `dir`; each file
// is written to a temporary name and renamed, so a reader never sees half a model.
// Returns the path of model.pt.
Result<std::string> SaveTorchScriptModel(torch::jit::Module& module, const nlohmann::json& metadata,
                                         const std::string& dir);

// Traces, checks and saves `net` (family/input as trained) to `dir`. Returns model.pt's path.
Result<std::string> ExportGenreNet(GenreNet net, const InputConfig& input,
                                   const nlohmann::json& hparams,
                                   const std::vector<std::string>& classes,
                                   const nlohmann::json& extra, const std::string& dir);

// Exports the best-validation model of the trial in `spec` (LoadBestModel) to `dir`; the
// metadata's `extra` holds spec.trial, the seed, best_epoch and best_val_loss. Returns
// model.pt's path. May throw what LoadBestModel throws (the worker classifies it).
Result<std::string> ExportBestModel(const TrainSpec& spec, const std::string& dir);

// An exported model, loaded.
struct ExportedModel {
  torch::jit::Module module;
  nlohmann::json metadata;
  std::vector<std::string> classes;
  int sample_rate = 0;
  int64_t clip_samples = 0;
};

// Loads model.pt (or the directory holding it) with its metadata from inside the archive.
// Errors name the file. Not thread-safe per returned module (torch::jit::Module::forward is
// thread-safe for inference, but keep one per thread to be safe).
Result<ExportedModel> LoadExportedModel(const std::string& path);

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_EXPORT_H_
