#include "tuner/orchestrator.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "storage/base/atomic_file.h"
#include "storage/base/file_lock.h"
#include "storage/base/files.h"
#include "storage/base/strings.h"
#include "studies/study.h"
#include "trainer/protocol/worker_protocol.h"
#include "tuner/dashboard_note.h"
#include "tuner/live_display.h"
#include "tuner/report.h"
#include "tuner/run_report.h"
#include "tuner/worker_process.h"

namespace mgr {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kOverBudgetKey[] = "mgr:over_budget";
// Trial user attr: every epoch event's fields, a list in epoch order (docs/storage.md).
constexpr char kEpochsAttr[] = "epochs";
// Why a resumed trial trained from its first epoch (user attr), when it did.
constexpr char kRestartedAttr[] = "restarted";

bool IsRetry(const FrozenTrial& t) { return t.system_attrs.count(kFailedTrialKey) > 0; }

// A checkpoint folder with something in it (the worker writes it whole, atomically).
bool HasCheckpoint(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::is_empty(dir, ec);
}

std::chrono::milliseconds Ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

Status WriteJsonFile(const fs::path& path, const Json& j) {
  return WriteFileAtomically(path.string(), j.dump(2) + "\n");
}

// final_result.test.f1: per-class F1 from the worker's precision and recall (0 where both
// are 0, as the worker's macro F1 counts it; null where either is not a number), unless the
// worker sent it.
void AddPerClassF1(Json* test) {
  if (!test->is_object()) return;
  // The track-level part (every window of each track) has the same fields.
  if (test->contains(kTestTrack)) AddPerClassF1(&(*test)[kTestTrack]);
  if (test->contains("f1")) return;
  auto p = test->find(kTestPrecision), r = test->find(kTestRecall);
  if (p == test->end() || r == test->end() || !p->is_array() || !r->is_array() ||
      p->size() != r->size())
    return;
  Json f1 = Json::array();
  for (size_t i = 0; i < p->size(); ++i) {
    const Json &pi = (*p)[i], &ri = (*r)[i];
    if (!pi.is_number() || !ri.is_number()) {
      f1.push_back(nullptr);
    } else {
      const double a = pi.get<double>(), b = ri.get<double>();
      f1.push_back(a + b > 0 ? 2 * a * b / (a + b) : 0.0);
    }
  }
  (*test)["f1"] = f1;
}

// The object in a JSON file; null when the file is missing or holds something else.
Json ReadJsonObject(const fs::path& path) {
  std::ifstream in(path);
  Json j = in ? Json::parse(in, nullptr, false) : Json();
  return j.is_object() ? j : Json();
}

std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\n') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

// One running worker and what it has said so far.
struct Job {
  size_t slot = 0;
  size_t stage = 0;
  bool is_export = false;
  int64_t final_seed = -1;  // a final run (is_export too): its seed
  int64_t trial_id = -1, number = -1;
  std::string label;  // "base #3"
  std::unique_ptr<WorkerProcess> proc;
  int epoch = 0, max_epochs = 0, resumed_from = 0, batch = 0, batches = 0;
  double last_value = NAN, best_value = NAN, seconds_per_epoch = NAN;
  Clock::time_point started, epoch_started;
  bool prune_sent = false, stop_sent = false, timed_out = false, killed = false;
  std::optional<WorkerEvent> final_event, error_event, stopped_event;  // the terminal event
  Json epochs = Json::array();  // the trial's `epochs` user attr as last written
  std::unique_ptr<asio::steady_timer> timeout, kill;
  // An export or final run: its claim on the step, so that of the orchestrators sharing
  // run_dir exactly one runs it (released when the job ends, or by the kernel on a crash).
  std::optional<FileLock> claim;
};

class Orchestrator::Impl {
 public:
  Impl(StudyFile study, std::shared_ptr<Storage> storage, OrchestratorOptions options)
      : study_(std::move(study)),
        storage_(std::move(storage)),
        options_(std::move(options)),
        playbook_(&study_),
        display_(*options_.out, options_.interactive),
        signals_(io_, SIGINT, SIGTERM),
        heartbeat_timer_(io_),
        poll_timer_(io_),
        display_timer_(io_) {}

  Result<RunReport> Run();

 private:
  Status SetUpStages();
  Result<bool> StageDataReady();
  Status StartPrepare(int64_t rate, int64_t min_clip);
  void Schedule();
  Status ScheduleStage();
  Status StartTrial(size_t slot, Trial trial);
  Status StartExport(size_t slot, FileLock claim);
  Result<std::optional<FileLock>> ClaimFinalStep(const std::string& step);
  Json ReadFinalSeedResult(int64_t seed) const;
  Status ScheduleFinal();
  // The incumbent's whole configuration: the study's fixed hparams under its own.
  std::map<std::string, Json> IncumbentHparams() const;
  Json FinalRunConfig(int64_t seed) const;
  Status StartFinalSeed(size_t slot, int64_t seed, FileLock claim);
  void FinishFinalSeed(Job* job, const WorkerExit& exit);
  void FinishFinal();
  Status Launch(Job* job, const Json& spec, const fs::path& dir);
  void OnEvent(Job* job, const WorkerEvent& event);
  void OnEpoch(Job* job, const WorkerEvent& event);
  Status RecordEpoch(Job* job, const WorkerEvent& event);
  void OnExit(Job* job, const WorkerExit& exit);
  Status FinishTrial(Job* job, const WorkerExit& exit);
  void FinishExport(Job* job, const WorkerExit& exit);
  Status DecideStage();
  void OnSignal(int signo);
  void StopJob(Job* job);
  void Fatal(const Status& s);
  void ArmHeartbeat();
  void ArmPoll();
  void ArmDisplay();
  void UpdateStatus();
  void RefreshReport(bool force);
  std::optional<size_t> FreeSlot() const;
  Json SpecFor(const Job& job, const std::map<std::string, Json>& hparams,
               const std::string& checkpoint_dir, bool evaluate_test, const Json& export_dir) const;

  StudyFile study_;
  std::shared_ptr<Storage> storage_;
  OrchestratorOptions options_;
  Playbook playbook_;
  LiveDisplay display_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer heartbeat_timer_, poll_timer_, display_timer_;
  SystemGpuDiscovery system_discovery_;
  std::vector<WorkerSlot> slots_;
  std::vector<std::unique_ptr<Job>> jobs_;  // by slot; null when idle
  std::vector<std::unique_ptr<Study>> studies_;
  size_t current_ = 0;  // the stage being run; == stages.size() when all are decided
  Incumbent incumbent_;
  std::vector<StageDecision> decisions_;
  int signals_seen_ = 0;
  bool stopping_ = false;
  bool done_ = false;
  bool export_started_ = false;
  Status fatal_;
  Json final_result_;
  // Final training (study_.final_training): each seed's result once known, from this run or
  // an earlier one (run_dir/final/seed-<s>/result.json), or {seed, error} when it failed.
  std::map<int64_t, Json> final_seeds_;
  bool final_loaded_ = false, final_done_ = false;
  std::set<std::string> claims_waited_;     // final steps found claimed (logged once each)
  std::unique_ptr<WorkerProcess> prepare_;  // `mgr-train prepare` while one runs
  std::set<int64_t> prepared_rates_;        // sample rates whose cache is ready
  bool schedule_posted_ = false;
  Clock::time_point report_due_{};  // RefreshReport skips unforced writes before this
  bool report_failed_ = false;      // warned once
};

Orchestrator::Orchestrator(StudyFile study, std::shared_ptr<Storage> storage,
                           OrchestratorOptions options)
    : impl_(std::make_unique<Impl>(std::move(study), std::move(storage), std::move(options))) {}
Orchestrator::~Orchestrator() = default;
Result<RunReport> Orchestrator::Run() { return impl_->Run(); }

Status Orchestrator::Impl::SetUpStages() {
  for (size_t i = 0; i < study_.stages.size(); ++i) {
    const StageSpec& stage = study_.stages[i];
    Json sampler_config = stage.sampler;
    // Several trials at once: let TPE see the running ones (Optuna's constant liar).
    if (sampler_config.value("type", "") == "tpe" && slots_.size() > 1 &&
        !sampler_config.contains("constant_liar")) {
      sampler_config["constant_liar"] = true;
    }
    // Each stage its own seed, from the study's (or the stage's sampler.seed) and the
    // stage's study name: one seed for all stages would start them all at the same points.
    Json seed = sampler_config.value("seed", Json(study_.seed));
    if (seed.is_number_unsigned() || (seed.is_number_integer() && seed.get<int64_t>() >= 0))
      seed = MixSeed({seed.get<uint64_t>(), HashName(study_.StageStudyName(i))});
    sampler_config["seed"] = seed;  // any other value: MakeSampler says what is wrong
    auto sampler = MakeSampler(sampler_config);
    if (!sampler.ok())
      return sampler.status().WithContext(study_.path + ": stages[" + std::to_string(i) +
                                          "].sampler");
    auto pruner = MakePruner(stage.pruner);
    if (!pruner.ok())
      return pruner.status().WithContext(study_.path + ": stages[" + std::to_string(i) +
                                         "].pruner");
    MGR_ASSIGN_OR_RETURN(auto st,
                         Study::CreateOrLoad(storage_, study_.StageStudyName(i), {study_.direction},
                                             std::move(*sampler), std::move(*pruner)));
    MGR_ASSIGN_OR_RETURN(auto attrs, st->UserAttrs());
    if (!attrs.count("stage")) {
      MGR_RETURN_IF_ERROR(st->SetUserAttr("playbook", study_.name));
      MGR_RETURN_IF_ERROR(st->SetUserAttr("stage", stage.name));
      MGR_RETURN_IF_ERROR(st->SetUserAttr("stage_index", static_cast<int64_t>(i)));
      MGR_RETURN_IF_ERROR(st->SetUserAttr("budget", stage.trials));
    }
    studies_.push_back(std::move(st));
  }
  // Resume: stages with a decision are done; the incumbent is the last one stored.
  current_ = 0;
  for (size_t i = 0; i < studies_.size(); ++i) {
    MGR_ASSIGN_OR_RETURN(auto attrs, studies_[i]->UserAttrs());
    if (!attrs.count("decision") || !attrs.count("incumbent")) break;
    MGR_ASSIGN_OR_RETURN(auto d, StageDecision::FromJson(attrs["decision"]));
    MGR_ASSIGN_OR_RETURN(auto inc, Incumbent::FromJson(attrs["incumbent"]));
    decisions_.push_back(d);
    incumbent_ = inc;
    current_ = i + 1;
  }
  return Status::Ok();
}

// The values a stage's trials can take for a data hyperparameter (sample_rate, clip_samples):
// the stage's choices (or an int range's low end) when it searches it, else the value its
// trials get, in the order hparams are merged (study fixed < incumbent < stage fixed).
std::vector<int64_t> StageDataValues(const StudyFile& study, size_t stage,
                                     const Incumbent& incumbent, const std::string& name) {
  const StageSpec& s = study.stages[stage];
  std::vector<int64_t> out;
  for (const auto* list : {&s.params, &s.retune}) {
    for (const ParamSpec& p : *list) {
      if (p.name != name) continue;
      if (const auto* c = std::get_if<CategoricalDistribution>(&p.distribution)) {
        for (const Json& v : c->choices)
          if (v.is_number_integer()) out.push_back(v.get<int64_t>());
      } else if (const auto* d = std::get_if<IntDistribution>(&p.distribution)) {
        out.push_back(d->low);
      }
      return out;
    }
  }
  std::optional<Json> v;
  if (auto it = study.dataset.find(name); it != study.dataset.end()) v = *it;
  if (auto it = study.fixed.find(name); it != study.fixed.end()) v = it->second;
  if (auto it = incumbent.hparams.find(name); it != incumbent.hparams.end()) v = it->second;
  if (auto it = s.fixed.find(name); it != s.fixed.end()) v = it->second;
  if (v && v->is_number_integer()) out.push_back(v->get<int64_t>());
  return out;
}

// Before a stage's first trial, every sample rate it can use gets its clip cache, once per
// rate (prepare is idempotent: an existing cache is reused), with the shortest clip the
// stages left can use. `mgr-train prepare` runs as a child of the event loop, so the
// workers still running (the previous stage's last trials elsewhere, heartbeats) go on.
// True when the current stage's caches are ready; false while one is being prepared.
Result<bool> Orchestrator::Impl::StageDataReady() {
  if (!options_.prepare || !study_.prepare) return true;
  if (prepare_) return false;
  std::vector<int64_t> clips;
  for (size_t i = current_; i < study_.stages.size(); ++i) {
    for (int64_t c : StageDataValues(study_, i, incumbent_, "clip_samples")) clips.push_back(c);
  }
  const int64_t min_clip = clips.empty() ? study_.dataset.value("clip_samples", int64_t{262144})
                                         : *std::min_element(clips.begin(), clips.end());
  for (int64_t rate : StageDataValues(study_, current_, incumbent_, "sample_rate")) {
    if (prepared_rates_.count(rate)) continue;
    MGR_RETURN_IF_ERROR(StartPrepare(rate, min_clip));
    return false;
  }
  return true;
}

Status Orchestrator::Impl::StartPrepare(int64_t rate, int64_t min_clip) {
  const std::string tag = std::to_string(rate);
  const fs::path data = fs::path(study_.run_dir) / ("data-" + tag + ".json");
  const fs::path log = fs::path(study_.run_dir) / ("prepare-" + tag + ".log");
  Json dataset = study_.dataset;
  dataset["sample_rate"] = rate;
  dataset["clip_samples"] = min_clip;
  MGR_RETURN_IF_ERROR(WriteJsonFile(data, Json{{"data", dataset}}));
  std::vector<std::string> argv = options_.worker_command;
  argv.insert(argv.end(), {kPrepareCommand, "--data", data.string()});
  WorkerProcess::Callbacks cb;
  cb.on_event = [](const WorkerEvent&) {};
  cb.on_garbage = [](const std::string&, const Status&) {};  // its progress lines
  cb.on_exit = [this, rate, argv, log](const WorkerExit& exit) {
    if (exit.exit_code == 0) {
      prepared_rates_.insert(rate);
    } else if (!stopping_) {
      Fatal(Status::FailedPrecondition(argv[0] + " prepare --data " + argv.back() + " failed (" +
                                       exit.Describe() + "); its log: " + log.string()));
    }
    // Not inside its own callback: the process object goes once the callback returned.
    asio::post(io_, [this] {
      prepare_.reset();
      Schedule();
    });
  };
  display_.Log("preparing the clip cache in " + study_.dataset.value("cache_dir", "") + " at " +
               tag + " Hz (clips of at least " + std::to_string(min_clip) + " samples; log " +
               log.string() + ") ...");
  MGR_ASSIGN_OR_RETURN(prepare_, WorkerProcess::Start(io_, argv, {}, log.string(), std::move(cb)));
  return Status::Ok();
}

Result<RunReport> Orchestrator::Impl::Run() {
  signal(SIGPIPE, SIG_IGN);  // a worker that exits while we write to it is not our death
  MGR_RETURN_IF_ERROR(MakeDirectories(study_.run_dir).WithContext("run_dir"));
  GpuDiscovery* discovery = options_.discovery ? options_.discovery : &system_discovery_;
  MGR_ASSIGN_OR_RETURN(slots_, MakeSlots(study_.workers, *discovery));
  jobs_.resize(slots_.size());
  MGR_RETURN_IF_ERROR(SetUpStages());

  std::string where;
  for (const auto& s : slots_) where += (where.empty() ? "" : ", ") + s.Label();
  display_.Log("study " + study_.name + ": " + std::to_string(study_.stages.size()) + " stages, " +
               std::to_string(slots_.size()) + " workers (" + where + "), storage " +
               DescribeStorageUrl(study_.storage_url));
  for (const auto& d : decisions_) display_.Log("  done: " + d.summary);
  if (current_ < study_.stages.size()) {
    display_.Log((decisions_.empty() ? "starting" : "resuming") + std::string(" at stage ") +
                 std::to_string(current_) + " (" + study_.stages[current_].name + ")");
  }

  signals_.async_wait([this](const boost::system::error_code& e, int signo) {
    if (!e) OnSignal(signo);
  });
  ArmHeartbeat();
  ArmPoll();
  if (display_.interactive()) ArmDisplay();
  asio::post(io_, [this] { Schedule(); });
  io_.run();
  display_.Finish();
  if (!fatal_.ok()) return fatal_;
  RefreshReport(/*force=*/true);

  RunReport report;
  report.interrupted = stopping_;
  report.incumbent = incumbent_;
  report.decisions = decisions_;
  report.final_result = final_result_;
  if (!stopping_) {
    for (const std::string& line : FinalReportLines(study_, decisions_, incumbent_, final_result_))
      display_.Log(line);
    display_.Log("report: " + (fs::path(study_.run_dir) / "report.html").string());
  } else {
    display_.Log("stopped: run the same command again to resume");
  }
  return report;
}

void Orchestrator::Impl::Fatal(const Status& s) {
  if (fatal_.ok()) fatal_ = s;
  display_.Log("error: " + s.ToString());
  if (!stopping_) {
    stopping_ = true;
    for (auto& j : jobs_)
      if (j) StopJob(j.get());
  }
  bool any = false;
  for (auto& j : jobs_) any = any || j;
  if (!any) io_.stop();
}

void Orchestrator::Impl::ArmHeartbeat() {
  heartbeat_timer_.expires_after(Ms(study_.heartbeat_interval_seconds));
  heartbeat_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    for (auto& j : jobs_) {
      if (j && !j->is_export) {
        Status s = studies_[j->stage]->Heartbeat(j->trial_id);
        if (!s.ok()) display_.Log("warning: heartbeat of " + j->label + ": " + s.ToString());
      }
    }
    ArmHeartbeat();
  });
}

void Orchestrator::Impl::ArmPoll() {
  poll_timer_.expires_after(Ms(options_.poll_seconds));
  poll_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    if (!stopping_ && current_ < studies_.size()) {
      auto grace = std::chrono::seconds(
          std::max<int64_t>(1, static_cast<int64_t>(std::ceil(study_.heartbeat_grace_seconds))));
      // A stale trial was interrupted (its orchestrator died), not faulty: always resume it.
      auto stale = studies_[current_]->FailStaleTrials(grace, INT_MAX / 2);
      if (!stale.ok()) {
        display_.Log("warning: " + stale.status().ToString());
      } else if (!stale->empty()) {
        display_.Log(std::to_string(stale->size()) + " stale trial(s) of " +
                     study_.StageStudyName(current_) + " (no heartbeat for " +
                     FormatDuration(study_.heartbeat_grace_seconds) +
                     "): failed and queued to resume from their checkpoints");
      }
    }
    Schedule();
    ArmPoll();
  });
}

void Orchestrator::Impl::ArmDisplay() {
  display_timer_.expires_after(std::chrono::seconds(1));
  display_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    UpdateStatus();
    ArmDisplay();
  });
}

std::optional<size_t> Orchestrator::Impl::FreeSlot() const {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (!jobs_[i]) return i;
  }
  return std::nullopt;
}

void Orchestrator::Impl::Schedule() {
  if (!fatal_.ok() && !stopping_) return;
  bool any_job = false;
  for (auto& j : jobs_) any_job = any_job || j;
  if (stopping_ || done_) {
    if (!any_job) io_.stop();
    return;
  }
  if (current_ < studies_.size()) {
    Status s = ScheduleStage();
    if (!s.ok()) Fatal(s);
    return;
  }
  // Every stage is decided: the final runs of the incumbent (study file `final`), or the
  // export of its checkpoint, then stop.
  const bool exporting =
      options_.export_model && study_.export_model && incumbent_.trial_number >= 0;
  if (exporting && study_.final_training) {
    Status st = ScheduleFinal();
    if (!st.ok()) {
      Fatal(st);
      return;
    }
    // Seeds that another orchestrator runs: wait for them (the poll comes back here).
    if (!final_done_) return;
    any_job = false;
    for (auto& j : jobs_) any_job = any_job || j;
  } else if (!export_started_ && exporting) {
    if (auto slot = FreeSlot()) {
      auto claim = ClaimFinalStep("export");
      if (!claim.ok()) {
        Fatal(claim.status());
        return;
      }
      if (!*claim) return;  // another orchestrator exports: wait for its result.json
      export_started_ = true;
      // Read after the claim: the holder before us may have just written it.
      Json r = ReadJsonObject(fs::path(study_.run_dir) / "final" / "result.json");
      if (!r.is_null()) {
        final_result_ = r;  // exported by an earlier run or another orchestrator
      } else {
        Status st = StartExport(*slot, std::move(**claim));
        if (!st.ok()) Fatal(st);
        return;
      }
    }
  }
  if (!any_job) {
    done_ = true;
    io_.stop();
  }
}

Status Orchestrator::Impl::ScheduleStage() {
  while (current_ < studies_.size()) {
    MGR_ASSIGN_OR_RETURN(bool data_ready, StageDataReady());
    if (!data_ready) return Status::Ok();  // its prepare's exit schedules again
    Study& st = *studies_[current_];
    const int64_t budget = study_.stages[current_].trials;
    MGR_ASSIGN_OR_RETURN(auto trials, st.Trials());
    int64_t roots = 0, waiting = 0, active = 0;
    for (const auto& t : trials) {
      if (!IsRetry(t)) ++roots;
      if (t.state == TrialState::kWaiting) ++waiting;
      if (t.state == TrialState::kRunning) ++active;
    }
    bool local = false;
    for (auto& j : jobs_) local = local || (j && !j->is_export && j->stage == current_);
    std::optional<size_t> slot;
    while ((waiting > 0 || roots < budget) && (slot = FreeSlot())) {
      MGR_ASSIGN_OR_RETURN(Trial trial, st.Ask(/*record_heartbeat=*/true));
      MGR_ASSIGN_OR_RETURN(FrozenTrial frozen, st.GetTrial(trial.id()));
      const bool claimed = waiting > 0 && frozen.datetime_start &&
                           (IsRetry(frozen) || frozen.system_attrs.count(kFixedParamsKey));
      if (claimed) {
        --waiting;
      } else {
        // A new trial: within the budget only if fewer than `budget` root trials precede it
        // (another orchestrator may have created some since we counted).
        MGR_ASSIGN_OR_RETURN(auto now, st.Trials());
        int64_t rank = 0;
        for (const auto& t : now) {
          if (!IsRetry(t) && t.number < frozen.number) ++rank;
        }
        if (rank >= budget) {
          MGR_RETURN_IF_ERROR(storage_->SetTrialSystemAttr(trial.id(), kOverBudgetKey, true));
          MGR_RETURN_IF_ERROR(storage_->SetTrialUserAttr(
              trial.id(), "fail_reason", "over budget: another orchestrator took the last trial"));
          MGR_RETURN_IF_ERROR(st.Tell(trial.id(), TrialState::kFail));
          roots = budget;
          break;
        }
        ++roots;
      }
      MGR_RETURN_IF_ERROR(StartTrial(*slot, std::move(trial)));
      // A trial that copied a known result (or failed at once) left the slot free.
      if (jobs_[*slot]) local = true;
    }
    if (local || roots < budget || waiting > 0 || active > 0) return Status::Ok();
    // Every trial of the stage has finished (in every process): decide and move on.
    MGR_RETURN_IF_ERROR(DecideStage());
  }
  asio::post(io_, [this] { Schedule(); });
  return Status::Ok();
}

Status Orchestrator::Impl::DecideStage() {
  Study& st = *studies_[current_];
  MGR_ASSIGN_OR_RETURN(auto attrs, st.UserAttrs());
  StageDecision d;
  Incumbent next;
  if (attrs.count("decision") && attrs.count("incumbent")) {
    // Another orchestrator decided first: take its decision.
    MGR_ASSIGN_OR_RETURN(d, StageDecision::FromJson(attrs["decision"]));
    MGR_ASSIGN_OR_RETURN(next, Incumbent::FromJson(attrs["incumbent"]));
  } else {
    auto best = st.BestTrial();
    std::map<std::string, Json> hparams;
    if (best.ok()) {
      auto it = best->user_attrs.find("hparams");
      if (it != best->user_attrs.end() && it->second.is_object()) {
        hparams = it->second.get<std::map<std::string, Json>>();
      }
    } else if (best.status().code() != StatusCode::kNotFound) {
      return best.status();
    }
    d = playbook_.Decide(current_, incumbent_, best.ok() ? &*best : nullptr, hparams, &next);
    MGR_RETURN_IF_ERROR(st.SetUserAttr("incumbent", next.ToJson()));
    MGR_RETURN_IF_ERROR(st.SetUserAttr("decision", d.ToJson()));
    // The decision as the stage study's optuna-dashboard note.
    Status note = SaveDashboardNote(*storage_, st.id(),
                                    StageDecisionNote(study_, current_, d, incumbent_, next));
    if (!note.ok())
      display_.Log("warning: dashboard note of stage " + d.stage + ": " + note.ToString());
  }
  display_.Log("stage " + std::to_string(current_) + " decided: " + d.summary);
  decisions_.push_back(d);
  incumbent_ = next;
  ++current_;
  return Status::Ok();
}

Json Orchestrator::Impl::SpecFor(const Job& job, const std::map<std::string, Json>& hparams,
                                 const std::string& checkpoint_dir, bool evaluate_test,
                                 const Json& export_dir) const {
  return Json{
      {"version", kWorkerSpecVersion},
      {"trial",
       {{"study", job.is_export ? study_.name + "/export" : study_.StageStudyName(job.stage)},
        {"number", job.number},
        {"trial_id", job.trial_id}}},
      {"seed", study_.seed},
      {"device", "auto"},
      {"threads", study_.workers.threads_per_worker},
      {"checkpoint_dir", checkpoint_dir},
      {"export_dir", export_dir},
      {"evaluate_test", evaluate_test},
      {"data", study_.dataset},
      {"model", {{"family", study_.model_family}, {"preset", study_.model_preset}}},
      {"hparams", hparams}};
}

namespace {

// A COMPLETE or PRUNED trial that trained, or a RUNNING one training now, with its
// configuration (`hparams` user attr).
struct MeasuredTrial {
  size_t stage = 0;
  FrozenTrial trial;
  std::map<std::string, Json> hparams;
};

// The trained COMPLETE and PRUNED trials of stages 0..last: the current stage's and the
// earlier ones' (the incumbent among them), and the RUNNING ones (in any process: two
// workers must not train one configuration at once). Each worker trains with the study's
// seed, so the same configuration gives the same curve in any stage.
Result<std::vector<MeasuredTrial>> MeasuredTrials(
    const std::vector<std::unique_ptr<Study>>& studies, size_t last) {
  std::vector<MeasuredTrial> out;
  for (size_t i = 0; i <= last && i < studies.size(); ++i) {
    MGR_ASSIGN_OR_RETURN(
        auto trials,
        studies[i]->Trials({TrialState::kComplete, TrialState::kPruned, TrialState::kRunning}));
    for (FrozenTrial& t : trials) {
      auto h = t.user_attrs.find("hparams");
      if (h == t.user_attrs.end() || !h->second.is_object() || t.user_attrs.count(kReusedFromAttr))
        continue;
      auto hparams = h->second.get<std::map<std::string, Json>>();
      out.push_back({i, std::move(t), std::move(hparams)});
    }
  }
  // COMPLETE first: a configuration measured both ways is matched to the result it can copy.
  std::stable_partition(out.begin(), out.end(), [](const MeasuredTrial& m) {
    return m.trial.state == TrialState::kComplete;
  });
  return out;
}

// Completes `trial` with the result of `source` (same configuration) without training:
// its value, intermediate values and epochs, and kReusedFromAttr = `ref`.
Status CopyResult(Study& st, Trial& trial, const FrozenTrial& source, const std::string& ref) {
  for (const auto& [step, v] : source.intermediate_values) {
    MGR_RETURN_IF_ERROR(st.Report(trial.id(), step, v));
  }
  auto epochs = source.user_attrs.find(kEpochsAttr);
  if (epochs != source.user_attrs.end()) {
    MGR_RETURN_IF_ERROR(trial.SetUserAttr(kEpochsAttr, epochs->second));
  }
  MGR_RETURN_IF_ERROR(trial.SetUserAttr(kReusedFromAttr, ref));
  return st.Tell(trial.id(), TrialState::kComplete, source.values);
}

}  // namespace

Status Orchestrator::Impl::StartTrial(size_t slot, Trial trial) {
  Study& st = *studies_[current_];
  MGR_ASSIGN_OR_RETURN(FrozenTrial frozen, st.GetTrial(trial.id()));
  auto job = std::make_unique<Job>();
  job->slot = slot;
  job->stage = current_;
  job->trial_id = trial.id();
  job->number = trial.number();
  job->label = study_.stages[current_].name + " #" + std::to_string(job->number);
  std::map<std::string, Json> hparams;
  auto saved = frozen.user_attrs.find("hparams");
  if (saved != frozen.user_attrs.end() && saved->second.is_object()) {
    hparams = saved->second.get<std::map<std::string, Json>>();  // a retry: same configuration
  } else {
    // Never train a configuration already measured: the sampler's proposal is drawn again
    // while it equals one; an enqueued one (deliberate), or one left after every redraw,
    // copies the known result instead (docs/playbook.md).
    MGR_ASSIGN_OR_RETURN(std::vector<MeasuredTrial> measured, MeasuredTrials(studies_, current_));
    std::vector<std::map<std::string, Json>> configs;
    for (const MeasuredTrial& m : measured) configs.push_back(m.hparams);
    const bool enqueued = frozen.system_attrs.count(kFixedParamsKey) > 0;
    auto draw = playbook_.DrawTrialHparams(
        current_, incumbent_,
        [&](const std::string& name, const Distribution& d) { return trial.Propose(name, d); },
        configs, trial.number(), enqueued ? 0 : Playbook::kMaxRedraws);
    Status recorded = draw.status();
    if (recorded.ok()) {
      for (const auto& [name, dist] : draw->searched) {
        recorded = trial.SetParam(name, dist, draw->hparams.at(name));
        if (!recorded.ok()) break;
      }
    }
    if (!recorded.ok()) {
      MGR_RETURN_IF_ERROR(
          storage_->SetTrialUserAttr(trial.id(), "fail_reason", recorded.message()));
      MGR_RETURN_IF_ERROR(st.Tell(trial.id(), TrialState::kFail));
      display_.Log("trial " + job->label + " failed: " + recorded.message());
      return Status::Ok();
    }
    hparams = draw->hparams;
    MGR_RETURN_IF_ERROR(trial.SetUserAttr("hparams", hparams));
    MGR_RETURN_IF_ERROR(trial.SetUserAttr("stage", study_.stages[current_].name));
    if (draw->redraws > 0 && draw->duplicate_of < 0) {
      display_.Log(job->label + ": the sampler proposed a configuration already measured; drawn " +
                   std::to_string(draw->redraws) + " more time(s)");
    }
    // Only a COMPLETE result can be copied; a PRUNED or RUNNING one's configuration trains.
    if (draw->duplicate_of >= 0 &&
        measured[draw->duplicate_of].trial.state == TrialState::kComplete) {
      const MeasuredTrial& source = measured[draw->duplicate_of];
      const std::string ref = playbook_.ReuseRef(source.stage, source.trial.number);
      MGR_RETURN_IF_ERROR(CopyResult(st, trial, source.trial, ref));
      display_.Log(job->label + " has the configuration of " + ref + ": its " +
                   study_.objective_metric + " " + FormatValue(source.trial.value()) +
                   " is copied, not trained again");
      return Status::Ok();
    }
  }
  const fs::path dir = fs::path(study_.run_dir) / "trials" / study_.stages[current_].name /
                       std::to_string(ChainRootNumber(frozen));
  // The epochs recorded so far: a retry's user attrs carry those of the attempt it replaces.
  auto epochs = frozen.user_attrs.find(kEpochsAttr);
  job->epochs = epochs != frozen.user_attrs.end() && epochs->second.is_array() ? epochs->second
                                                                               : Json::array();
  if (IsRetry(frozen) && !job->epochs.empty() && !HasCheckpoint(dir / "checkpoint")) {
    // The attempt before ran where this process cannot see its checkpoint (another host
    // without a shared run_dir, or it was deleted): train from epoch 1, and say so.
    const std::string why = "no checkpoint at " + (dir / "checkpoint").string() +
                            " (the attempt before it reached epoch " +
                            std::to_string(job->epochs.size()) +
                            "; is run_dir on a filesystem shared by every host?): trained from "
                            "epoch 1";
    job->epochs = Json::array();
    MGR_RETURN_IF_ERROR(trial.SetUserAttr(kEpochsAttr, job->epochs));
    MGR_RETURN_IF_ERROR(trial.SetUserAttr(kRestartedAttr, why));
    display_.Log(job->label + ": " + why);
  } else if (IsRetry(frozen)) {
    // Carry the replaced trial's epochs over: the worker resumes after them.
    auto hist = frozen.system_attrs.find(kRetryHistoryKey);
    if (hist != frozen.system_attrs.end() && hist->second.is_array() && !hist->second.empty()) {
      auto prev = st.GetTrialByNumber(hist->second.back().get<int64_t>());
      if (prev.ok()) {
        for (const auto& [step, v] : prev->intermediate_values) {
          MGR_RETURN_IF_ERROR(st.Report(trial.id(), step, v));
        }
      }
    }
  }
  MGR_RETURN_IF_ERROR(st.Heartbeat(trial.id()));
  Json spec = SpecFor(*job, hparams, (dir / "checkpoint").string(), false, nullptr);
  Job* raw = job.get();
  jobs_[slot] = std::move(job);
  Status s = Launch(raw, spec, dir);
  if (!s.ok()) {
    (void)storage_->SetTrialUserAttr(raw->trial_id, "fail_reason", s.message());
    (void)st.Tell(raw->trial_id, TrialState::kFail);
    jobs_[slot].reset();
    return s;
  }
  std::string desc;
  for (const auto& n : playbook_.SearchedNames(current_, hparams)) {
    desc += (desc.empty() ? "" : " ") + n + "=" + hparams[n].dump();
  }
  // Which worker ran it: the report's timeline of trials per GPU.
  MGR_RETURN_IF_ERROR(storage_->SetTrialSystemAttr(raw->trial_id, "worker", slots_[slot].Label()));
  display_.Log("[" + slots_[slot].Label() + "] start " + raw->label +
               (IsRetry(frozen) ? " (resumed)" : "") + ": " + desc);
  return Status::Ok();
}

Status Orchestrator::Impl::Launch(Job* job, const Json& spec, const fs::path& dir) {
  MGR_RETURN_IF_ERROR(MakeDirectories(dir.string()));
  const fs::path spec_path = dir / ("spec-" + std::to_string(job->number) + ".json");
  MGR_RETURN_IF_ERROR(WriteJsonFile(spec_path, spec));
  std::vector<std::string> argv = options_.worker_command;
  argv.push_back(kWorkerCommand);
  argv.push_back(spec_path.string());
  WorkerProcess::Callbacks cb;
  cb.on_event = [this, job](const WorkerEvent& e) { OnEvent(job, e); };
  cb.on_garbage = [this, job](const std::string& line, const Status& why) {
    if (why.code() == StatusCode::kInvalidArgument) {
      display_.Log("warning: " + job->label + " wrote a non-event line: " + line.substr(0, 200));
    } else {  // an event we know with a field of the wrong type: ignored like garbage
      display_.Log("warning: " + job->label + " wrote a malformed event: " + why.message());
    }
  };
  cb.on_exit = [this, job](const WorkerExit& exit) { OnExit(job, exit); };
  std::map<std::string, std::string> env = {
      {"CUDA_VISIBLE_DEVICES", slots_[job->slot].CudaVisibleDevices()}};
  const std::string log = (dir / ("worker-" + std::to_string(job->number) + ".log")).string();
  MGR_ASSIGN_OR_RETURN(job->proc, WorkerProcess::Start(io_, argv, env, log, std::move(cb)));
  job->started = job->epoch_started = Clock::now();
  if (study_.trial_timeout_seconds > 0 && !job->is_export) {
    job->timeout = std::make_unique<asio::steady_timer>(io_, Ms(study_.trial_timeout_seconds));
    job->timeout->async_wait([this, job](const boost::system::error_code& e) {
      if (e || job->timed_out) return;
      job->timed_out = true;
      display_.Log("[" + slots_[job->slot].Label() + "] " + job->label + " timed out after " +
                   FormatDuration(study_.trial_timeout_seconds) + ": stopping it");
      StopJob(job);
    });
  }
  return Status::Ok();
}

void Orchestrator::Impl::StopJob(Job* job) {
  if (job->stop_sent) return;
  job->stop_sent = true;
  job->proc->Send(kCommandStop);
  job->kill = std::make_unique<asio::steady_timer>(io_, Ms(study_.kill_grace_seconds));
  job->kill->async_wait([this, job](const boost::system::error_code& e) {
    if (e) return;
    display_.Log("[" + slots_[job->slot].Label() + "] " + job->label + " did not stop within " +
                 FormatDuration(study_.kill_grace_seconds) + ": killing it");
    job->killed = true;
    job->proc->Kill();
  });
}

void Orchestrator::Impl::OnEvent(Job* job, const WorkerEvent& e) {
  switch (e.type) {
    case WorkerEventType::kStarted:
      job->max_epochs = e.Int(kFieldMaxEpochs).value_or(0);
      job->resumed_from = e.Int(kFieldResumedFromEpoch).value_or(0);
      job->epoch = job->resumed_from;
      return;
    case WorkerEventType::kProgress:
      job->batch = e.Int(kFieldBatch).value_or(0);
      job->batches = e.Int(kFieldBatches).value_or(0);
      return;
    case WorkerEventType::kEpoch:
      OnEpoch(job, e);
      return;
    case WorkerEventType::kFinal:
      job->final_event = e;
      return;
    case WorkerEventType::kStopped:
      job->stopped_event = e;
      return;
    case WorkerEventType::kError:
      job->error_event = e;
      return;
    case WorkerEventType::kOther:  // a later protocol version's event
      return;
  }
}

void Orchestrator::Impl::OnEpoch(Job* job, const WorkerEvent& e) {
  job->epoch = e.Int(kFieldEpoch).value_or(job->epoch + 1);
  job->max_epochs = e.Int(kFieldMaxEpochs).value_or(job->max_epochs);
  const double value = e.Number(study_.objective_metric.c_str());
  job->last_value = value;
  if (std::isnan(job->best_value) || Better(study_.direction, value, job->best_value)) {
    job->best_value = value;
  }
  auto now = Clock::now();
  job->seconds_per_epoch = std::chrono::duration<double>(now - job->epoch_started).count();
  job->epoch_started = now;
  job->batch = job->batches = 0;
  if (!display_.interactive()) {
    display_.Log("[" + slots_[job->slot].Label() + "] " + job->label + " epoch " +
                 std::to_string(job->epoch) + "/" + std::to_string(job->max_epochs) + " " +
                 study_.objective_metric + " " + FormatValue(value));
  }
  if (job->is_export) return;
  Status recorded = RecordEpoch(job, e);
  if (!recorded.ok()) display_.Log("warning: epochs of " + job->label + ": " + recorded.ToString());
  Study& st = *studies_[job->stage];
  Status s = st.Report(job->trial_id, job->epoch, value);
  if (!s.ok()) {
    display_.Log("warning: report of " + job->label + ": " + s.ToString());
    return;
  }
  if (!job->prune_sent && !job->stop_sent) {
    auto prune = st.ShouldPrune(job->trial_id);
    if (!prune.ok()) {
      display_.Log("warning: pruner on " + job->label + ": " + prune.status().ToString());
    } else if (*prune) {
      job->prune_sent = true;
      job->proc->Send(kCommandPrune);
    }
  }
}

// Appends the event's fields (all but `event`, plus `t`: seconds since the worker started)
// to the trial's `epochs` and rewrites the whole list, so that a reader always sees a valid
// one. A resumed trial starts from the list of the attempt it replaces (StartTrial seeds
// it: Study::Retry copies the user attrs); an epoch already in the list replaces its entry.
Status Orchestrator::Impl::RecordEpoch(Job* job, const WorkerEvent& e) {
  Json entry = e.fields;
  entry.erase(kEventKey);
  entry[kFieldEpoch] = job->epoch;
  entry["t"] = std::chrono::duration<double>(Clock::now() - job->started).count();
  auto epoch_of = [](const Json& j) {
    return j.is_object() && j.contains(kFieldEpoch) && j[kFieldEpoch].is_number_integer()
               ? j[kFieldEpoch].get<int64_t>()
               : int64_t{0};
  };
  Json& list = job->epochs;
  auto at = list.begin();
  while (at != list.end() && epoch_of(*at) < job->epoch) ++at;
  if (at != list.end() && epoch_of(*at) == job->epoch) {
    *at = std::move(entry);
  } else {
    list.insert(at, std::move(entry));
  }
  return storage_->SetTrialUserAttr(job->trial_id, kEpochsAttr, list);
}

Status Orchestrator::Impl::FinishTrial(Job* job, const WorkerExit& exit) {
  Study& st = *studies_[job->stage];
  const std::string where = "[" + slots_[job->slot].Label() + "] " + job->label;
  auto fail = [&](const std::string& reason, bool retry, int max_retries) -> Status {
    MGR_RETURN_IF_ERROR(storage_->SetTrialUserAttr(job->trial_id, "fail_reason", reason));
    MGR_RETURN_IF_ERROR(st.Tell(job->trial_id, TrialState::kFail));
    std::string line = where + " failed: " + OneLine(reason).substr(0, 300);
    if (retry) {
      MGR_ASSIGN_OR_RETURN(auto again, st.Retry(job->trial_id, max_retries));
      line += again ? "; retried as #" + std::to_string(*again) : "; no retries left";
    }
    display_.Log(line);
    return Status::Ok();
  };
  if (job->timed_out) {
    return fail("timeout: still running after " + FormatDuration(study_.trial_timeout_seconds) +
                    " (trial_timeout)",
                false, 0);
  }
  if (exit.exit_code == kExitComplete && job->final_event) {
    double value = NAN;
    const double best_val_loss = job->final_event->Number(kFieldBestValLoss);
    if (study_.objective_metric == kFieldValLoss && !std::isnan(best_val_loss)) {
      value = best_val_loss;
    } else {
      MGR_ASSIGN_OR_RETURN(FrozenTrial t, st.GetTrial(job->trial_id));
      for (const auto& [step, v] : t.intermediate_values) {
        if (!std::isfinite(v)) continue;
        if (std::isnan(value) || Better(study_.direction, v, value)) value = v;
      }
    }
    if (!std::isfinite(value))
      return fail("the worker finished without a finite " + study_.objective_metric, false, 0);
    MGR_RETURN_IF_ERROR(st.Tell(job->trial_id, TrialState::kComplete, {value}));
    display_.Log(where + " complete: " + study_.objective_metric + " " + FormatValue(value));
    return Status::Ok();
  }
  if (exit.exit_code == kExitStopped && job->prune_sent) {
    MGR_RETURN_IF_ERROR(st.Tell(job->trial_id, TrialState::kPruned));
    display_.Log(where + " pruned at epoch " + std::to_string(job->epoch) + " (" +
                 study_.objective_metric + " " + FormatValue(job->last_value) + ")");
    return Status::Ok();
  }
  if (exit.exit_code == kExitStopped || (stopping_ && (job->killed || exit.signal != 0))) {
    // Stopped at a checkpoint (our `stop`, or a signal from the terminal): resumable.
    return fail("interrupted at epoch " + std::to_string(job->epoch) +
                    "; the next run resumes it from its checkpoint",
                true, INT_MAX / 2);
  }
  std::string reason;
  std::string kind;
  if (job->error_event) {
    kind = job->error_event->String(kFieldKind).value_or("error");
    reason = kind + ": " + job->error_event->String(kFieldMessage).value_or("") + " (" +
             exit.Describe() + ")";
  } else {
    reason = "worker " + exit.Describe();
  }
  // The same configuration fails the same way again: a spec error on every attempt, and
  // running out of memory with the same batch size on the same device. Do not retry them.
  if (kind == kErrorKindOom) {
    reason +=
        "; not retried: the same batch_size runs out again (lower batch_size, or "
        "trials_per_gpu when the GPU is shared)";
  }
  return fail(reason, exit.exit_code != kExitBadSpec && kind != kErrorKindOom, study_.retries);
}

void Orchestrator::Impl::OnExit(Job* job, const WorkerExit& exit) {
  if (job->timeout) job->timeout->cancel();
  if (job->kill) job->kill->cancel();
  if (job->is_export) {
    FinishExport(job, exit);
  } else {
    Status s = FinishTrial(job, exit);
    if (!s.ok()) display_.Log("error: recording " + job->label + ": " + s.ToString());
  }
  RefreshReport(/*force=*/false);
  // Destroying the job (and its WorkerProcess) from inside its own callback is not safe.
  const size_t slot = job->slot;
  asio::post(io_, [this, slot] {
    jobs_[slot].reset();
    Schedule();
  });
}

// Rewrites <run_dir>/report.html (tuner/report.h) so that reloading the page shows the
// study so far. A write rereads the whole store, so unforced writes are spaced by ten times
// the last one's duration: at most a tenth of the orchestrator's time, whatever the size.
void Orchestrator::Impl::RefreshReport(bool force) {
  const Clock::time_point start = Clock::now();
  if (!force && start < report_due_) return;
  Result<std::string> written = WriteStudyReport(*storage_, study_);
  report_due_ = Clock::now() + 10 * (Clock::now() - start);
  if (!written.ok() && written.status().code() != StatusCode::kNotFound && !report_failed_) {
    report_failed_ = true;
    display_.Log("warning: report.html: " + written.status().ToString());
  }
}

void Orchestrator::Impl::OnSignal(int signo) {
  ++signals_seen_;
  if (signals_seen_ == 1) {
    stopping_ = true;
    display_.Log(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
                 ": no new trials; workers stop at their next checkpoint (again to kill them now)");
    for (auto& j : jobs_)
      if (j) StopJob(j.get());
  } else {
    display_.Log("killing the workers");
    for (auto& j : jobs_) {
      if (j) {
        j->killed = true;
        j->proc->Kill();
      }
    }
  }
  asio::post(io_, [this] { Schedule(); });
  signals_.async_wait([this](const boost::system::error_code& e, int s) {
    if (!e) OnSignal(s);
  });
}

namespace {

// Replaces the folder `dest` by a copy of `source`, through dest.tmp so that `dest` is
// never half copied.
Status ReplaceWithCopy(const fs::path& source, const fs::path& dest) {
  const fs::path tmp = dest.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (!ec) fs::copy(source, tmp, fs::copy_options::recursive, ec);
  if (!ec) fs::remove_all(dest, ec);
  if (!ec) fs::rename(tmp, dest, ec);
  if (ec) {
    return Status::IoError("cannot copy " + source.string() + " to " + dest.string() + ": " +
                           ec.message());
  }
  return Status::Ok();
}

// Why an export or final run did not complete: the worker's error message and its exit.
std::string FailureReason(const Job& job, const WorkerExit& exit) {
  if (!job.error_event) return exit.Describe();
  return job.error_event->String(kFieldMessage).value_or("") + " (" + exit.Describe() + ")";
}

fs::path FinalSeedDir(const StudyFile& study, int64_t seed) {
  return fs::path(study.run_dir) / "final" / ("seed-" + std::to_string(seed));
}

// {n, mean, std, min, max} of `v` (not empty); std is the sample standard deviation (n - 1
// in the denominator), null for a single value.
Json Spread(const std::vector<double>& v) {
  double sum = 0, lo = v[0], hi = v[0];
  for (double x : v) {
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = sum / static_cast<double>(v.size());
  Json std_dev = nullptr;
  if (v.size() > 1) {
    double squares = 0;
    for (double x : v) squares += (x - mean) * (x - mean);
    std_dev = std::sqrt(squares / static_cast<double>(v.size() - 1));
  }
  return Json{{"n", v.size()}, {"mean", mean}, {"std", std_dev}, {"min", lo}, {"max", hi}};
}

// A finite number field of `object`; +infinity otherwise (ranks last as a loss).
double LossOr(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number() || !std::isfinite(it->get<double>())) return INFINITY;
  return it->get<double>();
}

// The loss that kept a final seed's weights (its `monitor`; val_loss from workers that did
// not send one) and its value at the kept epoch: what ranks the seeds.
std::string MonitorOf(const Json& seed_result) {
  auto it = seed_result.find(kFieldMonitor);
  return it != seed_result.end() && it->is_string() ? it->get<std::string>() : kFieldValLoss;
}
const char* SelectionField(const Json& seed_result) {
  auto it = seed_result.find(kFieldBestMonitored);
  return it != seed_result.end() && it->is_number() ? kFieldBestMonitored : kFieldBestValLoss;
}
double SelectionLoss(const Json& seed_result) {
  return LossOr(seed_result, SelectionField(seed_result));
}

}  // namespace

// Claims the final step `step` ("export" or "seed-<s>") among the orchestrators
// sharing run_dir (flock on run_dir/final/<step>.lock; on a shared filesystem this spans
// hosts). nullopt while another process holds it: the caller waits and asks again.
Result<std::optional<FileLock>> Orchestrator::Impl::ClaimFinalStep(const std::string& step) {
  const fs::path dir = fs::path(study_.run_dir) / "final";
  MGR_RETURN_IF_ERROR(MakeDirectories(dir.string()));
  const std::string path = (dir / (step + ".lock")).string();
  Result<FileLock> lock = FileLock::TryLock(path);
  if (lock.ok()) {
    claims_waited_.erase(step);
    return std::optional<FileLock>(std::move(*lock));
  }
  if (lock.status().code() != StatusCode::kBusy) return lock.status();
  if (claims_waited_.insert(step).second) {
    display_.Log("final step " + step + " runs in another orchestrator (" + path +
                 " is locked); waiting for its result");
  }
  return std::optional<FileLock>();
}

Status Orchestrator::Impl::StartExport(size_t slot, FileLock claim) {
  // The incumbent's trial and the checkpoint folder of its chain.
  size_t stage = 0;
  for (size_t i = 0; i < study_.stages.size(); ++i) {
    if (study_.stages[i].name == incumbent_.stage) stage = i;
  }
  MGR_ASSIGN_OR_RETURN(FrozenTrial best,
                       studies_[stage]->GetTrialByNumber(incumbent_.trial_number));
  const fs::path source = fs::path(study_.run_dir) / "trials" / incumbent_.stage /
                          std::to_string(ChainRootNumber(best)) / "checkpoint";
  const fs::path dir = fs::path(study_.run_dir) / "final";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::exists(dir / "checkpoint") && fs::exists(source)) {
    // Start from the incumbent's own weights: the worker then only evaluates and exports
    // (or finishes the remaining epochs when the trial stopped early).
    MGR_RETURN_IF_ERROR(ReplaceWithCopy(source, dir / "checkpoint"));
  }
  const std::map<std::string, Json> hparams = IncumbentHparams();
  auto job = std::make_unique<Job>();
  job->slot = slot;
  job->is_export = true;
  job->claim = std::move(claim);
  job->number = incumbent_.trial_number;
  job->label = "export (" + incumbent_.stage + " #" + std::to_string(incumbent_.trial_number) + ")";
  Json spec = SpecFor(*job, hparams, (dir / "checkpoint").string(), true, (dir / "model").string());
  Job* raw = job.get();
  jobs_[slot] = std::move(job);
  display_.Log("[" + slots_[slot].Label() +
               "] evaluating the incumbent on the test split and exporting it");
  Status s = Launch(raw, spec, dir);
  if (!s.ok()) jobs_[slot].reset();
  return s;
}

void Orchestrator::Impl::FinishExport(Job* job, const WorkerExit& exit) {
  if (job->final_seed >= 0) {
    FinishFinalSeed(job, exit);
    return;
  }
  if (exit.exit_code == kExitComplete && job->final_event) {
    // result.json: the incumbent, then the final event's test metrics, model and loss.
    Json r = {{"incumbent", incumbent_.ToJson()}};
    for (const char* field : {kFieldTest, kFieldModelPath, kFieldBestValLoss}) {
      r[field] = job->final_event->Field(field);
    }
    AddPerClassF1(&r[kFieldTest]);
    final_result_ = r;
    Status s = WriteJsonFile(fs::path(study_.run_dir) / "final" / "result.json", r);
    if (s.ok()) s = studies_.back()->SetUserAttr("final_result", r);
    if (!s.ok()) display_.Log("warning: " + s.ToString());
  } else if (!stopping_) {
    const std::string reason = FailureReason(*job, exit);
    display_.Log("export failed: " + OneLine(reason) + "; run the command again to retry it");
    final_result_ = Json{{"error", reason}};
  }
}

// The final runs (study file `final`): each seed trains the incumbent's configuration from
// scratch in run_dir/final/seed-<s>/ on a free slot, several at once. A seed whose
// result.json an earlier run wrote for the same configuration (config.json) is done; an
// unfinished one resumes from its checkpoint. Once every seed has a result (or failed in
// this run), FinishFinal writes final/result.json.
Status Orchestrator::Impl::ScheduleFinal() {
  const FinalSpec& final = *study_.final_training;
  if (final_done_) return Status::Ok();
  if (!final_loaded_) {
    final_loaded_ = true;
    for (int64_t seed : final.seeds) {
      Json result = ReadFinalSeedResult(seed);
      if (!result.is_null()) final_seeds_[seed] = std::move(result);
    }
    display_.Log("final training of the incumbent (" + incumbent_.stage + " #" +
                 std::to_string(incumbent_.trial_number) +
                 "): " + std::to_string(final.seeds.size()) + " seeds, max_epochs " +
                 std::to_string(final.max_epochs) + ", patience " + std::to_string(final.patience) +
                 (final_seeds_.empty()
                      ? std::string()
                      : ", " + std::to_string(final_seeds_.size()) + " done by an earlier run"));
  }
  for (int64_t seed : final.seeds) {
    bool running = false;
    for (const auto& j : jobs_) running = running || (j && j->final_seed == seed);
    if (running || final_seeds_.count(seed)) continue;
    auto slot = FreeSlot();
    if (!slot) break;
    MGR_ASSIGN_OR_RETURN(std::optional<FileLock> claim,
                         ClaimFinalStep("seed-" + std::to_string(seed)));
    if (!claim) continue;  // another orchestrator trains it
    // Read after the claim: the process that held it may have just finished the seed.
    Json result = ReadFinalSeedResult(seed);
    if (!result.is_null()) {
      final_seeds_[seed] = std::move(result);
      continue;
    }
    MGR_RETURN_IF_ERROR(StartFinalSeed(*slot, seed, std::move(*claim)));
  }
  if (final_seeds_.size() < final.seeds.size()) return Status::Ok();
  final_done_ = true;
  // One orchestrator writes the summary and copies the model; one that comes second
  // (waiting at most for that copy) reads what the first wrote.
  MGR_ASSIGN_OR_RETURN(
      FileLock claim,
      FileLock::Lock((fs::path(study_.run_dir) / "final" / "result.lock").string()));
  Json written = ReadJsonObject(fs::path(study_.run_dir) / "final" / "result.json");
  Json seeds = Json::array();
  for (int64_t seed : final.seeds) seeds.push_back(final_seeds_.at(seed));
  if (!written.is_null() && written.value("incumbent", Json()) == incumbent_.ToJson() &&
      written.value("seeds", Json()) == seeds) {
    final_result_ = std::move(written);
    display_.Log("final training: every seed's summary is already in final/result.json");
    return Status::Ok();
  }
  FinishFinal();
  return Status::Ok();
}

// A seed's result.json when it was trained for the configuration it would train now;
// null otherwise.
Json Orchestrator::Impl::ReadFinalSeedResult(int64_t seed) const {
  const fs::path dir = FinalSeedDir(study_, seed);
  Json result = ReadJsonObject(dir / "result.json");
  if (result.is_null() || ReadJsonObject(dir / "config.json") != FinalRunConfig(seed)) return {};
  return result;
}

// What a final run trains: the incumbent's whole configuration with the final budget, and
// the seed. A seed's results count only for the configuration they were trained with.
std::map<std::string, Json> Orchestrator::Impl::IncumbentHparams() const {
  std::map<std::string, Json> hparams = study_.fixed;
  for (const auto& [k, v] : incumbent_.hparams) hparams[k] = v;
  return hparams;
}

Json Orchestrator::Impl::FinalRunConfig(int64_t seed) const {
  std::map<std::string, Json> hparams = IncumbentHparams();
  hparams["max_epochs"] = study_.final_training->max_epochs;
  hparams["patience"] = study_.final_training->patience;
  return Json{{"seed", seed},
              {"hparams", hparams},
              {"model", {{"family", study_.model_family}, {"preset", study_.model_preset}}},
              {"data", study_.dataset}};
}

Status Orchestrator::Impl::StartFinalSeed(size_t slot, int64_t seed, FileLock claim) {
  const fs::path dir = FinalSeedDir(study_, seed);
  const Json config = FinalRunConfig(seed);
  const Json previous = ReadJsonObject(dir / "config.json");
  if (!previous.is_null() && previous != config) {
    // The worker refuses a checkpoint of another configuration (the incumbent or `final`
    // changed since): this seed starts over.
    std::error_code ec;
    for (const char* stale : {"checkpoint", "model", "result.json"})
      fs::remove_all(dir / stale, ec);
    display_.Log("final seed " + std::to_string(seed) +
                 ": the configuration changed since the last run; it starts over");
  }
  MGR_RETURN_IF_ERROR(MakeDirectories(dir.string()));
  MGR_RETURN_IF_ERROR(WriteJsonFile(dir / "config.json", config));
  auto job = std::make_unique<Job>();
  job->slot = slot;
  job->is_export = true;
  job->claim = std::move(claim);
  job->final_seed = seed;
  job->number = incumbent_.trial_number;
  job->label = "final seed " + std::to_string(seed);
  Json spec = SpecFor(*job, config["hparams"].get<std::map<std::string, Json>>(),
                      (dir / "checkpoint").string(), true, (dir / "model").string());
  // A final run differs from the search's trials in its seed and budget only.
  spec["seed"] = seed;
  spec["trial"]["study"] = study_.name + "/final";
  const bool resuming = HasCheckpoint(dir / "checkpoint");
  Job* raw = job.get();
  jobs_[slot] = std::move(job);
  display_.Log("[" + slots_[slot].Label() + "] start " + raw->label +
               (resuming ? " (resumed from its checkpoint)" : ""));
  Status s = Launch(raw, spec, dir);
  if (!s.ok()) jobs_[slot].reset();
  return s;
}

void Orchestrator::Impl::FinishFinalSeed(Job* job, const WorkerExit& exit) {
  const int64_t seed = job->final_seed;
  const std::string where = "[" + slots_[job->slot].Label() + "] " + job->label;
  if (exit.exit_code == kExitComplete && job->final_event) {
    Json r = {{"seed", seed}};
    for (const char* field :
         {kFieldTest, kFieldModelPath, kFieldBestValLoss, kFieldMonitor, kFieldBestMonitored,
          kFieldBestEpoch, kFieldEpochsRun, kFieldStoppedEarly}) {
      r[field] = job->final_event->Field(field);
    }
    AddPerClassF1(&r[kFieldTest]);
    Status s = WriteJsonFile(FinalSeedDir(study_, seed) / "result.json", r);
    if (!s.ok()) display_.Log("warning: " + s.ToString());
    const Json& test = r[kFieldTest];
    auto metric = [&](const char* key) {
      return test.is_object() && test.contains(key) && test[key].is_number()
                 ? FormatValue(test[key].get<double>())
                 : std::string("-");
    };
    display_.Log(where + " complete: best " + MonitorOf(r) + " " + FormatValue(SelectionLoss(r)) +
                 ", test accuracy " + metric(kTestAccuracy) + ", macro F1 " + metric(kTestMacroF1));
    final_seeds_[seed] = std::move(r);
  } else if (!stopping_) {
    // Reported in result.json; the other seeds go on. A rerun retries it (no result.json).
    const std::string reason = FailureReason(*job, exit);
    display_.Log(where + " failed: " + OneLine(reason).substr(0, 300) +
                 "; the other seeds go on, run the command again to retry it");
    final_seeds_[seed] = Json{{"seed", seed}, {"error", reason}};
  }
}

// final/result.json from the seeds' results: every seed's (in the study file's order), the
// summary (mean, spread) over those that finished, and the best of them by the validation
// loss that kept their weights (`monitor`), not by test (the test split must not pick the
// model), exported as the final model:
// `test`, `model_path` and `best_val_loss` are that seed's, as in a result without `final`.
void Orchestrator::Impl::FinishFinal() {
  const FinalSpec& final = *study_.final_training;
  Json seeds = Json::array(), failed = Json::array();
  std::map<std::string, std::vector<double>> metrics;
  const Json* best = nullptr;
  for (int64_t seed : final.seeds) {
    const Json& r = final_seeds_.at(seed);
    seeds.push_back(r);
    if (r.contains("error")) {
      failed.push_back(seed);
      continue;
    }
    auto test = r.find(kFieldTest);
    for (const char* key : {kTestAccuracy, kTestMacroF1, kTestLoss}) {
      if (test == r.end() || !test->is_object()) break;
      auto v = test->find(key);
      if (v != test->end() && v->is_number()) metrics[key].push_back(v->get<double>());
    }
    if (best == nullptr || SelectionLoss(r) < SelectionLoss(*best)) best = &r;
  }
  if (best == nullptr) {
    display_.Log("final training failed for every seed; run the command again to retry it");
    final_result_ = Json{{"error", "every final run failed (seeds " + failed.dump() + ")"}};
    return;
  }
  Json summary = Json::object();
  for (const auto& [key, values] : metrics) summary[key] = Spread(values);
  // The best seed's model becomes run_dir/final/model, where a run without `final` puts it.
  Json model_path = best->value(kFieldModelPath, Json());
  if (model_path.is_string()) {
    const fs::path from = model_path.get<std::string>();
    const fs::path to = fs::path(study_.run_dir) / "final" / "model";
    Status copied = ReplaceWithCopy(from.parent_path(), to);
    if (copied.ok()) {
      model_path = (to / from.filename()).string();
    } else {
      display_.Log("warning: " + copied.ToString() + "; the final model stays at " + from.string());
    }
  }
  Json r = {{"incumbent", incumbent_.ToJson()},
            {"final", {{"max_epochs", final.max_epochs}, {"patience", final.patience}}},
            {"seeds", seeds},
            {"summary", summary},
            {"best_seed", best->at("seed")},
            {"selected_by", MonitorOf(*best)},
            {kFieldBestMonitored, best->value(SelectionField(*best), Json())},
            {kFieldTest, best->value(kFieldTest, Json())},
            {kFieldModelPath, model_path},
            {kFieldBestValLoss, best->value(kFieldBestValLoss, Json())}};
  if (!failed.empty()) r["failed_seeds"] = failed;
  final_result_ = r;
  Status s = WriteJsonFile(fs::path(study_.run_dir) / "final" / "result.json", r);
  if (s.ok()) s = studies_.back()->SetUserAttr("final_result", r);
  if (!s.ok()) display_.Log("warning: " + s.ToString());
}

void Orchestrator::Impl::UpdateStatus() {
  std::vector<std::string> lines;
  for (size_t i = 0; i < slots_.size(); ++i) {
    WorkerStatus w;
    w.slot = slots_[i].Label();
    if (const Job* j = jobs_[i].get()) {
      w.idle = false;
      w.trial = j->label;
      w.epoch = j->epoch;
      w.max_epochs = j->max_epochs;
      w.batch = j->batch;
      w.batches = j->batches;
      w.value = j->last_value;
      if (std::isfinite(j->seconds_per_epoch) && j->max_epochs > 0) {
        const double eta = j->seconds_per_epoch * (j->max_epochs - j->epoch) -
                           std::chrono::duration<double>(Clock::now() - j->epoch_started).count();
        w.eta_seconds = std::max(0.0, eta);
      }
      w.pruning = j->prune_sent;
      w.stopping = j->stop_sent;
    }
    lines.push_back(FormatWorkerStatus(w, study_.objective_metric));
  }
  if (current_ < studies_.size()) {
    auto trials = studies_[current_]->Trials();
    if (trials.ok()) {
      lines.push_back(FormatStageStatus(study_, current_,
                                        CountStageTrials(*trials, study_.direction), incumbent_));
    }
  }
  display_.SetStatus(lines);
}

}  // namespace mgr
