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

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_CHECKPOINT_H_
