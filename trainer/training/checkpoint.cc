#include "trainer/training/checkpoint.h"

#include <sstream>

#include "storage/base/atomic_file.h"
#include "storage/base/files.h"

namespace mgr {
namespace {

constexpr const char* kFormat = "mgr-checkpoint-1";

void WriteState(torch::serialize::OutputArchive& archive, const std::vector<torch::Tensor>& s) {
  for (size_t i = 0; i < s.size(); ++i) archive.write("t" + std::to_string(i), s[i]);
}

std::vector<torch::Tensor> ReadState(torch::serialize::InputArchive& archive) {
  std::vector<torch::Tensor> state;
  for (size_t i = 0;; ++i) {
    torch::Tensor t;
    if (!archive.try_read("t" + std::to_string(i), t)) break;
    state.push_back(t);
  }
  return state;
}

Status ReadRecord(torch::serialize::InputArchive& archive, nlohmann::json* record) {
  c10::IValue format, text;
  if (!archive.try_read("format", format) || !format.isString() ||
      format.toStringRef() != kFormat || !archive.try_read("record", text) || !text.isString()) {
    return Status::Corruption("not an mgr-tune checkpoint (format " + std::string(kFormat) + ")");
  }
  *record = nlohmann::json::parse(text.toStringRef(), nullptr, false);
  if (record->is_discarded()) return Status::Corruption("checkpoint record is not JSON");
  return Status::Ok();
}

}  // namespace

std::vector<torch::Tensor> SnapshotState(const torch::nn::Module& model) {
  std::vector<torch::Tensor> state;
  for (const auto& p : model.named_parameters())
    state.push_back(p.value().detach().to(torch::kCPU).clone());
  for (const auto& b : model.named_buffers())
    state.push_back(b.value().detach().to(torch::kCPU).clone());
  return state;
}

void RestoreState(torch::nn::Module& model, const std::vector<torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> targets;
  for (auto& p : model.named_parameters()) targets.push_back(p.value());
  for (auto& b : model.named_buffers()) targets.push_back(b.value());
  TORCH_CHECK(targets.size() == state.size(), "state has ", state.size(), " tensors, the model ",
              targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    TORCH_CHECK(targets[i].sizes() == state[i].sizes(), "state tensor ", i, " has shape ",
                state[i].sizes(), ", the model's ", targets[i].sizes());
    targets[i].copy_(state[i]);
  }
}

Status SaveCheckpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer& optimizer, const CheckpointData& data) {
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive archive, model_archive, optimizer_archive, best_archive;
    archive.write("format", c10::IValue(std::string(kFormat)));
    archive.write("record", c10::IValue(data.record.dump()));
    model.save(model_archive);
    archive.write("model", model_archive);
    optimizer.save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    WriteState(best_archive, data.best_state);
    archive.write("best", best_archive);
    archive.save_to(bytes);
  } catch (const c10::Error& e) {
    return Status::Internal("cannot serialise the checkpoint: " +
                            std::string(e.what_without_backtrace()));
  }
  return WriteFileAtomically(path, bytes.str(), Durability::kSynced);
}

Status LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer& optimizer, const torch::Device& device,
                      CheckpointData* data) {
  if (!PathExists(path)) return Status::NotFound(path + ": no checkpoint");
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive, best_archive;
    archive.load_from(path, device);
    MGR_RETURN_IF_ERROR(ReadRecord(archive, &data->record).WithContext(path));
    archive.read("model", model_archive);
    // Module::load replaces tensors without comparing shapes: compare them here.
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& t : model.parameters()) shapes.push_back(t.sizes().vec());
    for (const auto& t : model.buffers()) shapes.push_back(t.sizes().vec());
    model.load(model_archive);
    size_t i = 0;
    for (const auto& t : model.parameters()) {
      if (t.sizes().vec() != shapes[i++]) {
        return Status::Corruption(path + ": the checkpoint's model has other tensor shapes");
      }
    }
    for (const auto& t : model.buffers()) {
      if (t.sizes().vec() != shapes[i++]) {
        return Status::Corruption(path + ": the checkpoint's model has other tensor shapes");
      }
    }
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    archive.read("best", best_archive);
    data->best_state = ReadState(best_archive);
    for (auto& t : data->best_state) t = t.to(torch::kCPU);
  } catch (const c10::Error& e) {
    return Status::Corruption(
        path + ": cannot load the checkpoint into this model: " + e.what_without_backtrace());
  }
  return Status::Ok();
}

Status LoadBestWeights(const std::string& path, torch::nn::Module& model, nlohmann::json* record) {
  if (!PathExists(path)) return Status::NotFound(path + ": no checkpoint");
  try {
    torch::serialize::InputArchive archive, best_archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    nlohmann::json r;
    MGR_RETURN_IF_ERROR(ReadRecord(archive, &r).WithContext(path));
    archive.read("best", best_archive);
    std::vector<torch::Tensor> best = ReadState(best_archive);
    if (best.empty()) return Status::NotFound(path + ": no best-validation weights yet");
    RestoreState(model, best);
    if (record != nullptr) *record = r;
  } catch (const c10::Error& e) {
    return Status::Corruption(
        path + ": cannot load the best weights into this model: " + e.what_without_backtrace());
  }
  return Status::Ok();
}

}  // namespace mgr
