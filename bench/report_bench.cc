// `mgr-tune report` on a 10,000-trial study (two stages of 5,000 trials, 6 epochs each, in
// SQLite): reading the store, PED-ANOVA, rendering and writing the page, best of 3. The
// reference, measured in this run on the same file: Python Optuna (Debian's 3.1) loading the
// same two studies' trials (study.get_trials()), which any Python report must do first.
// usage: report_bench [n_trials=10000]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "tests/tuner/report_test_study.h"
#include "tuner/report.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Check(const mgr::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "report_bench: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  char dir_template[] = "/tmp/mgr-report-bench-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template) ? dir_template : "";
  if (dir.empty()) return 1;
  const std::string db = dir + "/study.db", html = dir + "/report.html";
  std::vector<std::string> names;
  {
    auto storage = mgr::OpenStorage("sqlite:///" + db);
    Check(storage.ok() ? mgr::Status::Ok() : storage.status());
    auto written = mgr::report_test::WriteSyntheticStudy(**storage, "bench", n / 2);
    Check(written.ok() ? mgr::Status::Ok() : written.status());
    names = *written;
  }
  double ours = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    mgr::OpenOptions read_only;
    read_only.read_only = true;
    auto storage = mgr::OpenStorage("sqlite:///" + db, read_only);
    Check(storage.ok() ? mgr::Status::Ok() : storage.status());
    Check(mgr::WriteReport(**storage, names, html, "val_loss"));
    ours = std::min(ours, Seconds(Clock::now() - start));
  }
  const std::string script = dir + "/read.py";
  FILE* f = std::fopen(script.c_str(), "w");
  std::fprintf(f,
               "import sys, time, optuna\n"
               "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
               "best = 1e9\n"
               "for _ in range(3):\n"
               "    t = time.perf_counter()\n"
               "    s = optuna.storages.RDBStorage('sqlite:///%s', skip_compatibility_check=True)\n"
               "    n = sum(len(optuna.load_study(study_name=name, storage=s).get_trials())\n"
               "            for name in sys.argv[1:])\n"
               "    best = min(best, time.perf_counter() - t)\n"
               "print(best, n)\n",
               db.c_str());
  std::fclose(f);
  std::string cmd = std::string(MGR_PYTHON) + " " + script;
  for (const auto& name : names) cmd += " " + name;
  FILE* p = ::popen(cmd.c_str(), "r");
  double python = 0;
  long read = 0;
  if (p == nullptr || std::fscanf(p, "%lf %ld", &python, &read) != 2 || ::pclose(p) != 0) {
    std::fprintf(stderr, "report_bench: the Python reference failed: %s\n", cmd.c_str());
    return 1;
  }
  FILE* page = std::fopen(html.c_str(), "rb");
  std::fseek(page, 0, SEEK_END);
  const long bytes = std::ftell(page);
  std::fclose(page);
  std::printf("report of %d trials (%.1f MB page): %.3f s (best of 3)\n", n, bytes / 1e6, ours);
  std::printf("python optuna 3.1 reading the same %ld trials: %.3f s\n", read, python);
  std::printf("ratio (python read / our whole report): %.2fx\n", python / ours);
  if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) return 1;
  return 0;
}
