#include "trainer/training/export.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include "storage/base/files.h"
#include "trainer/training/training.h"

namespace mgr {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// "net.classifier.0.weight" -> "net_classifier_0_weight": TorchScript attribute names are
// identifiers.
std::string AttributeName(const std::string& key) {
  std::string name = key;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "p_" + name;
  return name;
}

std::string Describe(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

}  // namespace

Result<torch::jit::Module> TraceClipModel(torch::nn::Module& net, const ClipForward& forward,
                                          int64_t clip_samples) {
  if (clip_samples <= 0) return Status::InvalidArgument("export: clip_samples must be > 0");
  try {
    torch::NoGradGuard no_grad;
    net.eval();
    torch::jit::Module script("MgrGenreModel");
    std::set<std::string> names;
    auto bind = [&](const std::string& key, const torch::Tensor& t, bool buffer) -> Status {
      if (!t.device().is_cpu()) return Status::Internal("export: " + key + " is not on the CPU");
      std::string name = AttributeName(key);
      if (!names.insert(name).second) {
        return Status::Internal("export: two tensors map to the attribute name " + name);
      }
      // The same tensor (not a copy): the tracer maps it to this attribute.
      if (buffer) {
        script.register_buffer(name, t);
      } else {
        script.register_parameter(name, t, /*is_buffer=*/false);
      }
      return Status::Ok();
    };
    for (const auto& p : net.named_parameters(/*recurse=*/true)) {
      MGR_RETURN_IF_ERROR(bind(p.key(), p.value(), false));
    }
    for (const auto& b : net.named_buffers(/*recurse=*/true)) {
      if (!b.value().defined()) continue;
      MGR_RETURN_IF_ERROR(bind(b.key(), b.value(), true));
    }

    torch::Generator gen = at::detail::createCPUGenerator(12345);
    // Audio-like inputs (tones plus a little noise): white noise has a flat spectrum, whose
    // per-coefficient standardised MFCCs are pure rounding noise and make the check below
    // compare rounding errors instead of the traced graph.
    auto audio_like = [&](int64_t batch, double amplitude) {
      torch::Tensor t = torch::arange(clip_samples, torch::kFloat32).unsqueeze(0) / 22050.0;
      torch::Tensor f = torch::rand({batch, 3}, gen) * 2000 + 100;
      torch::Tensor x = torch::zeros({batch, clip_samples});
      for (int k = 0; k < 3; ++k) x += torch::sin(2 * M_PI * f.narrow(1, k, 1) * t);
      return amplitude / 3 * x +
             0.01 * amplitude * (torch::rand({batch, clip_samples}, gen) * 2 - 1);
    };
    torch::Tensor example = audio_like(1, 0.2);
    // Warm-up outside the trace: lazily built constants (mel filterbank, DCT, window caches)
    // must not be created while tracing, or their construction is recorded in the graph.
    forward(example);
    auto traced_fn = [&](torch::jit::Stack inputs) -> torch::jit::Stack {
      return {forward(inputs.at(0).toTensor())};
    };
    auto no_names = [](const torch::autograd::Variable&) { return std::string(); };
    auto traced = torch::jit::tracer::trace({example}, traced_fn, no_names, /*strict=*/true,
                                            /*force_outplace=*/false, &script);
    std::shared_ptr<torch::jit::Graph> graph = traced.first->graph;
    c10::QualifiedName method_name(*script.type()->name(), "forward_one");
    torch::jit::Function* fn =
        script._ivalue()->compilation_unit()->create_function(method_name, graph);
    script.type()->addMethod(fn);

    std::ostringstream src;
    // `assert` rather than `raise RuntimeError`: C++'s define() has no Python resolver for
    // exception classes.
    src << "def forward(self, clips: Tensor) -> Tensor:\n"
        << "    assert clips.dim() == 2 and clips.size(1) == " << clip_samples
        << ", \"expected clips of shape (batch, " << clip_samples << ")\"\n"
        << "    outs: List[Tensor] = []\n"
        << "    for i in range(clips.size(0)):\n"
        << "        outs.append(self.forward_one(clips[i:i + 1]))\n"
        << "    return torch.cat(outs, 0)\n";
    script.define(src.str());
    script.eval();

    // The check: a fresh batch of two through both paths.
    torch::Tensor check = audio_like(2, 0.8);
    torch::Tensor want = forward(check);
    torch::Tensor got = script.forward({check}).toTensor();
    if (got.sizes() != want.sizes()) {
      return Status::Internal("export: the traced model returns shape " + c10::str(got.sizes()) +
                              ", the network " + c10::str(want.sizes()));
    }
    double scale = 1.0 + want.abs().max().item<double>();
    double diff = (got - want).abs().max().item<double>();
    if (!(diff <= 1e-4 * scale)) {
      return Status::Internal("export: the traced model differs from the network by " +
                              std::to_string(diff) +
                              " on a new input (its forward pass depends on the data)");
    }
    return script;
  } catch (const std::exception& e) {
    torch::jit::tracer::abandon();
    return Status::Internal("export: tracing the model failed: " + Describe(e));
  }
}

Json ExportMetadata(const InputConfig& input, const std::string& family, const Json& hparams,
                    const std::vector<std::string>& classes, const Json& extra) {
  Json features = nullptr;
  if (input.features) {
    const FeatureOptions& f = input.feature_options;
    features = {{"kind", input.feature},
                {"n_fft", f.n_fft},
                {"hop_length", f.hop_length},
                {"n_mels", f.n_mels},
                {"n_mfcc", f.n_mfcc},
                {"frames", input.frames},
                {"coefficients", input.coefficients},
                {"top_db", f.top_db},
                {"standardize", f.standardize},
                {"normalization", input.normalization},
                {"window", "periodic hann"},
                {"mel_scale", "slaney"},
                {"center", "zero padding"}};
    // The model applies them itself; here for readers of the metadata.
    if (input.NeedsDatasetStats()) features["dataset_stats"] = FeatureStatsToJson(input);
  }
  return Json{{"format", "mgr-tune-model"},
              {"version", 1},
              {"family", family},
              {"sample_rate", input.sample_rate},
              {"clip_samples", input.clip_samples},
              {"input",
               {{"shape", {"batch", input.clip_samples}},
                {"dtype", "float32"},
                {"description", "mono audio (mean of the channels) in [-1, 1] at sample_rate"}}},
              {"output", "logits (softmax gives the class probabilities)"},
              {"network_inputs", {{"audio", input.audio}, {"features", input.features}}},
              {"features", features},
              {"classes", classes},
              {"hparams", hparams},
              {"extra", extra}};
}

Result<std::string> SaveTorchScriptModel(torch::jit::Module& module, const Json& metadata,
                                         const std::string& dir) {
  MGR_RETURN_IF_ERROR(MakeDirectories(dir).WithContext("export"));
  std::error_code ec;
  const std::string text = metadata.dump(2) + "\n";
  const std::string model_path = (fs::path(dir) / kExportedModelFile).string();
  const std::string meta_path = (fs::path(dir) / kExportedMetadataFile).string();
  const std::string suffix = ".tmp-" + std::to_string(::getpid());
  try {
    torch::jit::ExtraFilesMap extra{{kExportedMetadataArchiveName, text}};
    module.save(model_path + suffix, extra);
  } catch (const std::exception& e) {
    fs::remove(model_path + suffix, ec);
    return Status::IoError("export: cannot write " + model_path + ": " + Describe(e));
  }
  {
    std::ofstream out(meta_path + suffix);
    out << text;
    out.close();
    if (!out) {
      fs::remove(model_path + suffix, ec);
      fs::remove(meta_path + suffix, ec);
      return Status::IoError("export: cannot write " + meta_path);
    }
  }
  fs::rename(model_path + suffix, model_path, ec);
  if (!ec) fs::rename(meta_path + suffix, meta_path, ec);
  if (ec) return Status::IoError("export: cannot rename into " + dir + ": " + ec.message());
  return model_path;
}

Result<std::string> ExportGenreNet(GenreNet net, const InputConfig& input, const Json& hparams,
                                   const std::vector<std::string>& classes, const Json& extra,
                                   const std::string& dir) {
  net->to(torch::kCPU);
  net->eval();
  ClipForward forward = [&](const torch::Tensor& clips) {
    NetInputs in = PrepareInputs(input, clips);
    return net->forward(in.audio, in.features);
  };
  MGR_ASSIGN_OR_RETURN(torch::jit::Module script,
                       TraceClipModel(*net, forward, input.clip_samples));
  return SaveTorchScriptModel(script, ExportMetadata(input, net->family(), hparams, classes, extra),
                              dir);
}

Result<std::string> ExportBestModel(const TrainSpec& spec, const std::string& dir) {
  MGR_ASSIGN_OR_RETURN(LoadedModel loaded, LoadBestModel(spec));
  Json extra = {{"trial", spec.trial},
                {"seed", spec.seed},
                {"preset", spec.preset},
                {"best_epoch", loaded.best_epoch},
                {"best_val_loss", loaded.best_val_loss}};
  return ExportGenreNet(loaded.model, loaded.input, spec.hparams, loaded.classes, extra, dir);
}

Result<ExportedModel> LoadExportedModel(const std::string& path_in) {
  std::string path = path_in;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path = (fs::path(path) / kExportedModelFile).string();
  if (!fs::exists(path, ec)) return Status::NotFound(path + ": no such model file");
  ExportedModel model;
  try {
    torch::jit::ExtraFilesMap extra{{kExportedMetadataArchiveName, ""}};
    model.module = torch::jit::load(path, torch::Device(torch::kCPU), extra);
    model.module.eval();
    const std::string& text = extra[kExportedMetadataArchiveName];
    if (text.empty()) {
      return Status::Corruption(path + ": not an mgr-tune model (no " +
                                std::string(kExportedMetadataArchiveName) + " inside)");
    }
    model.metadata = Json::parse(text);
  } catch (const Json::exception& e) {
    return Status::Corruption(path + ": bad metadata: " + e.what());
  } catch (const std::exception& e) {
    return Status::Corruption(path + ": cannot load TorchScript: " + Describe(e));
  }
  const Json& m = model.metadata;
  if (!m.is_object() || m.value("format", "") != "mgr-tune-model") {
    return Status::Corruption(path + ": metadata format is not mgr-tune-model");
  }
  try {
    model.sample_rate = m.at("sample_rate").get<int>();
    model.clip_samples = m.at("clip_samples").get<int64_t>();
    model.classes = m.at("classes").get<std::vector<std::string>>();
  } catch (const Json::exception& e) {
    return Status::Corruption(path + ": metadata: " + e.what());
  }
  if (model.sample_rate <= 0 || model.clip_samples <= 0 || model.classes.empty()) {
    return Status::Corruption(path + ": metadata: bad sample_rate, clip_samples or classes");
  }
  return model;
}

}  // namespace mgr
