// End to end with the real worker (mgr-train, libtorch) on the generated `tiny` dataset:
// a two-stage study with two CPU workers completes, prunes, exports, and Python Optuna
// reads every stage. Built only with MGR_BUILD_TRAINER=ON.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tuner/orchestrator.h"

namespace mgr {
namespace {

namespace fs = std::filesystem;

std::string RunCommand(const std::string& cmd, int* rc) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *rc = pclose(p);
  return out;
}

TEST(EndToEndTest, TwoStagesOnTheTinyDatasetWithTheRealWorker) {
  signal(SIGPIPE, SIG_IGN);
  const fs::path dir = fs::temp_directory_path() / ("mgr_e2e_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  int rc = 0;
  std::string out = RunCommand(
      std::string(MGR_MAKE_DATASET) + " --size tiny --out " + (dir / "data").string() + " --seed 0",
      &rc);
  ASSERT_EQ(rc, 0) << out;
  Json j = {
      {"name", "e2e"},
      {"dataset",
       {{"metadata", "data/fma_metadata/tracks.csv"},
        {"audio_dir", "data/fma_small"},
        {"cache_dir", "cache"},
        {"clip_samples", 65536}}},
      {"model", {{"family", "nnet2"}}},
      {"fixed", {{"max_epochs", 3}, {"batch_size", 8}, {"res_channels", 8}, {"dense_units_0", 16}}},
      {"retune", {{"lr", {{"type", "float"}, {"low", 1e-5}, {"high", 0.5}, {"log", true}}}}},
      {"sampler", {{"type", "random"}, {"seed", 3}}},
      {"pruner", {{"type", "median"}, {"n_startup_trials", 1}, {"n_warmup_steps", 0}}},
      {"stages",
       {{{"name", "base"}, {"trials", 4}},
        {{"name", "channels"},
         {"trials", 4},
         {"params", {{"res_channels", {{"type", "categorical"}, {"choices", {4, 8}}}}}}}}},
      {"workers", {{"gpus", Json::array()}, {"cpu_workers", 2}, {"threads_per_worker", 1}}},
      {"trial_timeout", 600}};
  std::ofstream(dir / "e2e.json") << j.dump(2);
  auto study = LoadStudyFile((dir / "e2e.json").string());
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  std::ostringstream log;
  OrchestratorOptions o;
  o.worker_command = {MGR_TRAIN};
  o.out = &log;
  auto storage = OpenStorage(study->storage_url);
  ASSERT_TRUE(storage.ok());
  Orchestrator orch(*study, std::shared_ptr<Storage>(std::move(*storage)), o);
  auto r = orch.Run();
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << log.str();
  ASSERT_EQ(r->decisions.size(), 2u) << log.str();
  EXPECT_TRUE(r->final_result.is_object()) << log.str();

  const std::string script = (dir / "read.py").string();
  std::ofstream(script) << R"(import sys, optuna
s = optuna.storages.RDBStorage(sys.argv[1], skip_compatibility_check=True)
pruned = 0
for name in ("e2e/base", "e2e/channels"):
    st = optuna.load_study(study_name=name, storage=s)
    states = [t.state.name for t in st.trials]
    done = sum(x in ("COMPLETE", "PRUNED") for x in states)
    assert done == 4, (name, states)
    assert "decision" in st.user_attrs, st.user_attrs
    pruned += states.count("PRUNED")
print("pruned", pruned)
)";
  out = RunCommand(std::string(MGR_PYTHON) + " " + script + " " + study->storage_url, &rc);
  ASSERT_EQ(rc, 0) << out << log.str();
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("pruned 0"))) << log.str();
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace mgr
