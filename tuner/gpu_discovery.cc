#include "tuner/gpu_discovery.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>

namespace mgr {

std::vector<int> ParseNvidiaSmiList(const std::string& output) {
  std::vector<int> ids;
  static const std::regex re("^GPU ([0-9]+):");
  std::istringstream in(output);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, re)) ids.push_back(std::stoi(m[1]));
  }
  return ids;
}

Result<std::vector<int>> SystemGpuDiscovery::Discover() {
  if (const char* fake = std::getenv("MGR_FAKE_GPUS"); fake != nullptr && *fake != '\0') {
    char* end = nullptr;
    long n = std::strtol(fake, &end, 10);
    if (*end != '\0' || n < 0 || n > 64) {
      return Status::InvalidArgument("MGR_FAKE_GPUS: expected a GPU count 0..64, got \"" +
                                     std::string(fake) + "\"");
    }
    std::vector<int> ids;
    for (int i = 0; i < n; ++i) ids.push_back(i);
    return ids;
  }
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES"); visible != nullptr) {
    // The user already chose: each worker gets one of these ids (a child's
    // CUDA_VISIBLE_DEVICES names physical devices, so the ids are passed on as they are).
    std::vector<int> ids;
    std::stringstream in(visible);
    std::string item;
    int k = 0;
    while (std::getline(in, item, ',')) {
      if (item.empty() || item == "-1") break;
      ids.push_back(std::all_of(item.begin(), item.end(), ::isdigit) ? std::stoi(item) : k);
      ++k;
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
  std::vector<int> ids;
  int k = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    (void)e;
    ids.push_back(k++);
  }
  return ids;
}

Result<std::vector<WorkerSlot>> MakeSlots(const WorkersSpec& spec, GpuDiscovery& discovery) {
  std::vector<int> gpus = spec.gpu_ids;
  if (spec.gpus_auto) {
    MGR_ASSIGN_OR_RETURN(gpus, discovery.Discover());
  }
  std::vector<WorkerSlot> slots;
  for (int g : gpus) {
    for (int k = 0; k < spec.trials_per_gpu; ++k) slots.push_back(WorkerSlot{g});
  }
  if (slots.empty()) {
    for (int k = 0; k < std::max(1, spec.cpu_workers); ++k) slots.push_back(WorkerSlot{-1});
  }
  return slots;
}

}  // namespace mgr
