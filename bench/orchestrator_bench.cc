// Orchestration overhead and throughput, with the fake worker (tests/tuner/fake_worker.cc)
// so that the figures are the orchestrator's own cost, not training.
//
//  1. Per trial: a study of N one-epoch trials that do no work on one CPU worker, against
//     spawning the same worker N times directly (fork/exec/wait) in the same run.
//  2. Per epoch: the same with E-epoch trials; the extra time per reported epoch (record,
//     ask the pruner, heartbeat) over the direct runs.
//  3. Throughput with K = 1, 2, 4, 8 workers on trials that only sleep; efficiency is
//     trials/s at K over K times trials/s at K = 1 (goal >= 0.9).
//  4. Many orchestrators: 8 processes, one worker each, on one study of 96 sleeping trials:
//     the budget must be exact (96 COMPLETE, no FAIL), no trial run twice (the fake worker's
//     log), every process exiting 0; wall time against one process with 8 workers.
// With a storage URL (e.g. the PostgreSQL of tools/postgres_test_server.sh) every study is
// stored there, so 2. is the per-epoch cost of that store (goal < 2 ms on PostgreSQL).
// Usage: orchestrator_bench [trials=40] [storage_url]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "tuner/orchestrator.h"

namespace fs = std::filesystem;
using mgr::Json;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

fs::path g_dir;
std::string g_storage;  // "" : an SQLite file per study in g_dir

mgr::StudyFile Study(const std::string& name, int trials, int epochs, double sleep, int workers) {
  Json j = {{"name", name + "_" + std::to_string(getpid())},
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
  if (!g_storage.empty()) j["storage"] = g_storage;
  const fs::path path = g_dir / (name + ".json");
  std::ofstream(path) << j.dump();
  auto s = mgr::LoadStudyFile(path.string());
  if (!s.ok()) {
    fprintf(stderr, "%s\n", s.status().ToString().c_str());
    exit(1);
  }
  return *s;
}

// Runs study `s` with the fake worker, its output discarded.
mgr::Status RunStudy(const mgr::StudyFile& s, double poll_seconds) {
  std::ostringstream sink;
  mgr::OrchestratorOptions o;
  o.worker_command = {MGR_FAKE_WORKER};
  o.out = &sink;
  o.poll_seconds = poll_seconds;
  auto storage = mgr::OpenStorage(s.storage_url);
  if (!storage.ok()) return storage.status();
  mgr::Orchestrator orch(s, std::shared_ptr<mgr::Storage>(std::move(*storage)), o);
  return orch.Run().status();
}

double RunOrchestrator(const mgr::StudyFile& s) {
  double t0 = Now();
  mgr::Status r = RunStudy(s, 1.0);
  double t = Now() - t0;
  if (!r.ok()) {
    fprintf(stderr, "run failed: %s\n", r.ToString().c_str());
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

// Section 4: `procs` orchestrator processes, one worker each, on one study.
void ManyOrchestrators(int procs, int trials) {
  const mgr::StudyFile study = Study("many", trials, 1, 0.2, 1);
  const fs::path log = g_dir / "many.log";
  setenv("MGR_FAKE_LOG", log.c_str(), 1);
  fflush(stdout);
  const double t0 = Now();
  std::vector<pid_t> pids;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = fork();
    if (pid == 0) _exit(RunStudy(study, 0.2).ok() ? 0 : 1);
    pids.push_back(pid);
  }
  int failed_procs = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed_procs += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const double t = Now() - t0;
  unsetenv("MGR_FAKE_LOG");
  const double one = RunOrchestrator(Study("many_one", trials, 1, 0.2, procs));
  // The store's view and the worker's log.
  auto storage = mgr::OpenStorage(study.storage_url);
  int64_t complete = -1, fail = -1;
  if (storage.ok()) {
    auto id = (*storage)->GetStudyId(study.name + "/s");
    if (id.ok()) {
      complete = *(*storage)->CountTrials(*id, {mgr::TrialState::kComplete});
      fail = *(*storage)->CountTrials(*id, {mgr::TrialState::kFail});
    }
  }
  std::map<int64_t, int> runs;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("trial")) ++runs[j["trial"]["number"].get<int64_t>()];
  }
  int twice = 0;
  for (const auto& [number, n] : runs) twice += n > 1;
  printf(
      "%d orchestrators, 1 worker each, one study of %d sleeping trials (0.2 s): %.2f s "
      "(one orchestrator with %d workers: %.2f s); COMPLETE %lld of %d, FAIL %lld, runs %zu, "
      "run twice %d, failed processes %d -> %s\n",
      procs, trials, t, procs, one, static_cast<long long>(complete), trials,
      static_cast<long long>(fail), runs.size(), twice, failed_procs,
      complete == trials && fail == 0 && twice == 0 && failed_procs == 0 &&
              static_cast<int>(runs.size()) == trials
          ? "exact"
          : "WRONG");
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const int n = argc > 1 ? atoi(argv[1]) : 40;
  if (argc > 2) g_storage = argv[2];
  printf("store: %s\n", g_storage.empty() ? "an SQLite file per study"
                                          : mgr::DescribeStorageUrl(g_storage).c_str());
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
  ManyOrchestrators(8, 96);
  fs::remove_all(g_dir);
  return 0;
}
