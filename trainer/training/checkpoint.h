// Atomic end-of-epoch checkpoints: model weights (and BatchNorm buffers), optimizer state,
// the best-validation weights so far and a JSON record (epoch, early-stopping state,
// metrics history, seed). Randomness needs no saved state: every epoch reseeds from
// (seed, epoch), so restoring the epoch restores the random streams.
#ifndef MGR_TRAINER_TRAINING_CHECKPOINT_H_
#define MGR_TRAINER_TRAINING_CHECKPOINT_H_

#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "storage/base/status.h"
#include "trainer/models/model_factory.h"

namespace mgr {

// The model's parameters and buffers, in named_parameters then named_buffers order,
// cloned to the CPU (a snapshot that later training does not change).
std::vector<torch::Tensor> SnapshotState(const torch::nn::Module& model);
// Copies a snapshot back into `model` (on the model's device). Throws c10::Error when the
// snapshot does not match the model's tensors.
void RestoreState(torch::nn::Module& model, const std::vector<torch::Tensor>& state);

struct CheckpointData {
  nlohmann::json record;                  // epoch, early stopping, history, ...
  std::vector<torch::Tensor> best_state;  // SnapshotState of the best epoch (may be empty)
};

// Saves model + optimizer + data to `path` atomically. Thread-compatible.
Status SaveCheckpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer& optimizer, const CheckpointData& data);

// Loads a checkpoint written by SaveCheckpoint into `model` (on `device`) and `optimizer`
// (built for that model's parameters); NotFound when there is no file, Corruption when
// it cannot be read or does not match the model.
Status LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer& optimizer, const torch::Device& device,
                      CheckpointData* data);

// Loads only the best-validation weights of a checkpoint into `model` (for export/predict).
Status LoadBestWeights(const std::string& path, torch::nn::Module& model, nlohmann::json* record);

// Initialises MixNet's encoders from trained networks (hp.init_audio_encoder: an NNET1 or
// MixNet, hp.init_feature_encoder: an NNET2 or MixNet; "" leaves a branch as built). A path
// is an mgr checkpoint (its best-validation weights) or an exported model (model.pt or its
// directory). Parameters and BatchNorm buffers are copied by name (NNET1's
// net.encoder.* -> net.audio_encoder.*, NNET2's net.encoder.* -> net.feature_encoder.*).
// InvalidArgument naming the hyperparameter when the source is of another family, reads
// its input differently (sample rate; feature kind or normalization) or has a tensor
// missing or of another shape (the error names the tensor and both shapes); NotFound /
// Corruption naming the file otherwise. The caller reports these as TrainingError(kSpec).
Status LoadMixNetEncoders(GenreNet& mixnet, const HParams& hp, const InputConfig& input);

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_CHECKPOINT_H_
