// The orchestrator: runs a study file's playbook to the end, one trial per worker process.
//
// One Boost.Asio event loop drives everything: the worker processes (their stdout events,
// stderr, exits), timers (heartbeats, trial timeouts, the display, polling the store) and
// SIGINT/SIGTERM. Each playbook stage is its own Optuna study "<name>/<stage>"; the stage's
// decision and the incumbent are stored as that study's user attributes ("decision",
// "incumbent"), so a rerun continues where the last run stopped.
//
// Budget: a stage's budget counts the stage's root trials in the store (trials that are
// not retries of another), so several orchestrators (processes or hosts) sharing one
// database share it; a trial created past the budget by a race is failed at once with
// fail_reason "over budget" and never run.
//
// Interruption: the first SIGINT/SIGTERM sends `stop` to every worker (SIGKILL after
// kill_grace); each stopped trial is FAILed with fail_reason "interrupted" and retried
// (a WAITING copy), so the next run resumes it from its checkpoint. A second signal kills
// the workers at once (same bookkeeping). After a SIGKILL of the orchestrator its RUNNING
// trials stop receiving heartbeats; the next run fails them once their heartbeat is older
// than heartbeat.grace and retries them the same way.
//
// A retried trial (system attrs failed_trial/retry_history, as Optuna's
// RetryFailedTrialCallback) runs in the checkpoint folder of the chain's first trial
// (run_dir/trials/<stage>/<first number>/checkpoint) and so resumes where it stopped; the
// intermediate values of the trial it replaces are copied into it.
//
// Not thread-safe; Run() blocks until the study is finished or interrupted.
#ifndef MGR_TUNER_ORCHESTRATOR_H_
#define MGR_TUNER_ORCHESTRATOR_H_

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "studies/playbook.h"
#include "studies/study_file.h"
#include "tuner/gpu_discovery.h"

namespace mgr {

struct OrchestratorOptions {
  // The worker command; "worker SPEC.json" (or "prepare --data FILE") is appended.
  std::vector<std::string> worker_command = {"mgr-train"};
  GpuDiscovery* discovery = nullptr;  // not owned; nullptr: SystemGpuDiscovery
  bool prepare = true;                // and the study's dataset.prepare
  bool export_model = true;           // and the study's export
  std::ostream* out = &std::cout;     // not owned
  bool interactive = false;           // redraw a status block (a terminal)
  double poll_seconds = 1.0;          // how often the store is polled (other processes)
};

struct RunReport {
  bool interrupted = false;
  Incumbent incumbent;
  std::vector<StageDecision> decisions;
  Json final_result;  // the export run's result (test metrics, model path), or null
};

class Orchestrator {
 public:
  Orchestrator(StudyFile study, std::shared_ptr<Storage> storage, OrchestratorOptions options);
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Runs (or resumes) the study. An error means nothing could run (bad storage, a worker
  // that cannot start, a failed prepare); trials that fail are values in the store.
  Result<RunReport> Run();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mgr

#endif  // MGR_TUNER_ORCHESTRATOR_H_
