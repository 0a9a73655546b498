// One training step (forward, cross-entropy on logits, backward, Adam step) of each paper
// preset in libtorch C++ against Debian's python3-torch running the same architecture
// (bench/train_step_reference.py) with the same thread count, measured in the same run.
// Rounds alternate C++ and Python so that load from other processes hits both alike.
//
//   train_step_bench [--threads 2] [--reps 3] [--rounds 2] [--batch1 4] [--batch2 16]
//
// Prints wall ms/step (median of reps, best round) and CPU ms/step for both, and the
// ratios C++ / Python (goal <= 1.05).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "trainer/models/hparams.h"
#include "trainer/models/model_factory.h"

namespace {

using Json = nlohmann::json;
using mgr::GenreNet;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Timing {
  double wall_ms = 0, cpu_ms = 0;
  int64_t parameters = 0;
};

Timing BenchCpp(const std::string& family, int64_t batch, int reps) {
  mgr::Result<mgr::HParams> hp = mgr::ResolveHParams(family, "paper", Json::object());
  if (!hp.ok()) {
    std::fprintf(stderr, "%s\n", hp.status().ToString().c_str());
    std::exit(1);
  }
  mgr::InputConfig input = mgr::MakeInputConfig(family, *hp, 262144, 22050);
  torch::manual_seed(0);
  mgr::Result<GenreNet> built = mgr::BuildModel(family, *hp, input, 8);
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    std::exit(1);
  }
  GenreNet net = *built;
  net->train();
  torch::optim::Adam opt(net->parameters(),
                         torch::optim::AdamOptions(hp->lr).weight_decay(hp->weight_decay));
  // The same shapes as the reference: raw audio and a 256 x 20 MFCC "image".
  torch::Tensor audio = input.audio ? torch::randn({batch, 1, 262144}) * 0.1 : torch::Tensor();
  torch::Tensor features =
      input.features ? torch::randn({batch, 1, input.frames, input.coefficients}) : torch::Tensor();
  torch::Tensor labels = torch::randint(0, 8, {batch}, torch::kLong);
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss =
        torch::nn::functional::cross_entropy(net->forward(audio, features), labels);
    loss.backward();
    opt.step();
  };
  for (int i = 0; i < 2; ++i) step();  // warm-up
  std::vector<double> wall, cpu;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = CpuSeconds();
    step();
    cpu.push_back(1000 * (CpuSeconds() - c0));
    wall.push_back(1000 *
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  Timing t;
  t.wall_ms = wall[wall.size() / 2];
  t.cpu_ms = cpu[cpu.size() / 2];
  for (const auto& p : net->parameters()) t.parameters += p.numel();
  return t;
}

Json RunPython(int threads, int reps, const std::vector<std::pair<std::string, int64_t>>& runs) {
  std::string cmd = std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                    "/bench/train_step_reference.py " + std::to_string(threads) + " " +
                    std::to_string(reps);
  for (const auto& r : runs) cmd += " " + r.first + ":" + std::to_string(r.second);
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (!p || pclose(p) != 0) {
    std::fprintf(stderr, "reference failed: %s\n%s\n", cmd.c_str(), out.c_str());
    std::exit(1);
  }
  return Json::parse(out);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"training step: libtorch C++ vs python3-torch"};
  int threads = 2, reps = 3, rounds = 2;
  int64_t batch1 = 4, batch2 = 16;
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--reps", reps)->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--batch1", batch1, "batch of nnet1 and mixnet (audio 262144)")
      ->capture_default_str();
  app.add_option("--batch2", batch2, "batch of nnet2 (MFCC 256 x 20)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  torch::set_num_threads(threads);
  const std::vector<std::pair<std::string, int64_t>> runs = {
      {"nnet1", batch1}, {"nnet2", batch2}, {"mixnet", batch1}};
  std::map<std::string, Timing> cpp, py;
  for (int round = 0; round < rounds; ++round) {
    for (const auto& r : runs) {
      Timing t = BenchCpp(r.first, r.second, reps);
      auto it = cpp.find(r.first);
      if (it == cpp.end() || t.wall_ms < it->second.wall_ms) cpp[r.first] = t;
    }
    Json ref = RunPython(threads, reps, runs);
    for (const auto& r : runs) {
      Timing t;
      t.wall_ms = ref[r.first]["ms_per_step"];
      t.cpu_ms = ref[r.first]["cpu_ms_per_step"];
      t.parameters = ref[r.first]["parameters"];
      auto it = py.find(r.first);
      if (it == py.end() || t.wall_ms < it->second.wall_ms) py[r.first] = t;
    }
  }
  std::printf(
      "training step (forward + backward + Adam), %d threads, median of %d reps, best of "
      "%d rounds\n",
      threads, reps, rounds);
  std::printf("%-7s %5s %10s %12s %12s %8s %12s %12s %8s\n", "net", "batch", "params", "C++ ms",
              "python ms", "ratio", "C++ cpu ms", "py cpu ms", "ratio");
  for (const auto& r : runs) {
    const Timing& c = cpp[r.first];
    const Timing& p = py[r.first];
    std::printf("%-7s %5lld %10lld %12.1f %12.1f %8.3f %12.1f %12.1f %8.3f%s\n", r.first.c_str(),
                static_cast<long long>(r.second), static_cast<long long>(c.parameters), c.wall_ms,
                p.wall_ms, c.wall_ms / p.wall_ms, c.cpu_ms, p.cpu_ms, c.cpu_ms / p.cpu_ms,
                c.parameters == p.parameters ? "" : "  (parameter counts differ!)");
  }
  return 0;
}
