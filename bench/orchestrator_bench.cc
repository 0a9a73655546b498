// Orchestration overhead and throughput, with the fake worker (tests/tuner/fake_worker.cc)
// so that the figures are the orchestrator's own cost, not training.
//
//  1. Per trial: a study of N one-epoch trials that do no work on one CPU worker, against
//     spawning the same worker N times directly (fork/exec/wait) in the same run.
//  2. Per epoch: the same with E-epoch trials; the extra time per reported epoch (record,
//     ask the pruner, heartbeat) over the direct runs.
//  3. Throughput with K = 1, 2, 4, 8 workers on trials that only sleep; efficiency is
//     trials/s at K over K times trials/s at K = 1 (goal >= 0.9).
// Usage: orchestrator_bench [trials=40]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tuner/orchestrator.h"

namespace fs = std::filesystem;
using mgr::Json;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

fs::path g_dir;

mgr::StudyFile Study(const std::string& name, int trials, int epochs, double sleep, int workers) {
  Json j = {{"name", name},
            {"dataset",
             {{"metadata", "t.csv"}, {"audio_dir", "a"}, {"cache_dir", "c"}, {"prepare", false}}},
            {"model", {{"family", "nnet2"}}},
            {"fixed", {{"max_epochs", epochs}, {"sleep_per_epoch", sleep}}},
            {"retune", {{"lr", {{"type", "float"}, {"low", 1e-4}, {"high", 1e-1}, {"log", true}}}}},
            {"sampler", {{"type", "random"}, {"seed", 0}}},
            {"pruner", {{"type", "median"}, {"n_startup_trials", 1000}}},
            {"stages", {{{"name", "s"}, {"trials", trials}}}},
            {"workers", {{"gpus", Json::array()}, {"cpu_workers", workers}}},
            {"export", false}};
  const fs::path path = g_dir / (name + ".json");
  std::ofstream(path) << j.dump();
  auto s = mgr::LoadStudyFile(path.string());
  if (!s.ok()) {
    fprintf(stderr, "%s\n", s.status().ToString().c_str());
    exit(1);
  }
  return *s;
}

double RunOrchestrator(const mgr::StudyFile& s) {
  std::ostringstream sink;
  mgr::OrchestratorOptions o;
  o.worker_command = {MGR_FAKE_WORKER};
  o.out = &sink;
  o.poll_seconds = 1.0;
  auto storage = mgr::OpenStorage(s.storage_url);
  mgr::Orchestrator orch(s, std::shared_ptr<mgr::Storage>(std::move(*storage)), o);
  double t0 = Now();
  auto r = orch.Run();
  double t = Now() - t0;
  if (!r.ok()) {
    fprintf(stderr, "run failed: %s\n", r.status().ToString().c_str());
    exit(1);
  }
  return t;
}

// The same worker, spawned directly `n` times one after the other.
double RunDirect(int n, int epochs) {
  const fs::path spec = g_dir / "direct.json";
  double t0 = Now();
  for (int i = 0; i < n; ++i) {
    fs::remove_all(g_dir / "direct_ckpt");
    std::ofstream(spec) << Json{{"version", 1},
                                {"trial", {{"study", "d"}, {"number", i}}},
                                {"checkpoint_dir", (g_dir / "direct_ckpt").string()},
                                {"hparams", {{"max_epochs", epochs}, {"lr", 0.01}}}}
                               .dump();
    fflush(stdout);  // the child must not repeat our buffered output
    pid_t pid = fork();
    if (pid == 0) {
      FILE* null = freopen("/dev/null", "w", stdout);
      (void)null;
      FILE* err = freopen("/dev/null", "w", stderr);
      (void)err;
      execl(MGR_FAKE_WORKER, MGR_FAKE_WORKER, "worker", spec.c_str(), nullptr);
      _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
  }
  return Now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const int n = argc > 1 ? atoi(argv[1]) : 40;
  g_dir = fs::temp_directory_path() / ("mgr_orch_bench_" + std::to_string(getpid()));
  fs::create_directories(g_dir);

  const double direct1 = RunDirect(n, 1);
  const double orch1 = RunOrchestrator(Study("per_trial", n, 1, 0, 1));
  printf(
      "per trial (%d trials, 1 epoch, no work): orchestrator %.1f ms, direct spawn %.1f ms, "
      "overhead %.1f ms/trial, ratio %.2f\n",
      n, 1000 * orch1 / n, 1000 * direct1 / n, 1000 * (orch1 - direct1) / n, orch1 / direct1);

  const int epochs = 50;
  const int m = std::max(4, n / 4);
  const double direct_e = RunDirect(m, epochs);
  const double orch_e = RunOrchestrator(Study("per_epoch", m, epochs, 0, 1));
  const double per_epoch = ((orch_e - direct_e) - (orch1 - direct1) / n * m) / (m * epochs);
  printf(
      "per epoch (%d trials x %d epochs): orchestrator %.2f s, direct %.2f s, bookkeeping %.3f "
      "ms/epoch\n",
      m, epochs, orch_e, direct_e, 1000 * per_epoch);

  double base = 0;
  for (int k : {1, 2, 4, 8}) {
    const int trials = 4 * k;
    const double t = RunOrchestrator(Study("throughput_" + std::to_string(k), trials, 2, 0.25, k));
    const double thr = trials / t;
    if (k == 1) base = thr;
    printf(
        "throughput K=%d: %d sleeping trials (0.5 s each) in %.2f s = %.2f trials/s, efficiency "
        "%.2f "
        "(vs K x K=1)\n",
        k, trials, t, thr, thr / (k * base));
  }
  fs::remove_all(g_dir);
  return 0;
}
