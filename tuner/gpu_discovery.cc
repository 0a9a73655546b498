#include "tuner/gpu_discovery.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>

namespace mgr {

namespace {
bool IsIndex(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}
}  // namespace

std::string WorkerSlot::Label() const {
  if (gpu.empty()) return "cpu";
  return IsIndex(gpu) ? "gpu" + gpu : gpu;
}

std::vector<std::string> ParseNvidiaSmiList(const std::string& output) {
  std::vector<std::string> ids;
  static const std::regex re("^GPU ([0-9]+):");
  std::istringstream in(output);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, re)) ids.push_back(m[1]);
  }
  return ids;
}

Result<std::vector<std::string>> SystemGpuDiscovery::Discover() {
  if (const char* fake = std::getenv("MGR_FAKE_GPUS"); fake != nullptr && *fake != '\0') {
    char* end = nullptr;
    long n = std::strtol(fake, &end, 10);
    if (*end != '\0' || n < 0 || n > 64) {
      return Status::InvalidArgument("MGR_FAKE_GPUS: expected a GPU count 0..64, got \"" +
                                     std::string(fake) + "\"");
    }
    std::vector<std::string> ids;
    for (long i = 0; i < n; ++i) ids.push_back(std::to_string(i));
    return ids;
  }
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES"); visible != nullptr) {
    // The user already chose: each worker gets one of these entries as it is (an index
    // names a physical device, a UUID the same device in every process).
    std::vector<std::string> ids;
    std::stringstream in(visible);
    std::string item;
    while (std::getline(in, item, ',')) {
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (item.empty() || item == "-1") break;  // CUDA ignores the entries after an invalid one
      ids.push_back(item);
    }
    return ids;
  }
  if (FILE* p = popen("nvidia-smi -L 2>/dev/null", "r"); p != nullptr) {
    std::string out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    int rc = pclose(p);
    if (rc == 0) {
      auto ids = ParseNvidiaSmiList(out);
      if (!ids.empty()) return ids;
    }
  }
  std::error_code ec;
  std::vector<std::string> ids;
  for (const auto& e : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    (void)e;
    ids.push_back(std::to_string(ids.size()));
  }
  return ids;
}

Result<std::vector<WorkerSlot>> MakeSlots(const WorkersSpec& spec, GpuDiscovery& discovery) {
  std::vector<std::string> gpus;
  for (int id : spec.gpu_ids) gpus.push_back(std::to_string(id));
  if (spec.gpus_auto) {
    MGR_ASSIGN_OR_RETURN(gpus, discovery.Discover());
  }
  std::vector<WorkerSlot> slots;
  for (const std::string& g : gpus) {
    for (int k = 0; k < spec.trials_per_gpu; ++k) slots.push_back(WorkerSlot{g});
  }
  if (slots.empty()) {
    for (int k = 0; k < std::max(1, spec.cpu_workers); ++k) slots.push_back(WorkerSlot{});
  }
  return slots;
}

}  // namespace mgr
