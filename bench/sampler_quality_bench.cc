// Best value found in 100 trials on standard test problems (the same ones as
// bench/optuna_problems.py), 20 seeds each, for our random and QMC samplers, our TPE
// (univariate and multivariate) and Python Optuna's TPE in both modes, run in the same
// invocation. Per problem it prints mean, standard error, std and median, and compares
// each mode of our TPE with the same mode of Optuna's, and with random, by Welch's t (difference of
// means over the combined standard error; |t| >= 2 is called a difference, about p < 0.05 at 20
// seeds).
//
// Our GP sampler runs on the problems with continuous spaces only (kGpProblems), against
// Optuna's GPSampler (needs Optuna >= 3.6 and torch: Optuna 5's venv), by Welch's t too; its
// Python runs are slow (about 0.3 s per suggestion at 100 trials), hence fewer seeds.
//
// Python runs in 2 worker processes (bench/optuna_problems.py --jobs 2), started first
// so that it overlaps our own runs.
//
// Usage: sampler_quality_bench [--python-seeds N] [--python-jobs J] [--no-python]
//                              [--python PATH]   (default: Debian's python3-optuna;
//                              tools/bench_samplers.sh passes Optuna 5's venv)
//                              [--gp-python-seeds N (10)] [--no-gp] [--gp-only]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "bench/sampler_bench_util.h"
#include "samplers/sampler.h"

namespace mgr {
namespace {

using bench::BenchTrial;
using Problem = std::function<double(BenchTrial&)>;

const std::vector<std::string> kChoices = {"a", "b", "c", "d", "e", "f"};
const double kT0[] = {3.0, 1.0, 4.0, 0.5, 5.0, 9.0};
const double kT1[] = {2.0, 7.0, 1.8, 2.8, 0.0, 4.5};
const double kT2[] = {6.0, 2.5, 3.5, 0.2, 8.0, 1.1};

Problem Sphere(int n) {
  return [n](BenchTrial& t) {
    double v = 0;
    for (int i = 0; i < n; ++i) {
      double x = t.Float("x" + std::to_string(i), -5, 5);
      v += x * x;
    }
    return v;
  };
}

std::vector<std::pair<std::string, Problem>> Problems() {
  return {
      {"sphere_5d", Sphere(5)},
      {"rosenbrock_2d",
       [](BenchTrial& t) {
         double x = t.Float("x", -2, 2), y = t.Float("y", -2, 2);
         return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
       }},
      {"log_scale_3d",
       [](BenchTrial& t) {
         double lr = t.Float("lr", 1e-6, 1, true), wd = t.Float("wd", 1e-8, 1e-1, true),
                eps = t.Float("eps", 1e-10, 1e-2, true);
         return std::pow(std::log10(lr) + 3.3, 2) + std::pow(std::log10(wd) + 5.1, 2) +
                std::pow(std::log10(eps) + 7.2, 2);
       }},
      {"integer_4d",
       [](BenchTrial& t) {
         double a = t.Int("a", -20, 20), b = t.Int("b", -20, 20), c = t.Int("c", 0, 100, false, 5),
                n = t.Int("n", 1, 1024, true);
         return std::pow(a - 7, 2) + std::pow(b + 3, 2) + std::pow((c - 35) / 5, 2) +
                std::pow(std::log2(n) - 6.3, 2);
       }},
      {"categorical_4d",
       [](BenchTrial& t) {
         int c0 = t.Categorical("c0", kChoices), c1 = t.Categorical("c1", kChoices),
             c2 = t.Categorical("c2", kChoices);
         double x = t.Float("x", 0, 1);
         return kT0[c0] + kT1[c1] + kT2[c2] + 10 * (x - 0.3) * (x - 0.3);
       }},
      {"mixed_6d",
       [](BenchTrial& t) {
         double lr = t.Float("lr", 1e-5, 1e-1, true),
                dropout = t.Float("dropout", 0, 0.5, false, 0.05);
         double batch = t.Int("batch", 16, 256, false, 16), layers = t.Int("layers", 1, 8);
         int opt = t.Categorical("opt", {"adam", "sgd", "rmsprop"});
         double x = t.Float("x", -1, 1);
         const double opt_cost[] = {0.0, 1.0, 0.5};
         return std::pow(std::log10(lr) + 3, 2) + 4 * std::pow(dropout - 0.2, 2) +
                std::pow((batch - 64) / 64, 2) + 0.3 * std::fabs(layers - 3) + opt_cost[opt] +
                x * x;
       }},
      {"conditional",
       [](BenchTrial& t) {
         int64_t n_layers = t.Int("n_layers", 1, 4);
         double v = std::fabs(static_cast<double>(n_layers - 3));
         for (int64_t i = 0; i < n_layers; ++i) {
           double u = t.Int("units_l" + std::to_string(i), 4, 256, true);
           v += 0.2 * std::pow(std::log2(u) - 6, 2);
         }
         if (t.Categorical("opt", {"adam", "sgd"}) == 1) {
           v += 0.5 + 4 * std::pow(t.Float("momentum", 0, 0.99) - 0.9, 2);
         } else {
           v += 1.0 + 40 * std::pow(t.Float("beta", 0.8, 0.999) - 0.95, 2);
         }
         return v;
       }},
      {"sphere_10d", Sphere(10)},
  };
}

// Continuous search spaces, where the GP sampler is meant to be used.
const std::set<std::string> kGpProblems = {"sphere_5d", "rosenbrock_2d", "log_scale_3d"};

double BestOf(const Json& config, uint64_t seed, const Problem& problem, int n_trials) {
  Json c = config;
  c["seed"] = seed;
  auto sampler = std::move(MakeSampler(c)).value();
  std::vector<FrozenTrial> trials;
  double best = INFINITY;
  for (int k = 0; k < n_trials; ++k) {
    BenchTrial t(*sampler, trials, StudyDirection::kMinimize);
    double v = problem(t);
    t.Complete(v);
    best = std::min(best, v);
  }
  return best;
}

struct Stats {
  double mean = 0, std = 0, se = 0, median = 0;
  int n = 0;
};
// Sample standard deviation (n - 1) and standard error of the mean.
Stats Summarise(std::vector<double> v) {
  Stats s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  for (double x : v) s.mean += x / v.size();
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / (v.size() - 1)) : 0.0;
  s.se = s.std / std::sqrt(static_cast<double>(v.size()));
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  return s;
}

// Welch's t of a - b (minimising: positive = a is worse).
double WelchT(const Stats& a, const Stats& b) {
  const double se = std::sqrt(a.se * a.se + b.se * b.se);
  return se > 0 ? (a.mean - b.mean) / se : 0.0;
}

std::string Fmt(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f", t);
  return buf;
}

const char* Verdict(double t) { return t >= 2.0 ? "WORSE" : t <= -2.0 ? "better" : "same"; }

}  // namespace
}  // namespace mgr

int main(int argc, char** argv) {
  using namespace mgr;
  const double wall_start = bench::WallMs();
  int python_seeds = 20, python_jobs = 2, gp_python_seeds = 10;
  bool python = true, gp = true, gp_only = false;
  std::string python_exe = MGR_PYTHON;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-python") == 0) python = false;
    if (std::strcmp(argv[i], "--python") == 0 && i + 1 < argc) python_exe = argv[++i];
    if (std::strcmp(argv[i], "--python-seeds") == 0 && i + 1 < argc)
      python_seeds = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--python-jobs") == 0 && i + 1 < argc)
      python_jobs = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--gp-python-seeds") == 0 && i + 1 < argc)
      gp_python_seeds = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--no-gp") == 0) gp = false;
    if (std::strcmp(argv[i], "--gp-only") == 0) gp_only = true;
  }
  gp = gp || gp_only;
  const int kTrials = 100, kSeeds = 20;
  std::vector<std::pair<std::string, Json>> samplers = {
      {"mgr random", {{"type", "random"}}},
      {"mgr qmc", {{"type", "qmc"}}},
      {"mgr tpe", {{"type", "tpe"}}},
      {"mgr tpe multivariate", {{"type", "tpe"}, {"multivariate", true}}},
  };
  if (gp_only) samplers = {{"mgr random", {{"type", "random"}}}};
  if (gp) samplers.push_back({"mgr gp", {{"type", "gp"}}});
  // Start Optuna first: it runs in its own processes while we run ours.
  FILE* py_pipe = nullptr;
  FILE* gp_pipe = nullptr;
  if (python && gp) {
    std::string problems;
    for (const auto& p : kGpProblems) problems += " " + p;
    gp_pipe = popen((python_exe + " " + MGR_SOURCE_DIR + "/bench/optuna_problems.py gp_quality " +
                     std::to_string(kTrials) + " " + std::to_string(gp_python_seeds) + " --jobs " +
                     std::to_string(python_jobs) + problems + " 2>/dev/null")
                        .c_str(),
                    "r");
  }
  if (python && !gp_only) {
    py_pipe = popen((python_exe + " " + MGR_SOURCE_DIR + "/bench/optuna_problems.py quality " +
                     std::to_string(kTrials) + " " + std::to_string(python_seeds) + " --jobs " +
                     std::to_string(python_jobs) + " 2>/dev/null")
                        .c_str(),
                    "r");
  }
  std::map<std::string, std::map<std::string, Stats>> stats;
  const double mgr_cpu_start = bench::CpuMs();
  for (const auto& [name, problem] : Problems()) {
    for (const auto& [label, config] : samplers) {
      if (label == "mgr gp" && !kGpProblems.count(name)) continue;
      std::vector<double> best;
      for (int s = 0; s < kSeeds; ++s) best.push_back(BestOf(config, s, problem, kTrials));
      stats[name][label] = Summarise(best);
    }
  }
  const double mgr_cpu = bench::CpuMs() - mgr_cpu_start;
  Json py, py_gp;
  bool python_gp = python && gp;
  if (python_gp) {
    std::string out = bench::FinishCommand(gp_pipe);
    try {
      py_gp = Json::parse(out);
    } catch (const std::exception& e) {
      std::printf("Optuna GPSampler reference (%s) unavailable (needs torch) (%s)\n",
                  python_exe.c_str(), e.what());
      python_gp = false;
    }
  }
  python = python && !gp_only;
  if (python) {
    std::string out = bench::FinishCommand(py_pipe);
    try {
      py = Json::parse(out);
    } catch (const std::exception& e) {
      std::printf("Optuna reference (%s) unavailable (%s)\n", python_exe.c_str(), e.what());
      python = false;
    }
  }
  const std::string optuna = "optuna " + (python ? py.value("version", "?") : std::string("-"));
  std::printf(
      "Best value after %d trials (minimise; lower is better). mgr: %d seeds; %s TPE: %d "
      "seeds\n",
      kTrials, kSeeds, optuna.c_str(), python ? python_seeds : 0);
  std::printf("%-15s %-22s %10s %10s %10s %10s\n", "problem", "sampler", "mean", "s.e.", "std",
              "median");
  auto row = [](const std::string& problem, const std::string& label, const Stats& st) {
    std::printf("%-15s %-22s %10.4g %10.3g %10.3g %10.4g\n", problem.c_str(), label.c_str(),
                st.mean, st.se, st.std, st.median);
  };
  int n_problems = 0, beats_random = 0, beats_random_multi = 0;
  int not_worse = 0, not_worse_multi = 0, n_compared = 0;
  int gp_not_worse = 0, gp_compared = 0, gp_beats_random = 0, gp_problems = 0;
  for (const auto& [name, problem] : Problems()) {
    auto& st = stats[name];
    if (gp_only && !kGpProblems.count(name)) continue;
    for (const auto& [label, config] : samplers) {
      if (st.count(label)) row(name, label, st[label]);
    }
    if (st.count("mgr gp")) {
      const double t_random = WelchT(st["mgr gp"], st["mgr random"]);
      gp_beats_random += t_random <= -2.0;
      ++gp_problems;
      std::string line = "  gp: t vs random " + Fmt(t_random);
      if (python_gp && py_gp["gp"].contains(name)) {
        st["optuna gp"] = Summarise(py_gp["gp"][name].get<std::vector<double>>());
        row(name, "optuna " + py_gp.value("version", "?") + " gp", st["optuna gp"]);
        const double t = WelchT(st["mgr gp"], st["optuna gp"]);
        gp_not_worse += t < 2.0;
        ++gp_compared;
        line += "; t vs optuna gp " + Fmt(t) + " (" + Verdict(t) + ")";
      }
      std::printf("%s\n", line.c_str());
    }
    if (gp_only) continue;
    const double t_random = WelchT(st["mgr tpe"], st["mgr random"]);
    const double t_random_multi = WelchT(st["mgr tpe multivariate"], st["mgr random"]);
    beats_random += t_random <= -2.0;
    beats_random_multi += t_random_multi <= -2.0;
    std::string line =
        "  t vs random: tpe " + Fmt(t_random) + ", multivariate " + Fmt(t_random_multi);
    if (python && py["univariate"].contains(name) && py["multivariate"].contains(name)) {
      // Each mode against the same mode of Optuna's TPE.
      st["optuna tpe"] = Summarise(py["univariate"][name].get<std::vector<double>>());
      st["optuna tpe multivariate"] =
          Summarise(py["multivariate"][name].get<std::vector<double>>());
      row(name, optuna + " tpe", st["optuna tpe"]);
      row(name, optuna + " tpe multi", st["optuna tpe multivariate"]);
      const double t = WelchT(st["mgr tpe"], st["optuna tpe"]);
      const double t_multi = WelchT(st["mgr tpe multivariate"], st["optuna tpe multivariate"]);
      not_worse += t < 2.0;
      not_worse_multi += t_multi < 2.0;
      ++n_compared;
      line += "; t vs optuna: tpe " + Fmt(t) + " (" + Verdict(t) + "), multivariate " +
              Fmt(t_multi) + " (" + Verdict(t_multi) + ")";
    }
    std::printf("%s\n", line.c_str());
    ++n_problems;
  }
  if (gp) {
    std::printf("mgr gp better than random (t <= -2) on %d/%d continuous problems\n",
                gp_beats_random, gp_problems);
    if (python_gp) {
      std::printf(
          "mgr gp not worse than optuna %s gp (t < 2) on %d/%d problems (optuna: %d seeds)\n",
          py_gp.value("version", "?").c_str(), gp_not_worse, gp_compared, gp_python_seeds);
    }
  }
  if (!gp_only) {
    std::printf("mgr tpe better than random (t <= -2) on %d/%d problems (multivariate %d/%d)\n",
                beats_random, n_problems, beats_random_multi, n_problems);
  }
  if (python) {
    std::printf(
        "mgr tpe not worse than %s tpe (t < 2) on %d/%d problems (multivariate against its "
        "multivariate: %d/%d)\n",
        optuna.c_str(), not_worse, n_compared, not_worse_multi, n_compared);
  }
  std::printf("mgr runs: %.1f s CPU; whole bench: %.1f s wall\n", mgr_cpu / 1e3,
              (bench::WallMs() - wall_start) / 1e3);
  return 0;
}
