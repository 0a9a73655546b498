// One TPE suggestion (10 float parameters) after 1,000 finished trials, univariate and
// multivariate, against Python Optuna timed in the same run (a few ask + 10
// suggest + tell calls after add_trials of the same history size, not 1,000 full trials:
// only the calls at n = 1,000 matter and they dominate a full run's cost).
// Figures are process CPU time (the machine is shared).
//
// Usage: tpe_speed_bench [--no-python] [--python PATH]   (default: Debian's python3-optuna;
// tools/bench_samplers.sh passes Optuna 5's venv)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "bench/sampler_bench_util.h"
#include "samplers/tpe_sampler.h"

namespace mgr {
namespace {

double MedianMs(bool multivariate, int n_finished, int reps) {
  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> u(-5, 5);
  std::vector<FrozenTrial> history;
  Distribution d = *MakeFloatDistribution("x", -5, 5);
  for (int k = 0; k < n_finished; ++k) {
    FrozenTrial t;
    t.number = k;
    t.trial_id = k;
    t.state = TrialState::kComplete;
    double v = 0;
    for (int i = 0; i < 10; ++i) {
      double x = u(rng);
      t.params["x" + std::to_string(i)] = x;
      t.distributions.emplace("x" + std::to_string(i), d);
      v += x * x;
    }
    t.values = {v};
    history.push_back(std::move(t));
  }
  TpeOptions o;
  o.multivariate = multivariate;
  TpeSampler sampler(o);
  // One copy of the history per repetition (same size every time), all made before the
  // first timed call: copying and freeing ~2.5 MB of trials between calls made glibc trim
  // and re-grow the heap, so the timed calls paid page faults for the bench's own churn.
  std::vector<std::vector<FrozenTrial>> copies(reps, history);
  for (auto& c : copies) c.reserve(c.size() + 1);  // the study API owns this vector
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    std::vector<FrozenTrial>& trials = copies[r];
    double start = bench::CpuMs();
    bench::BenchTrial t(sampler, trials, StudyDirection::kMinimize);
    double v = 0;
    for (int i = 0; i < 10; ++i) {
      double x = t.Float("x" + std::to_string(i), -5, 5);
      v += x * x;
    }
    t.Complete(v);
    times.push_back(bench::CpuMs() - start);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace
}  // namespace mgr

int main(int argc, char** argv) {
  bool python = true;
  std::string python_exe = MGR_PYTHON;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-python") == 0) python = false;
    if (std::strcmp(argv[i], "--python") == 0 && i + 1 < argc) python_exe = argv[++i];
  }
  const int n = 1000;
  double uni = mgr::MedianMs(false, n, 30);
  double multi = mgr::MedianMs(true, n, 30);
  std::printf("TPE suggestion, 10 float params, %d finished trials (median CPU ms of 30)\n", n);
  std::printf("  mgr univariate:   %8.3f ms\n", uni);
  std::printf("  mgr multivariate: %8.3f ms\n", multi);
  if (!python) return 0;
  std::string out = mgr::bench::RunCommand(python_exe + " " + MGR_SOURCE_DIR +
                                           "/bench/optuna_problems.py speed 1000 5 2>/dev/null");
  try {
    mgr::Json j = mgr::Json::parse(out);
    double pu = j.at("univariate_ms").get<double>(), pm = j.at("multivariate_ms").get<double>();
    const std::string v = j.value("version", "?");
    std::printf("  optuna %s univariate:   %8.1f ms  (mgr is %.0fx faster)\n", v.c_str(), pu,
                pu / uni);
    std::printf("  optuna %s multivariate: %8.1f ms  (mgr is %.0fx faster)\n", v.c_str(), pm,
                pm / multi);
  } catch (const std::exception& e) {
    std::printf("  Optuna reference (%s) unavailable (%s)\n", python_exe.c_str(), e.what());
  }
  return 0;
}
