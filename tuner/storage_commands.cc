#include "tuner/storage_commands.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>

#include "samplers/pruner.h"
#include "samplers/sampler.h"
#include "storage/copy_study.h"
#include "storage/storage.h"
#include "studies/study.h"
#include "tuner/output_format.h"

namespace mgr {
namespace {

// Options every storage command shares.
struct Common {
  std::string storage;
  std::string format = "table";
  bool flatten = false;
  std::string study_name;
  bool epochs = false;  // trials listings: one row per epoch (the `epochs` user attr)
};

struct Io {
  std::ostream* out;
  std::ostream* err;
};

// A failure the user can act on: one line, exit code 1.
int Fail(const Io& io, const std::string& command, const Status& status) {
  *io.err << "mgr-tune " << command << ": error: " << status.message() << "\n";
  return 1;
}

// Opens the --storage store. Read-only commands pass may_create = false: they refuse to
// create a database that is not there (NotFound naming the file).
Result<std::shared_ptr<Storage>> Open(const std::string& url, bool may_create) {
  if (url.empty()) {
    return Status::InvalidArgument(
        "no storage: pass --storage sqlite:///path/to/study.db (or set OPTUNA_STORAGE)");
  }
  OpenOptions options;
  options.create_if_missing = may_create;
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<Storage> s, OpenStorage(url, options));
  return std::shared_ptr<Storage>(std::move(s));
}

Result<int64_t> FindStudy(Storage& storage, const std::string& name, const std::string& url) {
  if (name.empty()) return Status::InvalidArgument("missing --study-name");
  Result<int64_t> id = storage.GetStudyId(name);
  if (!id.ok() && id.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("no study named '" + name + "' in " + url +
                            " (list them with: mgr-tune studies --storage " + url + ")");
  }
  return id;
}

// A study object for commands that need the study API but never sample.
Result<std::unique_ptr<Study>> LoadForInspection(std::shared_ptr<Storage> storage,
                                                 const std::string& name) {
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<Sampler> sampler, MakeSampler(Json{{"type", "random"}}));
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<Pruner> pruner, MakePruner(Json{{"type", "nop"}}));
  return Study::Load(std::move(storage), name, std::move(sampler), std::move(pruner));
}

uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string NewStudyName() {
  // Optuna's default: "no-name-" + uuid4.
  std::mt19937_64 rng(RandomSeed());
  uint64_t a = rng(), b = rng();
  a = (a & ~0xF000ULL) | 0x4000ULL;                         // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  char buf[64];
  std::snprintf(
      buf, sizeof(buf), "no-name-%08llx-%04llx-%04llx-%04llx-%012llx",
      static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xFFFF),
      static_cast<unsigned long long>(a & 0xFFFF), static_cast<unsigned long long>(b >> 48),
      static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

void AddCommon(CLI::App* sub, Common* c, bool format, bool study,
               const std::string& default_format) {
  sub->add_option("--storage", c->storage,
                  "Storage URL: sqlite:///study.db, postgresql://user@host:port/db")
      ->envname("OPTUNA_STORAGE");
  if (format) {
    c->format = default_format;
    sub->add_option("-f,--format", c->format, "Output format: table, json, csv or yaml")
        ->check(CLI::IsMember({"table", "json", "csv", "yaml"}))
        ->capture_default_str();
    sub->add_flag("--flatten", c->flatten,
                  "Flatten nested columns (params_lr instead of params: {lr: ...})");
  }
  if (study) sub->add_option("--study-name", c->study_name, "The study's name")->required();
}

// --- Trials listings ---------------------------------------------------------------------------

enum class Which { kAll, kBest, kPareto };

// --epochs: one record per entry of each trial's `epochs` user attr (docs/storage.md):
// number, state, epoch, then the metrics any entry has, the worker's usual ones first.
void WriteEpochs(const std::vector<const FrozenTrial*>& trials, OutputFormat format,
                 std::ostream* out) {
  static const char* const kFirst[] = {
      "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1",
      "lr",         "seconds",        "t"};
  auto entries = [](const FrozenTrial& t) {
    auto it = t.user_attrs.find("epochs");
    return it != t.user_attrs.end() && it->second.is_array() ? it->second : Json::array();
  };
  std::set<std::string> keys;
  for (const FrozenTrial* t : trials) {
    for (const Json& e : entries(*t)) {
      if (!e.is_object()) continue;
      for (const auto& [k, v] : e.items()) keys.insert(k);
    }
  }
  keys.erase("epoch");
  std::vector<std::string> columns;
  for (const char* k : kFirst) {
    if (keys.erase(k)) columns.push_back(k);
  }
  columns.insert(columns.end(), keys.begin(), keys.end());
  std::vector<ColumnGroup> groups;
  for (const std::string& k : {std::string("number"), std::string("state"), std::string("epoch")})
    groups.emplace_back().name = k;
  for (const std::string& k : columns) groups.emplace_back().name = k;
  // Flat: a metric an epoch lacks is left out (nested output would print it as {}).
  RecordWriter writer(out, format, /*flatten=*/true, groups);
  for (const FrozenTrial* t : trials) {
    for (const Json& e : entries(*t)) {
      if (!e.is_object()) continue;
      Record r = {Json(t->number), Json(TrialStateName(t->state)),
                  e.contains("epoch") ? std::optional<Json>(e["epoch"]) : std::nullopt};
      for (const std::string& k : columns) {
        r.push_back(e.contains(k) ? std::optional<Json>(e[k]) : std::nullopt);
      }
      writer.Add(r);
    }
  }
  writer.Finish();
}

int RunTrials(const Common& c, Which which, const Io& io, const char* command) {
  auto fail = [&](const Status& s) { return Fail(io, command, s); };
  Result<OutputFormat> format = ParseOutputFormat(c.format);
  if (!format.ok()) return fail(format.status());
  Result<std::shared_ptr<Storage>> storage = Open(c.storage, /*may_create=*/false);
  if (!storage.ok()) return fail(storage.status());
  Result<int64_t> id = FindStudy(**storage, c.study_name, c.storage);
  if (!id.ok()) return fail(id.status());
  Result<std::unique_ptr<Study>> study = LoadForInspection(*storage, c.study_name);
  if (!study.ok()) return fail(study.status());
  Result<std::vector<FrozenTrial>> trials = (*study)->Trials();
  if (!trials.ok()) return fail(trials.status());

  // The best trials come from the trials just read: the study is read once.
  std::vector<int64_t> keep;  // numbers to print, for best-trial(s)
  if (which == Which::kBest) {
    Result<FrozenTrial> best = (*study)->BestTrial(*trials);
    if (!best.ok()) return fail(best.status());
    keep.push_back(best->number);
  } else if (which == Which::kPareto) {
    Result<std::vector<FrozenTrial>> front = (*study)->BestTrials(*trials);
    if (!front.ok()) return fail(front.status());
    for (const FrozenTrial& t : *front) keep.push_back(t.number);
  }

  if (c.epochs) {
    std::vector<const FrozenTrial*> chosen;
    size_t k = 0;
    for (const FrozenTrial& t : *trials) {
      if (which != Which::kAll) {
        if (k >= keep.size() || keep[k] != t.number) continue;
        ++k;
      }
      chosen.push_back(&t);
    }
    WriteEpochs(chosen, *format, io.out);
    return 0;
  }

  TrialListingOptions options;
  options.n_objectives = (*study)->directions().size();
  // Columns come from all trials, as Optuna builds them before choosing the records.
  std::vector<ColumnGroup> groups = TrialColumnGroups(*trials, options);
  RecordWriter writer(io.out, *format, c.flatten, groups, which == Which::kBest);
  size_t k = 0;
  for (const FrozenTrial& t : *trials) {
    if (which != Which::kAll) {
      if (k >= keep.size() || keep[k] != t.number) continue;
      ++k;
    }
    writer.Add(TrialRecord(t, groups, options));
  }
  writer.Finish();
  return 0;
}

int RunStudies(const Common& c, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "studies", s); };
  Result<OutputFormat> format = ParseOutputFormat(c.format);
  if (!format.ok()) return fail(format.status());
  Result<std::shared_ptr<Storage>> storage = Open(c.storage, false);
  if (!storage.ok()) return fail(storage.status());
  Result<std::vector<StudySummary>> studies = (*storage)->GetAllStudies();
  if (!studies.ok()) return fail(studies.status());

  using Kind = ColumnGroup::Kind;
  size_t max_dirs = 0;
  bool any_user_attrs = false;
  for (const StudySummary& s : *studies) {
    max_dirs = std::max(max_dirs, s.directions.size());
    any_user_attrs |= !s.user_attrs.empty();
  }
  std::vector<ColumnGroup> groups = {{"name", Kind::kScalar, {}, 0, false},
                                     {"direction", Kind::kList, {}, max_dirs, true},
                                     {"n_trials", Kind::kScalar, {}, 0, false},
                                     {"datetime_start", Kind::kScalar, {}, 0, false}};
  if (any_user_attrs) groups.push_back({"user_attrs", Kind::kScalar, {}, 0, false});
  RecordWriter writer(io.out, *format, c.flatten, groups);
  for (const StudySummary& s : *studies) {
    Record r;
    r.emplace_back(Json(s.name));
    Json dirs = Json::array();
    for (StudyDirection d : s.directions) dirs.push_back(StudyDirectionName(d));
    r.emplace_back(std::move(dirs));
    r.emplace_back(Json(s.n_trials));
    r.emplace_back(s.datetime_start ? Json(CliDatetime(*s.datetime_start)) : Json());
    if (any_user_attrs) {
      Json attrs = Json::object();
      for (const auto& [k, v] : s.user_attrs) attrs[k] = v;
      r.emplace_back(std::move(attrs));
    }
    writer.Add(r);
  }
  writer.Finish();
  return 0;
}

// --- create-study / delete-study -------------------------------------------------------------

struct CreateOptions {
  Common common;
  std::string direction;
  std::vector<std::string> directions;
  bool skip_if_exists = false;
};

int RunCreateStudy(const CreateOptions& o, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "create-study", s); };
  Result<std::vector<StudyDirection>> dirs = ParseDirectionArgs(o.direction, o.directions);
  if (!dirs.ok()) return fail(dirs.status());
  if (dirs->empty()) dirs = std::vector<StudyDirection>{StudyDirection::kMinimize};
  std::string name = o.common.study_name.empty() ? NewStudyName() : o.common.study_name;
  Result<std::shared_ptr<Storage>> storage = Open(o.common.storage, true);
  if (!storage.ok()) return fail(storage.status());
  Result<int64_t> id = (*storage)->CreateStudy(name, *dirs);
  if (!id.ok()) {
    if (id.status().code() != StatusCode::kAlreadyExists || !o.skip_if_exists) {
      if (id.status().code() == StatusCode::kAlreadyExists) {
        return fail(Status::AlreadyExists("a study named '" + name + "' already exists in " +
                                          o.common.storage +
                                          " (add --skip-if-exists to reuse it)"));
      }
      return fail(id.status());
    }
  }
  *io.out << name << "\n";
  io.out->flush();
  return 0;
}

int RunDeleteStudy(const Common& c, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "delete-study", s); };
  Result<std::shared_ptr<Storage>> storage = Open(c.storage, false);
  if (!storage.ok()) return fail(storage.status());
  Result<int64_t> id = FindStudy(**storage, c.study_name, c.storage);
  if (!id.ok()) return fail(id.status());
  Status s = (*storage)->DeleteStudy(*id);
  if (!s.ok()) return fail(s);
  return 0;
}

// --- copy-study --------------------------------------------------------------------------------

struct CopyOptions {
  std::string from_storage, to_storage, study_name, to_study_name;
};

// Copies every study StudiesToCopy names (a study, or a playbook study's stages), renaming
// the prefix to --to-study-name. All or nothing: every target name is checked free first,
// and a failure deletes the studies this run already copied.
int RunCopyStudy(const CopyOptions& o, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "copy-study", s); };
  if (o.from_storage == o.to_storage && o.to_study_name.empty()) {
    return fail(Status::InvalidArgument(
        "--from-storage and --to-storage are the same store: give --to-study-name"));
  }
  Result<std::shared_ptr<Storage>> from = Open(o.from_storage, false);
  if (!from.ok()) return fail(from.status());
  Result<std::shared_ptr<Storage>> to = Open(o.to_storage, true);
  if (!to.ok()) return fail(to.status());
  Result<std::vector<std::string>> names = StudiesToCopy(**from, o.study_name);
  if (!names.ok()) return fail(names.status().WithContext(o.from_storage));
  const std::string& prefix = o.to_study_name.empty() ? o.study_name : o.to_study_name;
  std::vector<std::string> targets;
  for (const std::string& name : *names) {
    targets.push_back(prefix + name.substr(o.study_name.size()));
    if ((*to)->GetStudyId(targets.back()).ok()) {
      return fail(Status::AlreadyExists("a study named '" + targets.back() +
                                        "' already exists in " + o.to_storage +
                                        "; nothing was copied (delete it or pass "
                                        "another --to-study-name)"));
    }
  }
  std::vector<std::string> done;
  for (size_t i = 0; i < names->size(); ++i) {
    Result<int64_t> copied = CopyStudy(**from, (*names)[i], **to, targets[i]);
    if (!copied.ok()) {
      for (const std::string& name : done) {
        Result<int64_t> id = (*to)->GetStudyId(name);
        if (id.ok()) (void)(*to)->DeleteStudy(*id);
      }
      return fail(copied.status());
    }
    done.push_back(targets[i]);
    *io.out << "copied " << (*names)[i] << " -> " << targets[i] << " (" << *copied
            << (*copied == 1 ? " trial)\n" : " trials)\n");
  }
  io.out->flush();
  return 0;
}

// --- ask / tell --------------------------------------------------------------------------------

struct AskOptions {
  Common common;
  std::string direction;
  std::vector<std::string> directions;
  std::string sampler;
  std::string sampler_kwargs;
  std::string search_space;
};

int RunAsk(const AskOptions& o, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "ask", s); };
  // Everything the user typed is checked before the storage is touched.
  Result<OutputFormat> format = ParseOutputFormat(o.common.format);
  if (!format.ok()) return fail(format.status());
  Result<std::vector<StudyDirection>> dirs = ParseDirectionArgs(o.direction, o.directions);
  if (!dirs.ok()) return fail(dirs.status());
  std::vector<std::pair<std::string, Distribution>> space;
  if (!o.search_space.empty()) {
    auto parsed = ParseSearchSpace(o.search_space);
    if (!parsed.ok()) return fail(parsed.status());
    space = std::move(*parsed);
  }
  Result<Json> config = SamplerConfigFromArgs(o.sampler, o.sampler_kwargs, RandomSeed());
  if (!config.ok()) return fail(config.status());
  Result<std::unique_ptr<Sampler>> sampler = MakeSampler(*config);
  if (!sampler.ok()) return fail(sampler.status());
  Result<std::unique_ptr<Pruner>> pruner = MakePruner(Json{{"type", "nop"}});
  if (!pruner.ok()) return fail(pruner.status());

  Result<std::shared_ptr<Storage>> storage = Open(o.common.storage, true);
  if (!storage.ok()) return fail(storage.status());
  if (o.common.study_name.empty()) return fail(Status::InvalidArgument("missing --study-name"));
  Result<std::unique_ptr<Study>> study = Status::Internal("unset");
  Result<int64_t> existing = (*storage)->GetStudyId(o.common.study_name);
  if (existing.ok() || dirs->empty()) {
    if (!existing.ok()) {
      Result<int64_t> id = FindStudy(**storage, o.common.study_name, o.common.storage);
      return fail(id.ok() ? existing.status() : id.status());
    }
    study = Study::Load(*storage, o.common.study_name, std::move(*sampler), std::move(*pruner));
    if (study.ok() && !dirs->empty() && (*study)->directions() != *dirs) {
      return fail(Status::InvalidArgument("study '" + o.common.study_name +
                                          "' exists with other directions; cannot overwrite them"));
    }
  } else {
    // Optuna's deprecated form: --direction(s) creates the study when it is missing.
    study = Study::CreateOrLoad(*storage, o.common.study_name, *dirs, std::move(*sampler),
                                std::move(*pruner));
  }
  if (!study.ok()) return fail(study.status());

  // Distributions must agree with the study's earlier trials: check before creating a trial.
  if (!space.empty()) {
    Result<std::vector<FrozenTrial>> trials = (*study)->Trials();
    if (!trials.ok()) return fail(trials.status());
    for (const auto& [name, dist] : space) {
      for (const FrozenTrial& t : *trials) {
        auto d = t.distributions.find(name);
        if (d != t.distributions.end() && !Compatible(d->second, dist)) {
          return fail(Status::InvalidArgument(
              "--search-space: '" + name + "' is " + DistributionToString(dist) + " but trial " +
              std::to_string(t.number) + " of study '" + o.common.study_name + "' has " +
              DistributionToString(d->second)));
        }
      }
    }
  }

  Result<Trial> trial = (*study)->Ask();
  if (!trial.ok()) return fail(trial.status());
  std::vector<std::string> order;  // Optuna's trial.params order: stored first, then asked
  for (const auto& kv : trial->params()) order.push_back(kv.first);
  for (const auto& [name, dist] : space) {
    bool had = trial->params().count(name) > 0;
    Result<Json> v = trial->Suggest(name, dist);
    if (!v.ok()) {
      // Do not leave a RUNNING trial nobody will finish.
      Status told = (*study)->Tell(trial->id(), TrialState::kFail);
      (void)told;
      return fail(v.status());
    }
    if (!had) order.push_back(name);
  }

  using Kind = ColumnGroup::Kind;
  std::vector<ColumnGroup> groups = {{"number", Kind::kScalar, {}, 0, false}};
  Record record = {Json(trial->number())};
  if (!order.empty() || !o.common.flatten) {
    groups.push_back({"params", Kind::kDict, order, 0, false});
    Json params = Json::object();
    for (const auto& kv : trial->params()) params[kv.first] = kv.second;
    record.emplace_back(std::move(params));
  }
  RecordWriter writer(io.out, *format, o.common.flatten, groups, /*single=*/true);
  writer.Add(record);
  writer.Finish();
  return 0;
}

struct TellOptions {
  Common common;
  int64_t trial_number = -1;
  std::vector<double> values;
  std::string state;
  bool skip_if_finished = false;
};

std::string ValuesText(const std::vector<double>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + PythonFloatRepr(values[i]);
  return s + "]";
}

int RunTell(const TellOptions& o, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "tell", s); };
  std::optional<TrialState> state;
  if (!o.state.empty()) {
    if (o.state == "complete") {
      state = TrialState::kComplete;
    } else if (o.state == "pruned") {
      state = TrialState::kPruned;
    } else if (o.state == "fail") {
      state = TrialState::kFail;
    } else {
      return fail(Status::InvalidArgument("--state must be complete, pruned or fail (got '" +
                                          o.state + "')"));
    }
  }
  // Optuna's _check_state_and_values.
  if (state == TrialState::kComplete && o.values.empty()) {
    return fail(Status::InvalidArgument("--state complete needs --values"));
  }
  if ((state == TrialState::kPruned || state == TrialState::kFail) && !o.values.empty()) {
    return fail(Status::InvalidArgument("--values cannot be given with --state " + o.state));
  }
  Result<std::shared_ptr<Storage>> storage = Open(o.common.storage, false);
  if (!storage.ok()) return fail(storage.status());
  Result<int64_t> id = FindStudy(**storage, o.common.study_name, o.common.storage);
  if (!id.ok()) return fail(id.status());
  Result<std::unique_ptr<Study>> study = LoadForInspection(*storage, o.common.study_name);
  if (!study.ok()) return fail(study.status());
  Result<FrozenTrial> trial = (*study)->GetTrialByNumber(o.trial_number);
  if (!trial.ok()) {
    if (trial.status().code() == StatusCode::kNotFound) {
      return fail(Status::NotFound("cannot tell trial number " + std::to_string(o.trial_number) +
                                   ": study '" + o.common.study_name + "' has no such trial"));
    }
    return fail(trial.status());
  }
  if (IsFinished(trial->state) && o.skip_if_finished) {
    *io.err << "mgr-tune tell: skipped trial " << trial->number << ": it is already "
            << TrialStateName(trial->state) << "\n";
    return 0;
  }
  if (trial->state != TrialState::kRunning) {
    return fail(Status::FailedPrecondition("cannot tell trial " + std::to_string(trial->number) +
                                           ": it is " + TrialStateName(trial->state) +
                                           ", not RUNNING (add --skip-if-finished to ignore)"));
  }
  size_t n_objectives = (*study)->directions().size();
  std::string infeasible;
  if (!o.values.empty() || !state) {
    if (o.values.empty()) {
      infeasible = "The value None could not be cast to float.";
    } else if (o.values.size() != n_objectives) {
      infeasible = "The number of the values " + std::to_string(o.values.size()) +
                   " did not match the number of the objectives " + std::to_string(n_objectives) +
                   ".";
    } else {
      for (double v : o.values) {
        if (std::isnan(v)) infeasible = "The value nan is not acceptable.";
      }
    }
  }
  std::vector<double> values = o.values;
  if (!state) {
    // Optuna: without --state, feasible values complete the trial and anything else fails it.
    if (infeasible.empty()) {
      state = TrialState::kComplete;
    } else {
      *io.err << "mgr-tune tell: warning: " << infeasible << " Trial " << trial->number
              << " is marked FAIL.\n";
      state = TrialState::kFail;
      values.clear();
    }
  } else if (state == TrialState::kComplete && !infeasible.empty()) {
    return fail(Status::InvalidArgument(infeasible));
  }
  Status s = (*study)->Tell(trial->trial_id, *state, values);
  if (!s.ok()) return fail(s);
  *io.err << "mgr-tune tell: told trial " << trial->number << " with values "
          << (values.empty() ? std::string("None") : ValuesText(values)) << " and state "
          << TrialStateName(*state) << ".\n";
  return 0;
}

// --- export --------------------------------------------------------------------------------

struct ExportOptions {
  Common common;
  std::string output;
};

int RunExport(const ExportOptions& o, const Io& io) {
  auto fail = [&](const Status& s) { return Fail(io, "export", s); };
  Result<std::shared_ptr<Storage>> storage = Open(o.common.storage, false);
  if (!storage.ok()) return fail(storage.status());
  Result<int64_t> id = FindStudy(**storage, o.common.study_name, o.common.storage);
  if (!id.ok()) return fail(id.status());
  Result<std::vector<StudyDirection>> dirs = (*storage)->GetStudyDirections(*id);
  if (!dirs.ok()) return fail(dirs.status());
  Result<std::vector<FrozenTrial>> trials = (*storage)->GetAllTrials(*id);
  if (!trials.ok()) return fail(trials.status());

  TrialListingOptions options;
  options.n_objectives = dirs->size();
  options.system_attrs = true;
  options.full_datetimes = true;
  std::vector<ColumnGroup> groups = TrialColumnGroups(*trials, options);

  std::ofstream file;
  std::string tmp;
  std::ostream* out = io.out;
  if (!o.output.empty() && o.output != "-") {
    // Write beside the target and rename: a failure never leaves a half-written file.
    tmp = o.output + ".tmp-" + std::to_string(::getpid());
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) return fail(Status::IoError("cannot write '" + tmp + "'"));
    out = &file;
  }
  RecordWriter writer(out, OutputFormat::kCsv, true, groups);
  for (const FrozenTrial& t : *trials) writer.Add(TrialRecord(t, groups, options));
  writer.Finish();
  if (!tmp.empty()) {
    file.close();
    if (!file || std::rename(tmp.c_str(), o.output.c_str()) != 0) {
      std::remove(tmp.c_str());
      return fail(Status::IoError("cannot write '" + o.output + "'"));
    }
    *io.err << "mgr-tune export: wrote " << trials->size() << " trials to " << o.output << "\n";
  }
  return 0;
}

}  // namespace

Result<std::vector<std::pair<std::string, Distribution>>> ParseSearchSpace(
    const std::string& text) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("--search-space is not valid JSON: " + text);
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument(
        "--search-space must be a JSON object of name -> distribution, e.g. "
        "{\"x\": {\"name\": \"FloatDistribution\", \"attributes\": {\"low\": 0.0, \"high\": "
        "1.0}}}");
  }
  std::vector<std::pair<std::string, Distribution>> space;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    Json dist_json = Json::parse(it.value().dump());
    Result<Distribution> dist = DistributionFromJson(dist_json);
    if (!dist.ok()) return dist.status().WithContext("--search-space: '" + it.key() + "'");
    Status valid = ValidateDistribution(it.key(), *dist);
    if (!valid.ok()) return valid.WithContext("--search-space");
    space.emplace_back(it.key(), std::move(*dist));
  }
  return space;
}

Result<Json> SamplerConfigFromArgs(const std::string& sampler, const std::string& kwargs,
                                   uint64_t default_seed) {
  Json config;
  std::string s = sampler;
  size_t first = s.find_first_not_of(" \t\n");
  if (first != std::string::npos && s[first] == '{') {
    if (!kwargs.empty()) {
      return Status::InvalidArgument(
          "--sampler-kwargs goes with an Optuna class name in --sampler, not a JSON config");
    }
    config = Json::parse(s, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      return Status::InvalidArgument("--sampler is not a valid JSON object: " + s);
    }
  } else {
    static const std::map<std::string, std::string> kClasses = {{"", "tpe"},
                                                                {"TPESampler", "tpe"},
                                                                {"RandomSampler", "random"},
                                                                {"QMCSampler", "qmc"},
                                                                {"GPSampler", "gp"}};
    auto it = kClasses.find(s);
    if (it == kClasses.end()) {
      return Status::InvalidArgument("--sampler '" + s +
                                     "' is not supported (use TPESampler, RandomSampler, "
                                     "QMCSampler, GPSampler or a JSON config like "
                                     "{\"type\": \"tpe\"})");
    }
    if (s.empty() && !kwargs.empty()) {
      return Status::InvalidArgument(
          "--sampler-kwargs is set without --sampler: give --sampler as well or omit it");
    }
    config = Json::object();
    if (!kwargs.empty()) {
      config = Json::parse(kwargs, nullptr, false);
      if (config.is_discarded() || !config.is_object()) {
        return Status::InvalidArgument("--sampler-kwargs is not a valid JSON object: " + kwargs);
      }
    }
    config["type"] = it->second;
  }
  if (!config.contains("seed")) config["seed"] = default_seed;
  return config;
}

Result<std::vector<StudyDirection>> ParseDirectionArgs(const std::string& direction,
                                                       const std::vector<std::string>& directions) {
  if (!direction.empty() && !directions.empty()) {
    return Status::InvalidArgument("specify only one of --direction and --directions");
  }
  std::vector<std::string> names = directions;
  if (!direction.empty()) names.push_back(direction);
  std::vector<StudyDirection> out;
  for (const std::string& n : names) {
    if (n == "minimize") {
      out.push_back(StudyDirection::kMinimize);
    } else if (n == "maximize") {
      out.push_back(StudyDirection::kMaximize);
    } else {
      return Status::InvalidArgument("direction '" + n + "' must be minimize or maximize");
    }
  }
  return out;
}

// --- Registration: one function per command (the three listings share one) ----------------
namespace {

const char kGroup[] = "Storage commands (Optuna's CLI)";

void RegisterStudies(CLI::App& app, CommandRunner* run, const Io& io) {
  auto c = std::make_shared<Common>();
  CLI::App* sub = app.add_subcommand("studies", "Show a list of studies");
  sub->group(kGroup);
  AddCommon(sub, c.get(), true, false, "table");
  sub->footer("Example: mgr-tune studies --storage sqlite:///runs/demo.db -f json");
  sub->callback([run, c, io] { *run = [c, io] { return RunStudies(*c, io); }; });
}

// trials, best-trial, best-trials.
void RegisterTrialListings(CLI::App& app, CommandRunner* run, const Io& io) {
  struct Listing {
    const char* name;
    const char* help;
    Which which;
  };
  for (const Listing& l :
       {Listing{"trials", "Show a list of trials", Which::kAll},
        Listing{"best-trial", "Show the best trial", Which::kBest},
        Listing{"best-trials", "Show the trials on the Pareto front (the best trials)",
                Which::kPareto}}) {
    auto c = std::make_shared<Common>();
    CLI::App* sub = app.add_subcommand(l.name, l.help);
    sub->group(kGroup);
    AddCommon(sub, c.get(), true, true, "table");
    sub->add_flag("--epochs", c->epochs,
                  "One row per epoch of each trial (the `epochs` user attr that mgr-tune run "
                  "writes): number, state, epoch and the epoch's metrics");
    sub->footer(std::string("Example: mgr-tune ") + l.name +
                " --storage sqlite:///runs/demo.db --study-name demo -f json");
    Which which = l.which;
    const char* name = l.name;
    sub->callback([run, c, io, which, name] {
      *run = [c, io, which, name] { return RunTrials(*c, which, io, name); };
    });
  }
}

void RegisterCreateStudy(CLI::App& app, CommandRunner* run, const Io& io) {
  auto o = std::make_shared<CreateOptions>();
  CLI::App* sub = app.add_subcommand("create-study", "Create a new study; prints its name");
  sub->group(kGroup);
  AddCommon(sub, &o->common, false, false, "");
  sub->add_option("--study-name", o->common.study_name,
                  "The new study's name (default: no-name-<uuid>)");
  auto* d = sub->add_option("--direction", o->direction, "minimize or maximize")
                ->check(CLI::IsMember({"minimize", "maximize"}));
  auto* ds = sub->add_option("--directions", o->directions,
                             "One direction per objective, e.g. --directions minimize maximize")
                 ->check(CLI::IsMember({"minimize", "maximize"}));
  d->excludes(ds);
  sub->add_flag("--skip-if-exists", o->skip_if_exists,
                "Succeed (and print the name) if the study already exists");
  sub->footer(
      "Example: mgr-tune create-study --storage sqlite:///runs/demo.db --study-name demo "
      "--direction minimize");
  sub->callback([run, o, io] { *run = [o, io] { return RunCreateStudy(*o, io); }; });
}

void RegisterDeleteStudy(CLI::App& app, CommandRunner* run, const Io& io) {
  auto c = std::make_shared<Common>();
  CLI::App* sub = app.add_subcommand("delete-study", "Delete a study and all its trials");
  sub->group(kGroup);
  AddCommon(sub, c.get(), false, true, "");
  sub->footer("Example: mgr-tune delete-study --storage sqlite:///runs/demo.db --study-name demo");
  sub->callback([run, c, io] { *run = [c, io] { return RunDeleteStudy(*c, io); }; });
}

void RegisterCopyStudy(CLI::App& app, CommandRunner* run, const Io& io) {
  auto o = std::make_shared<CopyOptions>();
  CLI::App* sub = app.add_subcommand(
      "copy-study", "Copy a study, trials and attributes, to another store (optuna.copy_study)");
  sub->group(kGroup);
  sub->add_option("--from-storage", o->from_storage, "Source storage URL")->required();
  sub->add_option("--to-storage", o->to_storage, "Target storage URL (created if missing)")
      ->required();
  sub->add_option("--study-name", o->study_name,
                  "The study to copy; a playbook study's name copies all its stages")
      ->required();
  sub->add_option("--to-study-name", o->to_study_name,
                  "Its name in the target (default: the same)");
  sub->footer(
      "Example: mgr-tune copy-study --from-storage sqlite:///runs/demo.db "
      "--to-storage postgresql://mgr@db-host/studies --study-name demo");
  sub->callback([run, o, io] { *run = [o, io] { return RunCopyStudy(*o, io); }; });
}

void RegisterAsk(CLI::App& app, CommandRunner* run, const Io& io) {
  auto o = std::make_shared<AskOptions>();
  CLI::App* sub = app.add_subcommand(
      "ask", "Create a trial (or take the oldest enqueued one) and suggest its parameters");
  sub->group(kGroup);
  AddCommon(sub, &o->common, true, true, "json");
  auto* d = sub->add_option("--direction", o->direction,
                            "Create the study with this direction if it does not exist")
                ->check(CLI::IsMember({"minimize", "maximize"}));
  auto* ds = sub->add_option("--directions", o->directions,
                             "Create the study with these directions if it does not exist")
                 ->check(CLI::IsMember({"minimize", "maximize"}));
  d->excludes(ds);
  sub->add_option("--sampler", o->sampler,
                  "TPESampler (default), RandomSampler, QMCSampler, or a JSON config such as "
                  "'{\"type\": \"random\", \"seed\": 1}'");
  sub->add_option("--sampler-kwargs", o->sampler_kwargs,
                  "JSON keyword arguments for a --sampler class name, e.g. '{\"seed\": 1}'");
  sub->add_option("--search-space", o->search_space,
                  "JSON object of parameter name -> Optuna distribution JSON");
  sub->footer(
      "Example:\n  mgr-tune ask --storage sqlite:///runs/demo.db --study-name demo \\\n"
      "    --search-space '{\"lr\": {\"name\": \"FloatDistribution\", \"attributes\": "
      "{\"low\": 1e-05, \"high\": 0.1, \"log\": true, \"step\": null}}}'\n"
      "  prints {\"number\": 3, \"params\": {\"lr\": 0.0012}}");
  sub->callback([run, o, io] { *run = [o, io] { return RunAsk(*o, io); }; });
}

void RegisterTell(CLI::App& app, CommandRunner* run, const Io& io) {
  auto o = std::make_shared<TellOptions>();
  CLI::App* sub = app.add_subcommand("tell", "Finish a trial created by ask");
  sub->group(kGroup);
  AddCommon(sub, &o->common, false, true, "");
  sub->add_option("--trial-number", o->trial_number, "The trial's number")->required();
  sub->add_option("--values", o->values, "Objective value(s)");
  sub->add_option("--state", o->state, "complete, pruned or fail")
      ->check(CLI::IsMember({"complete", "pruned", "fail"}));
  sub->add_flag("--skip-if-finished", o->skip_if_finished,
                "Succeed without a change if the trial is already finished");
  sub->footer(
      "Example: mgr-tune tell --storage sqlite:///runs/demo.db --study-name demo "
      "--trial-number 3 --values 0.42\n"
      "Without --state, values complete the trial and no (or NaN) values fail it, as in "
      "Optuna.\nA pruned trial takes its last intermediate value as its value.");
  sub->callback([run, o, io] { *run = [o, io] { return RunTell(*o, io); }; });
}

void RegisterExport(CLI::App& app, CommandRunner* run, const Io& io) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand(
      "export", "Write all trials of a study as CSV (like Optuna's trials_dataframe)");
  sub->group(kGroup);
  AddCommon(sub, &o->common, false, true, "");
  sub->add_option("-o,--output", o->output, "CSV file to write (default: standard output)");
  sub->footer(
      "Columns: number, value (or values_0, values_1...), datetime_start, datetime_complete,\n"
      "duration (seconds), params_<name>..., user_attrs_<key>..., system_attrs_<key>..., "
      "state.\n"
      "Example: mgr-tune export --storage sqlite:///runs/demo.db --study-name demo -o demo.csv");
  sub->callback([run, o, io] { *run = [o, io] { return RunExport(*o, io); }; });
}

}  // namespace

void RegisterStorageCommands(CLI::App& app, CommandRunner* run) {
  RegisterStorageCommands(app, run, &std::cout, &std::cerr);
}

void RegisterStorageCommands(CLI::App& app, CommandRunner* run, std::ostream* out,
                             std::ostream* err) {
  const Io io{out, err};
  RegisterStudies(app, run, io);
  RegisterTrialListings(app, run, io);
  RegisterCreateStudy(app, run, io);
  RegisterDeleteStudy(app, run, io);
  RegisterCopyStudy(app, run, io);
  RegisterAsk(app, run, io);
  RegisterTell(app, run, io);
  RegisterExport(app, run, io);
}

}  // namespace mgr
