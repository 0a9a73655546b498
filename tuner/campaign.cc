#include "tuner/campaign.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "storage/base/atomic_file.h"
#include "studies/playbook.h"
#include "trainer/protocol/worker_protocol.h"
#include "tuner/commands.h"
#include "tuner/live_display.h"
#include "tuner/run_command.h"
#include "tuner/run_report.h"

namespace mgr {

namespace {

namespace fs = std::filesystem;

std::string Absolute(const fs::path& p) { return fs::weakly_canonical(fs::absolute(p)).string(); }

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += (s.empty() ? "" : "\n") + l;
  return s;
}

// The `study` file a MixNet's encoders.<branch> names, absolute; empty when it names none.
std::string EncoderStudyPath(const Json& study_json, const StudyFile& study, const char* branch) {
  auto enc = study_json.find("encoders");
  if (enc == study_json.end() || !enc->is_object()) return "";
  auto b = enc->find(branch);
  if (b == enc->end() || !b->is_object()) return "";
  auto s = b->find("study");
  if (s == b->end() || !s->is_string()) return "";
  return Absolute(fs::path(study.dir) / s->get<std::string>());
}

// "0.47 +- 0.01" (over seeds), "0.47" (one seed or one export) or "-".
std::string SpreadCell(const MetricSpread& m) {
  if (m.n == 0) return "-";
  if (std::isnan(m.std)) return FormatValue(m.mean);
  return FormatValue(m.mean) + " +- " + FormatValue(m.std);
}

Json SpreadJson(const MetricSpread& m) {
  auto number = [](double v) { return std::isnan(v) ? Json() : Json(v); };
  return {{"mean", number(m.mean)}, {"std", number(m.std)}, {"n", m.n}};
}

// "lr=0.0003, conv_layers=4": a value as FormatValue writes numbers, else its JSON.
std::string SettingsText(const Json& hparams) {
  std::string s;
  if (!hparams.is_object()) return s;
  for (const auto& [k, v] : hparams.items()) {
    s += (s.empty() ? "" : ", ") + k + "=" +
         (v.is_number_float() ? FormatValue(v.get<double>()) : v.dump());
  }
  return s;
}

struct CampaignArgs {
  std::vector<std::string> files;
  RunOptions options;
};

// One campaign file, or study files given on the command line: a campaign named
// "campaign" in the first study file's folder.
Result<CampaignFile> CampaignFromArgs(const std::vector<std::string>& files) {
  if (files.size() == 1) {
    MGR_ASSIGN_OR_RETURN(Json j, ReadJsonFile(files[0]));
    if (j.is_object() && j.contains("studies")) return ParseCampaignJson(j, files[0]);
  }
  CampaignFile c;
  c.name = "campaign";
  for (const auto& f : files) c.study_paths.push_back(Absolute(f));
  c.dir = fs::path(c.study_paths[0]).parent_path().string();
  return c;
}

int RunCampaign(const CampaignArgs& args) {
  auto campaign = CampaignFromArgs(args.files);
  if (!campaign.ok()) {
    std::cerr << campaign.status().message() << "\n";
    return 2;
  }
  auto studies = LoadCampaignStudies(*campaign);
  if (!studies.ok()) {
    std::cerr << studies.status().message() << "\n";
    return 2;
  }
  std::cout << "campaign " << campaign->name << ": " << studies->size() << " studies\n";
  for (size_t i = 0; i < studies->size(); ++i) {
    const StudyFile& study = (*studies)[i];
    std::cout << "== campaign " << campaign->name << ": study " << i + 1 << "/" << studies->size()
              << " " << study.name << " (" << study.model_family << ", " << study.path << ")\n"
              << std::flush;
    // Loaded again: a MixNet reads its encoders' studies, which have just finished.
    auto fresh = LoadStudyFile(study.path);
    if (!fresh.ok()) {
      std::cerr << fresh.status().message() << "\n";
      return 2;
    }
    const int rc = RunLoadedStudy(std::move(*fresh), args.options);
    if (rc != 0) {
      std::cerr << "campaign " << campaign->name << ": stopped at " << study.name
                << (rc == 130 ? " (interrupted)" : "")
                << "; run the same command again to resume\n";
      return rc;
    }
  }
  std::vector<CampaignRow> rows;
  for (const StudyFile& study : *studies) rows.push_back(ReadCampaignRow(study));
  const std::string markdown = CampaignSummaryMarkdown(*campaign, rows);
  std::cout << "\n" << markdown;
  const fs::path base = fs::path(campaign->dir) / campaign->name;
  Status s = WriteFileAtomically(base.string() + "-summary.md", markdown);
  if (s.ok()) {
    s = WriteFileAtomically(base.string() + "-summary.json",
                            CampaignSummaryJson(*campaign, rows).dump(2) + "\n");
  }
  if (!s.ok()) {
    std::cerr << "error: " << s.ToString() << "\n";
    return 1;
  }
  std::cout << "summary: " << base.string() << "-summary.md, " << base.string()
            << "-summary.json\n";
  return 0;
}

}  // namespace

Result<CampaignFile> ParseCampaignJson(const Json& json, const std::string& path) {
  std::vector<std::string> errors;
  auto error = [&](const std::string& where, const std::string& what) {
    errors.push_back(path + ": " + where + ": " + what);
  };
  CampaignFile c;
  c.path = Absolute(path);
  c.dir = fs::path(c.path).parent_path().string();
  if (!json.is_object()) {
    return Status::InvalidArgument(path + ": a campaign file is a JSON object");
  }
  static const std::set<std::string> kKeys = {"$schema", "name", "description", "studies"};
  for (const auto& [k, v] : json.items()) {
    if (!kKeys.count(k)) error(k, "unknown key (known: name, description, studies)");
  }
  auto name = json.find("name");
  if (name == json.end() || !name->is_string() || name->get<std::string>().empty()) {
    error("name", "required, a non-empty string");
  } else {
    c.name = name->get<std::string>();
    // It names the summary files.
    if (c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789._-") != std::string::npos) {
      error("name", "only letters, digits, '.', '_' and '-' (it names the summary files)");
    }
  }
  auto description = json.find("description");
  if (description != json.end()) {
    if (description->is_string()) {
      c.description = description->get<std::string>();
    } else {
      error("description", "must be a string");
    }
  }
  auto studies = json.find("studies");
  if (studies == json.end() || !studies->is_array() || studies->empty()) {
    error("studies", "required, a non-empty array of study files");
  } else {
    for (size_t i = 0; i < studies->size(); ++i) {
      const Json& s = (*studies)[i];
      if (!s.is_string() || s.get<std::string>().empty()) {
        error("studies[" + std::to_string(i) + "]", "must be a study file's path");
        continue;
      }
      c.study_paths.push_back(Absolute(fs::path(c.dir) / s.get<std::string>()));
    }
  }
  if (!errors.empty()) return Status::InvalidArgument(JoinLines(errors));
  return c;
}

Result<CampaignFile> LoadCampaignFile(const std::string& path) {
  MGR_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path));
  return ParseCampaignJson(j, path);
}

Result<std::vector<StudyFile>> LoadCampaignStudies(const CampaignFile& campaign) {
  std::vector<std::string> errors;
  const std::string where = campaign.path.empty() ? "campaign" : campaign.path;
  std::vector<StudyFile> studies;
  std::map<std::string, size_t> index_of_path;  // absolute study file -> campaign index
  std::map<std::string, size_t> index_of_name;
  for (size_t i = 0; i < campaign.study_paths.size(); ++i) {
    const std::string& path = campaign.study_paths[i];
    const std::string at = where + ": studies[" + std::to_string(i) + "]";
    if (!index_of_path.emplace(path, i).second) {
      errors.push_back(at + ": " + path + " is already studies[" +
                       std::to_string(index_of_path[path]) + "]");
      continue;
    }
    auto study = LoadStudyFile(path);
    if (!study.ok()) {
      errors.push_back(at + ": " + std::string(study.status().message()));
      continue;
    }
    if (!index_of_name.emplace(study->name, i).second) {
      errors.push_back(at + ": " + path + ": study name '" + study->name + "' is already studies[" +
                       std::to_string(index_of_name[study->name]) +
                       "]'s (they would share runs and stages)");
    }
    studies.push_back(std::move(*study));
  }
  if (!errors.empty()) return Status::InvalidArgument(JoinLines(errors));
  // A MixNet whose encoders come from studies: those must have run before it.
  for (size_t i = 0; i < studies.size(); ++i) {
    const StudyFile& study = studies[i];
    if (study.model_family != "mixnet") continue;
    MGR_ASSIGN_OR_RETURN(Json raw, ReadJsonFile(study.path));
    for (const auto& [branch, family] : {std::pair<const char*, const char*>{"audio", "nnet1"},
                                         std::pair<const char*, const char*>{"feature", "nnet2"}}) {
      const std::string source = EncoderStudyPath(raw, study, branch);
      if (source.empty()) continue;
      const std::string at = where + ": studies[" + std::to_string(i) + "] (" + study.path +
                             "): encoders." + branch + ".study " + source;
      auto it = index_of_path.find(source);
      if (it == index_of_path.end()) {
        errors.push_back(at + " is not in the campaign: list it before this study");
      } else if (it->second > i) {
        errors.push_back(at + " runs after it (studies[" + std::to_string(it->second) +
                         "]): list it before this study");
      } else if (studies[it->second].model_family != family) {
        errors.push_back(at + " is a " + studies[it->second].model_family + " study, not " +
                         family);
      }
    }
  }
  if (!errors.empty()) return Status::InvalidArgument(JoinLines(errors));
  return studies;
}

CampaignRow ReadCampaignRow(const StudyFile& study) {
  CampaignRow row;
  row.study = study.name;
  row.family = study.model_family;
  row.file = study.path;
  row.result_path = (fs::path(study.run_dir) / "final" / "result.json").string();
  OpenOptions read_only;
  read_only.read_only = true;
  auto storage = OpenStorage(study.storage_url, read_only);
  if (storage.ok()) {
    for (size_t i = 0; i < study.stages.size(); ++i) {
      auto id = (*storage)->GetStudyId(study.StageStudyName(i));
      if (!id.ok()) continue;
      auto trials = (*storage)->GetAllTrials(*id);
      if (!trials.ok()) continue;
      const StageProgress p = CountStageTrials(*trials, study.direction);
      row.trials += p.complete + p.pruned;
      row.failed_trials += p.failed;
    }
  }
  row.result = ReadFinalResult(study);
  if (row.result.is_null()) {
    row.missing = "no export (" + row.result_path + " missing)";
  } else if (row.result.contains("error")) {
    row.missing = "export failed: " + row.result["error"].dump();
  } else if (ReadFinalTestMetrics(row.result).accuracy.n == 0) {
    row.missing = "no test metrics in " + row.result_path;
  }
  return row;
}

Json CampaignSummaryJson(const CampaignFile& campaign, const std::vector<CampaignRow>& rows) {
  Json nets = Json::array();
  for (const CampaignRow& r : rows) {
    Json n = {{"study", r.study},        {"family", r.family}, {"file", r.file},
              {"result", r.result_path}, {"trials", r.trials}, {"failed_trials", r.failed_trials}};
    if (!r.missing.empty()) {
      n["missing"] = r.missing;
    } else {
      const FinalTestMetrics m = ReadFinalTestMetrics(r.result);
      n["test"] = {{kTestAccuracy, SpreadJson(m.accuracy)},
                   {kTestMacroF1, SpreadJson(m.macro_f1)},
                   {kTestLoss, SpreadJson(m.loss)}};
      if (m.track_accuracy.n > 0) {
        n["test_track"] = {{kTestAccuracy, SpreadJson(m.track_accuracy)},
                           {kTestMacroF1, SpreadJson(m.track_macro_f1)},
                           {kTestLoss, SpreadJson(m.track_loss)}};
      }
      n["model_path"] = r.result.value(kFieldModelPath, Json());
    }
    if (r.result.is_object() && r.result.contains("incumbent"))
      n["incumbent"] = r.result["incumbent"];
    nets.push_back(n);
  }
  return {{"campaign", campaign.name},
          {"description", campaign.description},
          {"file", campaign.path},
          {"nets", nets}};
}

std::string CampaignSummaryMarkdown(const CampaignFile& campaign,
                                    const std::vector<CampaignRow>& rows) {
  std::ostringstream md;
  md << "# Campaign " << campaign.name << "\n\n";
  if (!campaign.description.empty()) md << campaign.description << "\n\n";
  md << "Test split: one window from the middle of each track (the paper's table 1), then the "
        "track level (the mean logits of every window of a track). Mean +- sample std over the "
        "final runs' seeds that finished (`seeds`), or the exported incumbent's value "
        "(`export`). `trials`: the playbook's complete and pruned trials.\n\n";
  md << "| net | study | trials | seeds | accuracy | macro F1 | loss | track accuracy | "
        "track macro F1 | track loss |\n";
  md << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const CampaignRow& r : rows) {
    md << "| " << r.family << " | " << r.study << " | " << r.trials;
    if (!r.missing.empty()) {
      md << " | | " << r.missing << " | | | | | |\n";
      continue;
    }
    const FinalTestMetrics m = ReadFinalTestMetrics(r.result);
    md << " | " << (r.result.contains("seeds") ? std::to_string(m.accuracy.n) : "export");
    for (const MetricSpread* s :
         {&m.accuracy, &m.macro_f1, &m.loss, &m.track_accuracy, &m.track_macro_f1, &m.track_loss}) {
      md << " | " << SpreadCell(*s);
    }
    md << " |\n";
  }
  md << "\nIncumbents (what the playbook's stages chose, on top of each study's `fixed`):\n\n";
  for (const CampaignRow& r : rows) {
    md << "- " << r.study << " (" << r.family << "): ";
    auto inc = r.result.is_object() && r.result.contains("incumbent")
                   ? Incumbent::FromJson(r.result["incumbent"])
                   : Result<Incumbent>(Status::NotFound("no result"));
    if (!inc.ok()) {
      md << "-\n";
      continue;
    }
    Json hparams = Json::object();
    for (const auto& [k, v] : inc->hparams) hparams[k] = v;
    md << "stage " << inc->stage << " #" << inc->trial_number << ", validation "
       << (inc->value ? FormatValue(*inc->value) : "-") << "; " << SettingsText(hparams) << "\n";
  }
  return md.str();
}

void RegisterCampaignCommand(CLI::App& app, CommandRunner* run) {
  auto args = std::make_shared<CampaignArgs>();
  CLI::App* cmd = app.add_subcommand(
      "campaign",
      "Run (or resume) a campaign: its study files in order (as `run` each), then the summary "
      "of the nets' test metrics side by side");
  cmd->add_option("campaign", args->files,
                  "the campaign file (docs/playbook.md), or study files to run in this order")
      ->required();
  AddRunOptions(cmd, &args->options);
  cmd->callback([args, run] { *run = [args] { return RunCampaign(*args); }; });
}

}  // namespace mgr
