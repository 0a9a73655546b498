#include "tuner/run_command.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "studies/encoders.h"
#include "studies/playbook.h"
#include "tuner/commands.h"
#include "tuner/gpu_discovery.h"
#include "tuner/live_display.h"
#include "tuner/orchestrator.h"
#include "tuner/run_report.h"
#include "tuner/trainer_forwarding.h"

namespace mgr {

Status PrintStudyStatus(const StudyFile& study, Storage& storage, std::ostream& out) {
  out << "study " << study.name << " (" << study.path << "), storage "
      << DescribeStorageUrl(study.storage_url) << "\n";
  Incumbent incumbent;
  for (size_t i = 0; i < study.stages.size(); ++i) {
    const StageSpec& stage = study.stages[i];
    out << "stage " << i << " " << stage.name << " [" << study.StageStudyName(i) << "]: ";
    auto id = storage.GetStudyId(study.StageStudyName(i));
    if (!id.ok()) {
      if (id.status().code() != StatusCode::kNotFound) return id.status();
      out << "not started (budget " << stage.trials << ")\n";
      continue;
    }
    MGR_ASSIGN_OR_RETURN(auto trials, storage.GetAllTrials(*id));
    std::map<TrialState, int> count;
    double best = NAN;
    int64_t best_number = -1;
    for (const auto& t : trials) {
      ++count[t.state];
      if (t.state == TrialState::kComplete) {
        double v = t.value();
        if (std::isnan(best) || Better(study.direction, v, best)) {
          best = v;
          best_number = t.number;
        }
      }
    }
    out << count[TrialState::kComplete] + count[TrialState::kPruned] << "/" << stage.trials
        << " done (" << count[TrialState::kComplete] << " complete, " << count[TrialState::kPruned]
        << " pruned), " << count[TrialState::kRunning] << " running, "
        << count[TrialState::kWaiting] << " waiting, " << count[TrialState::kFail]
        << " failed; best " << FormatValue(best);
    if (best_number >= 0) out << " (#" << best_number << ")";
    out << "\n";
    MGR_ASSIGN_OR_RETURN(auto attrs, storage.GetStudyUserAttrs(*id));
    if (attrs.count("decision")) {
      auto d = StageDecision::FromJson(attrs["decision"]);
      if (d.ok())
        out << "  decision: " << (d->accepted ? "kept" : "rejected") << ": " << d->summary << "\n";
    } else {
      out << "  decision: pending\n";
    }
    if (attrs.count("incumbent")) {
      auto inc = Incumbent::FromJson(attrs["incumbent"]);
      if (inc.ok()) incumbent = *inc;
    }
  }
  out << "incumbent: ";
  if (incumbent.trial_number < 0) {
    out << "none yet\n";
  } else {
    out << incumbent.stage << " #" << incumbent.trial_number << ", " << study.objective_metric
        << " " << (incumbent.value ? FormatValue(*incumbent.value) : "-") << ":";
    for (const auto& [k, v] : incumbent.hparams) out << " " << k << "=" << v.dump();
    out << "\n";
  }
  return Status::Ok();
}

namespace {

struct RunArgs {
  std::string study_path;
  RunOptions options;
};

int RunStudy(const RunArgs& args) {
  auto study = LoadStudyFile(args.study_path);
  if (!study.ok()) {
    std::cerr << study.status().message() << "\n";
    return 2;
  }
  return RunLoadedStudy(std::move(*study), args.options);
}

// A MixNet building on tuned nets: their encoders join `fixed` (studies/encoders.h); what
// was imported is printed and kept on the first stage's study (report, dashboard).
Status ImportEncoders(StudyFile* study, Storage& storage) {
  MGR_ASSIGN_OR_RETURN(ImportedEncoders imported, ResolveEncoders(*study));
  for (const auto& [name, value] : imported.hparams) study->fixed[name] = value;
  for (const auto& [branch, record] : imported.record.items()) {
    std::cout << "encoders." << branch << ": from " << record["source"].get<std::string>() << ": "
              << record["values"].dump() << (record.contains("weights") ? ", weights " : "")
              << record.value("weights", "") << "\n";
  }
  Result<int64_t> id = storage.GetStudyId(study->StageStudyName(0));
  if (!id.ok()) id = storage.CreateStudy(study->StageStudyName(0), {study->direction});
  if (!id.ok()) return id.status().WithContext(DescribeStorageUrl(study->storage_url));
  return storage.SetStudyUserAttr(*id, "imported", imported.record)
      .WithContext(DescribeStorageUrl(study->storage_url));
}

}  // namespace

int RunLoadedStudy(StudyFile study, const RunOptions& args) {
  auto storage = OpenStorage(study.storage_url);
  if (!storage.ok()) {
    std::cerr << "error: " << DescribeStorageUrl(study.storage_url) << ": "
              << storage.status().ToString() << "\n";
    return 1;
  }
  if (study.encoders) {
    Status s = ImportEncoders(&study, **storage);
    if (!s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 1;
    }
  }
  OrchestratorOptions options;
  std::string worker = args.worker;
  if (worker.empty() && std::getenv("MGR_WORKER") != nullptr) worker = std::getenv("MGR_WORKER");
  if (worker.empty()) {
    auto trainer = FindTrainer();
    if (!trainer.ok()) {
      std::cerr << "error: " << trainer.status().message() << "\n";
      return 1;
    }
    worker = *trainer;
  }
  options.worker_command = {worker};
  std::unique_ptr<GpuDiscovery> fixed;
  if (args.gpus >= 0) {
    std::vector<std::string> ids;
    for (int i = 0; i < args.gpus; ++i) ids.push_back(std::to_string(i));
    fixed = std::make_unique<FixedGpuDiscovery>(ids);
    options.discovery = fixed.get();
  }
  options.prepare = !args.no_prepare;
  options.export_model = !args.no_export;
  options.poll_seconds = args.poll;
  options.interactive = !args.plain && isatty(STDOUT_FILENO);
  Orchestrator orchestrator(std::move(study), std::shared_ptr<Storage>(std::move(*storage)),
                            options);
  auto report = orchestrator.Run();
  if (!report.ok()) {
    std::cerr << "error: " << report.status().ToString() << "\n";
    return 1;
  }
  return report->interrupted ? 130 : 0;
}

void AddRunOptions(CLI::App* cmd, RunOptions* options) {
  cmd->add_option(
      "--worker", options->worker,
      "worker executable (default: $MGR_WORKER, else the mgr-train next to mgr-tune or in PATH)");
  cmd->add_option("--gpus", options->gpus,
                  "pretend the host has N GPUs (0: CPU workers); default: discover");
  cmd->add_flag("--no-prepare", options->no_prepare, "do not run `mgr-train prepare` first");
  cmd->add_flag("--no-export", options->no_export, "skip the final test evaluation and export");
  cmd->add_option("--poll", options->poll, "seconds between polls of the store")
      ->capture_default_str();
  cmd->add_flag("--plain", options->plain, "plain log lines even on a terminal");
}

void RegisterRunCommand(CLI::App& app, CommandRunner* run) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run",
                                     "Run (or resume) a study: the playbook's stages, one trial "
                                     "per worker (also: mgr-tune study.json)");
  cmd->add_option("study", args->study_path, "the study file (docs/study-file.md)")->required();
  AddRunOptions(cmd, &args->options);
  cmd->callback([args, run] { *run = [args] { return RunStudy(*args); }; });
}

void RegisterStatusCommand(CLI::App& app, CommandRunner* run) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Where a study's playbook stands (stages, decisions, incumbent)");
  cmd->add_option("study", *path, "the study file")->required();
  cmd->callback([path, run] {
    *run = [path] {
      auto study = LoadStudyFile(*path);
      if (!study.ok()) {
        std::cerr << study.status().message() << "\n";
        return 2;
      }
      // Status only reads: no database yet means the study has not started.
      OpenOptions read_only;
      read_only.read_only = true;
      auto storage = OpenStorage(study->storage_url, read_only);
      if (!storage.ok() && storage.status().code() == StatusCode::kNotFound) {
        std::cout << "study " << study->name << ": not started (no database at "
                  << DescribeStorageUrl(study->storage_url) << ")\n";
        return 0;
      }
      if (!storage.ok()) {
        std::cerr << "error: " << DescribeStorageUrl(study->storage_url) << ": "
                  << storage.status().ToString() << "\n";
        return 1;
      }
      Status s = PrintStudyStatus(*study, **storage, std::cout);
      if (!s.ok()) {
        std::cerr << "error: " << s.ToString() << "\n";
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace mgr
