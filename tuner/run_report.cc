#include "tuner/run_report.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "storage/base/strings.h"
#include "trainer/protocol/worker_protocol.h"
#include "tuner/live_display.h"

namespace mgr {

double NumberOr(const Json& object, const char* key) {
  if (!object.is_object()) return NAN;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : NAN;
}

bool Better(StudyDirection direction, double a, double b) {
  return direction == StudyDirection::kMaximize ? a > b : a < b;
}

namespace {

std::string IncumbentValue(const Incumbent& incumbent) {
  return incumbent.value ? FormatValue(*incumbent.value) : "-";
}

void AddTestLines(const Json& test, std::vector<std::string>* lines) {
  auto track = test.find(kTestTrack);
  const bool both = track != test.end() && track->is_object();
  lines->push_back("test accuracy " + FormatValue(NumberOr(test, kTestAccuracy)) + ", macro F1 " +
                   FormatValue(NumberOr(test, kTestMacroF1)) + ", loss " +
                   FormatValue(NumberOr(test, kTestLoss)) +
                   (both ? " (one window from the middle of each track, as the paper)" : ""));
  if (both) {
    lines->push_back("track level (the mean logits of every window of a track): accuracy " +
                     FormatValue(NumberOr(*track, kTestAccuracy)) + ", macro F1 " +
                     FormatValue(NumberOr(*track, kTestMacroF1)) + ", loss " +
                     FormatValue(NumberOr(*track, kTestLoss)));
  }
  auto confusion = test.find(kTestConfusion);
  if (confusion == test.end() || !confusion->is_array()) return;
  std::vector<std::string> classes;
  auto names = test.find(kTestClasses);
  if (names != test.end() && names->is_array()) {
    for (const Json& n : *names) classes.push_back(n.is_string() ? n.get<std::string>() : n.dump());
  }
  lines->push_back("confusion matrix (rows: true class, columns: predicted):");
  for (size_t r = 0; r < confusion->size(); ++r) {
    std::ostringstream row;
    row.width(14);
    row << std::left << (r < classes.size() ? classes[r].substr(0, 13) : std::to_string(r));
    for (const auto& c : (*confusion)[r]) {
      row.width(6);
      row << std::right << c.dump();
    }
    lines->push_back("  " + row.str());
  }
}

// "0.76 +- 0.01 (0.75 .. 0.77)" from a summary entry {n, mean, std, min, max}.
std::string SpreadText(const Json& spread) {
  if (!spread.is_object()) return "-";
  return FormatValue(NumberOr(spread, "mean")) + " +- " + FormatValue(NumberOr(spread, "std")) +
         " (" + FormatValue(NumberOr(spread, "min")) + " .. " +
         FormatValue(NumberOr(spread, "max")) + ")";
}

// The final runs of a result.json with `summary` (study file `final`): the mean and spread
// of the test metrics over the seeds, the failed seeds, and which seed was kept.
void AddSeedLines(const Json& result, std::vector<std::string>* lines) {
  const Json empty = Json::object();
  auto part = [&](const char* key) -> const Json& {
    auto it = result.find(key);
    return it != result.end() ? *it : empty;
  };
  const Json& summary = part("summary");
  const Json& seeds = part("seeds");
  const Json& budget = part("final");
  auto entry = [&](const char* key) {
    auto it = summary.find(key);
    return it != summary.end() ? *it : Json();
  };
  size_t total = 0, done = 0;
  if (seeds.is_array()) {
    for (const Json& s : seeds) {
      ++total;
      done += s.is_object() && !s.contains("error");
    }
  }
  lines->push_back("final training: " + std::to_string(done) + " of " + std::to_string(total) +
                   " seeds finished (max_epochs " + FormatValue(NumberOr(budget, "max_epochs")) +
                   ", patience " + FormatValue(NumberOr(budget, "patience")) +
                   "); test metrics, mean +- std (min .. max) over the seeds:");
  lines->push_back("  accuracy " + SpreadText(entry(kTestAccuracy)) + ", macro F1 " +
                   SpreadText(entry(kTestMacroF1)) + ", loss " + SpreadText(entry(kTestLoss)));
  const Json& failed = part("failed_seeds");
  if (failed.is_array() && !failed.empty()) {
    lines->push_back("  failed seeds " + failed.dump() +
                     " (their errors are in result.json; run the command again to retry them)");
  }
  const SeedSelection by = ReadSeedSelection(result);
  lines->push_back("best seed " + part("best_seed").dump() + " by " + by.metric + " (" +
                   FormatValue(NumberOr(result, by.field)) +
                   ", chosen without the test split); its test metrics:");
}

// The spread of `values` as the orchestrator's result summary computes it.
MetricSpread SpreadOf(const std::vector<double>& values) {
  MetricSpread m;
  m.n = static_cast<int>(values.size());
  if (values.empty()) return m;
  double sum = 0;
  for (double v : values) sum += v;
  m.mean = sum / static_cast<double>(values.size());
  if (values.size() > 1) {
    double squares = 0;
    for (double v : values) squares += (v - m.mean) * (v - m.mean);
    m.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  return m;
}

}  // namespace

SeedSelection ReadSeedSelection(const Json& result) {
  if (!result.is_object() || !result.contains(kFieldBestMonitored)) {
    return {kFieldValLoss, kFieldBestValLoss};
  }
  auto by = result.find("selected_by");
  return {by != result.end() && by->is_string() ? by->get<std::string>() : kFieldValLoss,
          kFieldBestMonitored};
}

FinalTestMetrics ReadFinalTestMetrics(const Json& result) {
  // The test objects to average: every finished seed's, or the single export's.
  std::vector<const Json*> tests;
  auto seeds = result.is_object() ? result.find("seeds") : result.end();
  if (result.is_object() && seeds != result.end() && seeds->is_array()) {
    for (const Json& s : *seeds) {
      if (!s.is_object() || s.contains("error")) continue;
      auto t = s.find(kFieldTest);
      if (t != s.end() && t->is_object()) tests.push_back(&*t);
    }
  } else if (result.is_object()) {
    auto t = result.find(kFieldTest);
    if (t != result.end() && t->is_object()) tests.push_back(&*t);
  }
  auto spread = [&](const char* key, bool track) {
    std::vector<double> values;
    for (const Json* t : tests) {
      const Json* from = t;
      if (track) {
        auto tr = t->find(kTestTrack);
        if (tr == t->end() || !tr->is_object()) continue;
        from = &*tr;
      }
      const double v = NumberOr(*from, key);
      if (!std::isnan(v)) values.push_back(v);
    }
    return SpreadOf(values);
  };
  FinalTestMetrics m;
  m.accuracy = spread(kTestAccuracy, false);
  m.macro_f1 = spread(kTestMacroF1, false);
  m.loss = spread(kTestLoss, false);
  m.track_accuracy = spread(kTestAccuracy, true);
  m.track_macro_f1 = spread(kTestMacroF1, true);
  m.track_loss = spread(kTestLoss, true);
  return m;
}

Json ReadFinalResult(const StudyFile& study) {
  std::ifstream in(std::filesystem::path(study.run_dir) / "final" / "result.json");
  Json j = in ? Json::parse(in, nullptr, false) : Json();
  return j.is_object() ? j : Json();
}

std::string FormatWorkerStatus(const WorkerStatus& w, const std::string& metric) {
  std::ostringstream l;
  l << w.slot << "  ";
  if (w.idle) {
    l << "idle";
    return l.str();
  }
  l << w.trial << "  epoch " << w.epoch << "/" << w.max_epochs;
  if (w.batches > 0) l << " (" << w.batch << "/" << w.batches << ")";
  l << "  " << metric << " " << FormatValue(w.value);
  l << "  ETA " << FormatDuration(w.eta_seconds);
  if (w.pruning) l << "  (pruning)";
  if (w.stopping) l << "  (stopping)";
  return l.str();
}

StageProgress CountStageTrials(const std::vector<FrozenTrial>& trials, StudyDirection direction) {
  StageProgress p;
  for (const auto& t : trials) {
    if (t.state == TrialState::kComplete) {
      ++p.complete;
      const double v = t.value();
      if (std::isnan(p.best) || Better(direction, v, p.best)) p.best = v;
    }
    p.pruned += t.state == TrialState::kPruned;
    p.failed += t.state == TrialState::kFail;
    p.running += t.state == TrialState::kRunning;
  }
  return p;
}

std::string FormatStageStatus(const StudyFile& study, size_t stage, const StageProgress& p,
                              const Incumbent& incumbent) {
  std::ostringstream s;
  s << "stage " << stage + 1 << "/" << study.stages.size() << " " << study.stages[stage].name
    << ": " << p.complete + p.pruned << "/" << study.stages[stage].trials << " done (" << p.complete
    << " complete, " << p.pruned << " pruned, " << p.failed << " failed, " << p.running
    << " running), best " << FormatValue(p.best) << "; incumbent " << IncumbentValue(incumbent);
  return s.str();
}

std::vector<std::string> FinalReportLines(const StudyFile& study,
                                          const std::vector<StageDecision>& decisions,
                                          const Incumbent& incumbent, const Json& final_result) {
  std::vector<std::string> lines;
  lines.push_back("");
  lines.push_back("== " + study.name + ": playbook finished ==");
  for (size_t i = 0; i < decisions.size(); ++i) {
    lines.push_back("  stage " + std::to_string(i) + " " +
                    (decisions[i].accepted ? "[kept]     " : "[rejected] ") + decisions[i].summary);
  }
  std::string config;
  std::map<std::string, Json> all = study.fixed;
  for (const auto& [k, v] : incumbent.hparams) all[k] = v;
  for (const auto& [k, v] : all) config += (config.empty() ? "" : ", ") + k + "=" + v.dump();
  lines.push_back("incumbent (" + incumbent.stage + " #" + std::to_string(incumbent.trial_number) +
                  ", validation " + study.objective_metric + " " + IncumbentValue(incumbent) +
                  "): " + config);
  if (!final_result.is_object()) return lines;
  if (final_result.contains("summary")) AddSeedLines(final_result, &lines);
  auto test = final_result.find(kFieldTest);
  if (test != final_result.end() && test->is_object()) AddTestLines(*test, &lines);
  auto model = final_result.find(kFieldModelPath);
  if (model != final_result.end() && model->is_string()) {
    lines.push_back("exported model: " + model->get<std::string>());
  }
  return lines;
}

}  // namespace mgr
