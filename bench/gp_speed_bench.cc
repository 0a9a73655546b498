// One GP suggestion after 100 finished trials (three continuous parameters of a late playbook
// stage: log lr, log weight decay, beta), against Python Optuna's GPSampler timed in the same
// run on the same problem (bench/optuna_problems.py gp_speed: ask + 3 suggest + tell after
// add_trials, each trial told FAIL). Figures are process CPU time (the machine is shared);
// Optuna's is the CPU time of all its threads (torch may use several), its wall time is
// printed too. Both fit from their previous fit (Optuna: the sampler's cache; mgr: the
// "gp:kernel_params" attribute of the earlier FAIL trials); mgr's cold fit is printed too.
//
// Usage: gp_speed_bench [--no-python] [--python PATH] [--trials N]
//        (default: Debian's python3, which lacks torch: tools/bench_samplers.sh passes
//        Optuna 5's venv)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "bench/sampler_bench_util.h"
#include "samplers/gp_sampler.h"

namespace mgr {
namespace {

double Objective(double lr, double wd, double beta) {
  return std::pow(std::log10(lr) + 3, 2) + std::pow(std::log10(wd) + 4, 2) +
         10 * std::pow(beta - 0.95, 2);
}

struct Timing {
  double cpu_ms, wall_ms;
};

Timing Median(int n_finished, int reps, bool warm) {
  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> u(0, 1);
  const Distribution lr = *MakeFloatDistribution("lr", 1e-5, 1e-1, true),
                     wd = *MakeFloatDistribution("wd", 1e-6, 1e-1, true),
                     beta = *MakeFloatDistribution("beta", 0.8, 0.999);
  std::vector<FrozenTrial> history;
  for (int k = 0; k < n_finished; ++k) {
    FrozenTrial t;
    t.number = t.trial_id = k;
    t.state = TrialState::kComplete;
    const double l = std::pow(10, -5 + 4 * u(rng)), w = std::pow(10, -6 + 5 * u(rng)),
                 b = 0.8 + 0.199 * u(rng);
    t.params = {{"lr", l}, {"wd", w}, {"beta", b}};
    t.distributions = {{"lr", lr}, {"wd", wd}, {"beta", beta}};
    t.values = {Objective(l, w, b)};
    history.push_back(std::move(t));
  }
  GpSampler sampler(GpOptions{});
  std::vector<double> cpu, wall;
  std::vector<FrozenTrial> trials = history;
  for (int r = 0; r < reps; ++r) {
    // Every repetition sees the same n_finished COMPLETE trials. Warm: the earlier
    // repetitions stay as FAIL trials, so each fit starts from the one before it (the
    // "gp:kernel_params" attribute), as Optuna's bench keeps its sampler's cache.
    if (!warm) trials = history;
    trials.reserve(trials.size() + 1);
    const double c0 = bench::CpuMs(), w0 = bench::WallMs();
    bench::BenchTrial t(sampler, trials, StudyDirection::kMinimize);
    t.Float("lr", 1e-5, 1e-1, true);
    t.Float("wd", 1e-6, 1e-1, true);
    t.Float("beta", 0.8, 0.999);
    trials.back().state = TrialState::kFail;
    cpu.push_back(bench::CpuMs() - c0);
    wall.push_back(bench::WallMs() - w0);
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  return {cpu[cpu.size() / 2], wall[wall.size() / 2]};
}

}  // namespace
}  // namespace mgr

int main(int argc, char** argv) {
  bool python = true;
  std::string python_exe = MGR_PYTHON;
  int n = 100;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-python") == 0) python = false;
    if (std::strcmp(argv[i], "--python") == 0 && i + 1 < argc) python_exe = argv[++i];
    if (std::strcmp(argv[i], "--trials") == 0 && i + 1 < argc) n = std::atoi(argv[++i]);
  }
  const int kReps = 15, kPythonReps = 5;
  const mgr::Timing mgr_t = mgr::Median(n, kReps, true);
  const mgr::Timing cold = mgr::Median(n, kReps, false);
  std::printf("GP suggestion, 3 float params (2 log), %d finished trials (median of %d)\n", n,
              kReps);
  std::printf("  mgr gp:              %8.2f ms CPU  %8.2f ms wall\n", mgr_t.cpu_ms, mgr_t.wall_ms);
  std::printf(
      "  mgr gp, cold fit:    %8.2f ms CPU  %8.2f ms wall  (no earlier fit to start from)\n",
      cold.cpu_ms, cold.wall_ms);
  if (!python) return 0;
  const std::string out = mgr::bench::RunCommand(
      python_exe + " " + MGR_SOURCE_DIR + "/bench/optuna_problems.py " + "gp_speed " +
      std::to_string(n) + " " + std::to_string(kPythonReps) + " 2>/dev/null");
  try {
    const mgr::Json j = mgr::Json::parse(out);
    const double cpu = j.at("gp_ms").get<double>(), wall = j.at("gp_wall_ms").get<double>();
    std::printf(
        "  optuna %s gp:        %8.1f ms CPU  %8.1f ms wall  (median of %d; mgr is %.0fx "
        "faster in CPU, %.0fx in wall time)\n",
        j.value("version", "?").c_str(), cpu, wall, kPythonReps, cpu / mgr_t.cpu_ms,
        wall / mgr_t.wall_ms);
  } catch (const std::exception& e) {
    std::printf("  Optuna reference (%s) unavailable (needs optuna 5 and torch) (%s)\n",
                python_exe.c_str(), e.what());
  }
  return 0;
}
