#include "trainer/training/checkpoint.h"

#include <sstream>

#include "storage/base/atomic_file.h"
#include "storage/base/files.h"
#include "storage/base/strings.h"
#include "trainer/training/export.h"

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

namespace {

std::string ShapeText(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// A trained network of the source: rebuilt from its metadata (family, hparams, clip and
// rate, classes), then filled with its best checkpoint weights or its exported tensors.
struct SourceNet {
  std::string family;
  InputConfig input;
  GenreNet net{nullptr};
};

Result<SourceNet> BuildSource(const std::string& path, const Json& family, const Json& hparams,
                              const Json& clip_samples, const Json& sample_rate,
                              const Json& classes) {
  if (!family.is_string() || !hparams.is_object() || !clip_samples.is_number_integer() ||
      !sample_rate.is_number_integer() || !classes.is_array()) {
    return Status::Corruption(path + ": no family, hparams, clip_samples, sample_rate, classes");
  }
  SourceNet src;
  src.family = family.get<std::string>();
  // Artefacts written before issue #13 record `standardize`, since replaced by normalization.
  Json flat = hparams;
  if (flat.contains("standardize")) {
    flat["normalization"] = flat["standardize"] == true ? "clip" : "none";
    flat.erase("standardize");
  }
  Result<HParams> hp = ResolveHParams(src.family, "", flat);
  if (!hp.ok()) return hp.status().WithContext(path);
  src.input = MakeInputConfig(src.family, *hp, clip_samples.get<int64_t>(), sample_rate.get<int>());
  MGR_ASSIGN_OR_RETURN(
      src.net, BuildModel(src.family, *hp, src.input, static_cast<int64_t>(classes.size())));
  return src;
}

Result<SourceNet> LoadSource(const std::string& path) {
  if (!PathExists(path)) return Status::NotFound(path + ": no such checkpoint or model");
  torch::NoGradGuard no_grad;
  // An mgr checkpoint carries format "mgr-checkpoint-1"; anything else is tried as an
  // exported model.
  nlohmann::json record;
  bool is_checkpoint = false;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    is_checkpoint = ReadRecord(archive, &record).ok();
  } catch (const c10::Error&) {
  }
  if (is_checkpoint) {
    const Json trial = record.value("trial", Json::object());
    MGR_ASSIGN_OR_RETURN(
        SourceNet src,
        BuildSource(path, trial.value("family", Json()), trial.value("hparams", Json()),
                    trial.value("clip_samples", Json()), trial.value("sample_rate", Json()),
                    record.value("classes", Json())));
    MGR_RETURN_IF_ERROR(LoadBestWeights(path, *src.net, nullptr));
    return src;
  }
  MGR_ASSIGN_OR_RETURN(ExportedModel exported, LoadExportedModel(path));
  const Json& m = exported.metadata;
  MGR_ASSIGN_OR_RETURN(SourceNet src,
                       BuildSource(path, m.value("family", Json()), m.value("hparams", Json()),
                                   m.value("clip_samples", Json()), m.value("sample_rate", Json()),
                                   m.value("classes", Json())));
  // The export binds named_parameters, then the defined named_buffers, in order.
  std::vector<torch::Tensor> state;
  for (const auto& p : exported.module.named_parameters(/*recurse=*/false))
    state.push_back(p.value);
  for (const auto& b : exported.module.named_buffers(/*recurse=*/false)) state.push_back(b.value);
  std::vector<torch::Tensor> targets;
  for (auto& p : src.net->named_parameters()) targets.push_back(p.value());
  for (auto& b : src.net->named_buffers()) {
    if (b.value().defined()) targets.push_back(b.value());
  }
  if (state.size() != targets.size()) {
    return Status::Corruption(path + ": the exported model has " + std::to_string(state.size()) +
                              " tensors, its network " + std::to_string(targets.size()));
  }
  for (size_t i = 0; i < state.size(); ++i) {
    if (state[i].sizes() != targets[i].sizes()) {
      return Status::Corruption(path + ": exported tensor " + std::to_string(i) + " has shape " +
                                ShapeText(state[i]) + ", its network's " + ShapeText(targets[i]));
    }
    targets[i].copy_(state[i]);
  }
  return src;
}

using NamedTensors = torch::OrderedDict<std::string, torch::Tensor>;

// Checks that every defined tensor of `dst` under `to` has a same-shaped one in `src` at
// `from` + the rest of its name, and that `src` has no other tensor under `from`.
Status CheckEncoderTensors(const std::string& what, const std::string& path,
                           const NamedTensors& src, const std::string& from,
                           const NamedTensors& dst, const std::string& to) {
  size_t matched = 0;
  for (const auto& item : src) {
    if (StartsWith(item.key(), from) && item.value().defined()) ++matched;
  }
  size_t copied = 0;
  for (const auto& item : dst) {
    if (!StartsWith(item.key(), to) || !item.value().defined()) continue;
    const std::string source_key = from + item.key().substr(to.size());
    const torch::Tensor* s = src.find(source_key);
    if (s == nullptr || !s->defined()) {
      return Status::InvalidArgument("hparams." + what + ": " + path + " has no " + source_key +
                                     " for the MixNet's " + item.key() +
                                     " (batch_norm or layer counts differ)");
    }
    if (s->sizes() != item.value().sizes()) {
      return Status::InvalidArgument("hparams." + what + ": " + item.key() + " has shape " +
                                     ShapeText(item.value()) + " in the MixNet, " + source_key +
                                     " has shape " + ShapeText(*s) + " in " + path);
    }
    ++copied;
  }
  if (copied != matched) {
    return Status::InvalidArgument("hparams." + what + ": " + path + " has " +
                                   std::to_string(matched) + " tensors under " + from +
                                   ", the MixNet " + std::to_string(copied) + " under " + to +
                                   " (batch_norm or layer counts differ)");
  }
  return Status::Ok();
}

// Copies what CheckEncoderTensors checked.
void CopyEncoderTensors(const NamedTensors& src, const std::string& from, const NamedTensors& dst,
                        const std::string& to) {
  for (const auto& item : dst) {
    if (!StartsWith(item.key(), to) || !item.value().defined()) continue;
    item.value().copy_(*src.find(from + item.key().substr(to.size())));
  }
}

// Copies source.<from>* into target.<to>* (parameters and buffers), all or nothing checked.
Status CopyEncoder(const std::string& what, const std::string& path, torch::nn::Module& source,
                   const std::string& from, torch::nn::Module& target, const std::string& to) {
  torch::NoGradGuard no_grad;
  // Check both kinds before copying either, so that an error leaves the MixNet as built.
  const NamedTensors src_params = source.named_parameters(), dst_params = target.named_parameters();
  const NamedTensors src_buffers = source.named_buffers(), dst_buffers = target.named_buffers();
  try {
    MGR_RETURN_IF_ERROR(CheckEncoderTensors(what, path, src_params, from, dst_params, to));
    MGR_RETURN_IF_ERROR(CheckEncoderTensors(what, path, src_buffers, from, dst_buffers, to));
    CopyEncoderTensors(src_params, from, dst_params, to);
    CopyEncoderTensors(src_buffers, from, dst_buffers, to);
  } catch (const c10::Error& e) {
    return Status::Internal("hparams." + what + ": " + e.what_without_backtrace());
  }
  return Status::Ok();
}

}  // namespace

Status LoadMixNetEncoders(GenreNet& mixnet, const HParams& hp, const InputConfig& input) {
  if (mixnet->family() != kFamilyMixNet) {
    return Status::InvalidArgument("init_audio_encoder / init_feature_encoder: only for mixnet");
  }
  struct Branch {
    const char* what;
    const std::string& path;
    const char* single_family;  // the family whose whole encoder is this branch
    const char* to;
  };
  const Branch branches[] = {
      {"init_audio_encoder", hp.init_audio_encoder, kFamilyNnet1, "net.audio_encoder."},
      {"init_feature_encoder", hp.init_feature_encoder, kFamilyNnet2, "net.feature_encoder."}};
  for (const Branch& b : branches) {
    if (b.path.empty()) continue;
    Result<SourceNet> loaded = LoadSource(b.path);
    if (!loaded.ok()) return loaded.status().WithContext(std::string("hparams.") + b.what);
    SourceNet& src = *loaded;
    std::string from;
    if (src.family == b.single_family) {
      from = "net.encoder.";
    } else if (src.family == kFamilyMixNet) {
      from = b.to;
    } else {
      return Status::InvalidArgument(std::string("hparams.") + b.what + ": " + b.path + " is a " +
                                     src.family + ", not a " + b.single_family + " or mixnet");
    }
    if (src.input.sample_rate != input.sample_rate) {
      return Status::InvalidArgument(std::string("hparams.") + b.what + ": " + b.path +
                                     " was trained at sample_rate " +
                                     std::to_string(src.input.sample_rate) + ", this MixNet at " +
                                     std::to_string(input.sample_rate));
    }
    if (std::string(b.single_family) == kFamilyNnet2 &&
        (src.input.feature != input.feature || src.input.normalization != input.normalization)) {
      return Status::InvalidArgument(std::string("hparams.") + b.what + ": " + b.path +
                                     " was trained on feature " + src.input.feature +
                                     " (normalization " + src.input.normalization +
                                     "), this MixNet reads " + input.feature + " (normalization " +
                                     input.normalization + ")");
    }
    MGR_RETURN_IF_ERROR(CopyEncoder(b.what, b.path, *src.net, from, *mixnet, b.to));
  }
  return Status::Ok();
}

}  // namespace mgr
