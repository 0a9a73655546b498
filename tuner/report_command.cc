// `mgr-tune report`: writes the HTML page of a study (tuner/report.h, docs/report.md).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "studies/study_file.h"
#include "tuner/commands.h"
#include "tuner/report.h"

namespace mgr {
namespace {

struct ReportArgs {
  std::string study_path;
  std::string storage;
  std::vector<std::string> study_names;
  std::string output;
};

int Fail(const std::string& message, int code = 1) {
  std::cerr << "mgr-tune report: error: " << message << "\n";
  return code;
}

int RunReport(const ReportArgs& args) {
  if (args.study_path.empty() == args.storage.empty()) {
    return Fail("pass either a study file or --storage URL with --study-name NAME", 2);
  }
  OpenOptions read_only;
  read_only.read_only = true;
  std::string output = args.output;
  if (!args.study_path.empty()) {
    if (!args.study_names.empty()) {
      return Fail("--study-name goes with --storage, not a study file", 2);
    }
    auto study = LoadStudyFile(args.study_path);
    if (!study.ok()) return Fail(study.status().message(), 2);
    auto storage = OpenStorage(study->storage_url, read_only);
    if (!storage.ok())
      return Fail(DescribeStorageUrl(study->storage_url) + ": " + storage.status().message());
    auto written = WriteStudyReport(**storage, *study, output);
    if (!written.ok()) return Fail(written.status().message());
    output = *written;
  } else {
    if (args.study_names.empty()) return Fail("--storage needs at least one --study-name", 2);
    if (output.empty()) output = "report.html";
    auto storage = OpenStorage(args.storage, read_only);
    if (!storage.ok()) return Fail(args.storage + ": " + storage.status().message());
    Status s = WriteReport(**storage, args.study_names, output);
    if (!s.ok()) return Fail(s.message());
  }
  std::cout << output << "\n";
  return 0;
}

}  // namespace

void RegisterReportCommand(CLI::App& app, CommandRunner* run) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write a study's HTML report (charts, playbook checks, final model; opens offline)");
  cmd->add_option("study", args->study_path, "a study file (docs/study-file.md)");
  cmd->add_option("--storage", args->storage, "or: an Optuna storage URL ...");
  cmd->add_option("--study-name", args->study_names, "... and the studies to show (repeatable)");
  cmd->add_option("-o,--output", args->output,
                  "the HTML file (default: <run_dir>/report.html for a study file, else "
                  "report.html)");
  cmd->footer(
      "Examples:\n"
      "  mgr-tune report examples/demo.json -o demo.html\n"
      "  mgr-tune report --storage sqlite:///demo.db --study-name demo/base --study-name demo/bs");
  cmd->callback([args, run] { *run = [args] { return RunReport(*args); }; });
}

}  // namespace mgr
