// Fuzz target: the study file (studies/study_file.h), from its text (JSON with comments)
// through ParseStudyJson. The input is the file's bytes, written to a temporary file and read
// with LoadStudyFile, the path `mgr-tune study.json` takes. Checks, besides the sanitizers,
// that an error is one InvalidArgument naming the file, and that a study that loads has what
// the rest of mgr-tune relies on: at least one stage, unique non-empty stage names, a trial
// budget per stage, valid distributions that survive Optuna's distribution_json, and integer
// settings within the bounds the parser checks.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "storage/distribution.h"
#include "studies/study_file.h"

namespace {

namespace fs = std::filesystem;

void Check(bool ok, const char* what, const std::string& detail = "") {
  if (ok) return;
  std::fprintf(stderr, "study_file_fuzz: %s %s\n", what, detail.c_str());
  std::abort();
}

std::string& Dir() {
  static std::string dir;
  return dir;
}

void RemoveDir() {
  std::error_code ec;
  fs::remove_all(Dir(), ec);
}

void CheckParams(const std::vector<mgr::ParamSpec>& params) {
  for (const auto& p : params) {
    Check(!p.name.empty(), "a parameter without a name");
    Check(mgr::ValidateDistribution(p.name, p.distribution).ok(), "an invalid distribution for",
          p.name);
    auto reread = mgr::DistributionFromJsonString(mgr::DistributionToJsonString(p.distribution));
    Check(reread.ok() && *reread == p.distribution, "distribution_json does not round-trip for",
          p.name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // tmpfs if there is one: rewriting a file on ext4 costs a flush per run.
  std::error_code ec;
  const fs::path tmp = fs::is_directory("/dev/shm", ec) ? "/dev/shm" : fs::temp_directory_path();
  std::string dir = (tmp / "mgr-study-fuzz-XXXXXX").string();
  Check(mkdtemp(dir.data()) != nullptr, "cannot create a temporary folder");
  Dir() = dir;
  std::atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = Dir() + "/study.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    Check(static_cast<bool>(out), "cannot write", path);
  }
  auto study = mgr::LoadStudyFile(path);
  if (!study.ok()) {
    Check(study.status().code() == mgr::StatusCode::kInvalidArgument,
          "unexpected status:", study.status().ToString());
    Check(study.status().message().rfind(path, 0) == 0,
          "error does not name the file:", study.status().message());
    return 0;
  }
  Check(!study->name.empty(), "a study without a name");
  Check(!study->stages.empty(), "a study without stages");
  std::set<std::string> names;
  for (const auto& stage : study->stages) {
    Check(!stage.name.empty() && names.insert(stage.name).second, "bad stage name", stage.name);
    Check(stage.trials >= 1, "a stage without trials", stage.name);
    Check(stage.min_improvement >= 0, "negative min_improvement in", stage.name);
    CheckParams(stage.params);
    CheckParams(stage.retune);
  }
  CheckParams(study->retune);
  // The integer settings keep the bounds the parser checks (no wrap-around on the way to int).
  std::set<int> gpus;
  for (int id : study->workers.gpu_ids) {
    Check(id >= 0 && gpus.insert(id).second, "a negative or repeated GPU id");
  }
  Check(study->workers.trials_per_gpu >= 1, "workers.trials_per_gpu < 1");
  Check(study->workers.cpu_workers >= 0, "workers.cpu_workers < 0");
  Check(study->workers.threads_per_worker >= 1, "workers.threads_per_worker < 1");
  Check(study->retries >= 0 && study->seed >= 0, "negative retries or seed");
  Check(study->dataset.at("sample_rate").get<int64_t>() >= 1000, "dataset.sample_rate < 1000");
  Check(study->dataset.at("clip_samples").get<int64_t>() >= 256, "dataset.clip_samples < 256");
  Check(study->heartbeat_grace_seconds >= 2 * study->heartbeat_interval_seconds,
        "heartbeat grace below twice the interval");
  return 0;
}
