// Storage benchmark: SqliteStorage against Python Optuna's RDB storage on SQLite, both
// measured in this run on the same disk.
//   (a) one trial's lifecycle (create, 5 params, 30 intermediate values, complete), durable
//       (WAL, synchronous=NORMAL, one transaction per call): ms per trial and speed-up.
//   (b) reading a study of 10,000 trials x 30 intermediate values: ms, and Python's time.
//   (c) with a PostgreSQL URL: (a) on PostgresStorage against Optuna's RDBStorage on the same
//       server (goal >= 20x), each in a database of its own that this bench creates.
// usage: storage_bench [n_trials_lifecycle=300] [n_trials_read=10000] [postgresql://...]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/sqlite_storage.h"
#ifdef MGR_HAVE_POSTGRES
#include "storage/postgres_db.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Check(const mgr::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

template <typename T>
T Check(mgr::Result<T> r) {
  Check(r.ok() ? mgr::Status::Ok() : r.status());
  return std::move(r).value();
}

nlohmann::json RunPython(const std::string& args) {
  std::string cmd = std::string(MGR_PYTHON) + " " + MGR_SOURCE_DIR +
                    "/bench/optuna_storage_bench.py " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p != nullptr && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p == nullptr || pclose(p) != 0) {
    std::fprintf(stderr, "storage_bench: failed: %s\n", cmd.c_str());
    std::exit(1);
  }
  return nlohmann::json::parse(out);
}

// Prints ours against Python's lifecycle figures (ms per trial, wall and CPU).
void PrintLifecycle(const char* ours_name, double ours_ms, double ours_cpu, int n_ours,
                    const nlohmann::json& py, int n_py, const char* goal) {
  const double py_ms = py["ms_per_trial"], py_cpu = py["cpu_ms_per_trial"];
  std::printf("  %-22s %8.3f ms/trial wall, %.3f ms CPU (%d trials)\n", ours_name, ours_ms,
              ours_cpu, n_ours);
  std::printf("  Optuna 3.1 RDBStorage:  %8.3f ms/trial wall, %.3f ms CPU (%d trials)\n", py_ms,
              py_cpu, n_py);
  std::printf("  speed-up:               %8.1fx wall, %.1fx CPU (goal %s)\n", py_ms / ours_ms,
              py_cpu / ours_cpu, goal);
}

// One trial's lifecycle `n` times on `s`; sets ms and CPU ms per trial.
void Lifecycle(mgr::Storage& s, int n, double* ms, double* cpu_ms) {
  int64_t study = Check(s.CreateStudy("lifecycle", {mgr::StudyDirection::kMinimize}));
  const mgr::Distribution d = mgr::FloatDistribution{0.0, 1.0, false, {}};
  auto start = Clock::now();
  std::clock_t cpu_start = std::clock();
  for (int i = 0; i < n; ++i) {
    int64_t t = Check(s.CreateTrial(study));
    double sum = 0;
    for (int k = 0; k < 5; ++k) {
      double x = (i * 5 + k) % 97 / 97.0;
      sum += x;
      Check(s.SetTrialParam(t, "x" + std::to_string(k), x, d));
    }
    for (int step = 0; step < 30; ++step) {
      Check(s.SetTrialIntermediateValue(t, step, sum / (step + 1)));
    }
    Check(s.SetTrialStateValues(t, mgr::TrialState::kComplete, {sum}));
  }
  *ms = Ms(Clock::now() - start) / n;
  *cpu_ms = (std::clock() - cpu_start) * 1000.0 / CLOCKS_PER_SEC / n;
}

#ifdef MGR_HAVE_POSTGRES
// A new, empty database `name` on the server of `url`; its URL.
std::string FreshDatabase(const std::string& url, const std::string& name) {
  auto info = Check(mgr::pg::ParseUrl(url));
  auto conn = Check(mgr::pg::Connection::Open(info));
  Check(conn->Exec("DROP DATABASE IF EXISTS " + name).status());
  Check(conn->Exec("CREATE DATABASE " + name).status());
  // postgresql://user@host:port/DB?query: replace DB.
  const size_t slash = url.find('/', url.find("://") + 3);
  const size_t query = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

// (c): the lifecycle on PostgreSQL, ours against Optuna's, on the server of `url`.
void PostgresLifecycle(const std::string& url, int n_life) {
  double ours_ms, ours_cpu;
  {
    auto s = Check(mgr::OpenStorage(FreshDatabase(url, "bench_ours")));
    Lifecycle(*s, n_life, &ours_ms, &ours_cpu);
  }
  const int n_py = std::max(10, n_life / 10);
  // Debian's SQLAlchemy reads postgresql:// with psycopg2.
  auto py =
      RunPython("lifecycle '" + FreshDatabase(url, "bench_optuna") + "' " + std::to_string(n_py));
  std::printf("lifecycle on PostgreSQL (%s; one transaction per call)\n",
              mgr::DescribeStorageUrl(url).c_str());
  PrintLifecycle("mgr PostgresStorage:", ours_ms, ours_cpu, n_life, py, n_py, ">= 20x");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const int n_life = argc > 1 ? std::atoi(argv[1]) : 300;
  const int n_read = argc > 2 ? std::atoi(argv[2]) : 10000;
  char tmpl[] = "/tmp/mgr_storage_bench_XXXXXX";
  const std::string dir = mkdtemp(tmpl);

  // (a) Lifecycle.
  double ours_ms, ours_cpu;
  {
    auto s = Check(mgr::SqliteStorage::Open(dir + "/lifecycle.db"));
    Lifecycle(*s, n_life, &ours_ms, &ours_cpu);
  }
  const int n_py = std::max(10, n_life / 10);
  auto py_life =
      RunPython("lifecycle sqlite:///" + dir + "/py_lifecycle.db " + std::to_string(n_py));
  std::printf(
      "lifecycle (create, 5 params, 30 intermediate values, complete; WAL, synchronous=NORMAL)\n");
  PrintLifecycle("mgr SqliteStorage:", ours_ms, ours_cpu, n_life, py_life, n_py, ">= 50x");

  // (b) Read a big study.
  const std::string big = dir + "/big.db";
  {
    auto s = Check(mgr::SqliteStorage::Open(big));
    int64_t study = Check(s->CreateStudy("big", {mgr::StudyDirection::kMinimize}));
    mgr::FrozenTrial t;
    t.state = mgr::TrialState::kComplete;
    for (int k = 0; k < 5; ++k) {
      t.distributions["x" + std::to_string(k)] = mgr::FloatDistribution{0.0, 1.0, false, {}};
    }
    for (int i = 0; i < n_read; ++i) {
      for (int k = 0; k < 5; ++k) t.params["x" + std::to_string(k)] = (i * 7 + k) % 101 / 101.0;
      for (int step = 0; step < 30; ++step) t.intermediate_values[step] = 1.0 / (i + step + 1);
      t.values = {1.0 / (i + 1)};
      t.datetime_start.reset();
      t.datetime_complete.reset();
      Check(s->CreateTrial(study, &t).status());
    }
  }
  std::vector<double> runs, cpu_runs;
  size_t loaded = 0, values = 0;
  // One long-lived connection, as a sampler re-reading its study every trial has.
  auto reader = Check(mgr::SqliteStorage::Open(big));
  int64_t big_study = Check(reader->GetStudyId("big"));
  for (int r = 0; r < 5; ++r) {
    auto start = Clock::now();
    std::clock_t cpu_start = std::clock();
    auto trials = Check(reader->GetAllTrials(big_study));
    runs.push_back(Ms(Clock::now() - start));
    cpu_runs.push_back((std::clock() - cpu_start) * 1000.0 / CLOCKS_PER_SEC);
    loaded = trials.size();
    values = 0;
    for (const auto& t : trials) values += t.intermediate_values.size();
  }
  std::sort(runs.begin(), runs.end());
  std::sort(cpu_runs.begin(), cpu_runs.end());
  auto py = RunPython("read sqlite:///" + big + " big");
  double py_read = py["ms"], py_read_cpu = py["cpu_ms"];
  std::printf("read study (%zu trials, %zu intermediate values, 5 params each)\n", loaded, values);
  std::printf(
      "  mgr GetAllTrials:       %8.1f ms wall, %.1f ms CPU (medians of 5; goal < 100 ms)\n",
      runs[2], cpu_runs[2]);
  std::printf("  Optuna 3.1 get_all_trials: %.1f ms wall, %.1f ms CPU (%d trials)\n", py_read,
              py_read_cpu, py["n_trials"].get<int>());
  std::printf("  speed-up:               %8.1fx wall, %.1fx CPU\n", py_read / runs[2],
              py_read_cpu / cpu_runs[2]);
#ifdef MGR_HAVE_POSTGRES
  if (argc > 3) PostgresLifecycle(argv[3], n_life);
#endif

  std::ifstream load("/proc/loadavg");
  std::string load1;
  load >> load1;
  std::printf("machine load average (1 min): %s\n", load1.c_str());
  std::string rm = "rm -rf '" + dir + "'";
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}
