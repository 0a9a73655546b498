#include "tuner/dashboard_note.h"

#include "storage/base/strings.h"
#include "tuner/live_display.h"

namespace mgr {

namespace {

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string ChunkKey(size_t i) { return kDashboardNoteChunkPrefix + std::to_string(i); }

std::string FormatOptional(const std::optional<double>& v) {
  return v ? FormatValue(*v) : std::string("none");
}

// Markdown table cells: a `|` would end the cell.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

}  // namespace

std::vector<std::string> SplitDashboardNote(const std::string& body) {
  std::vector<std::string> chunks;
  size_t start = 0, code_points = 0;
  for (size_t i = 0; i <= body.size(); ++i) {
    const bool at_boundary = i == body.size() || !IsUtf8Continuation(body[i]);
    if (!at_boundary) continue;
    if (code_points == kDashboardNoteChunk || (i == body.size() && i > start)) {
      chunks.push_back(body.substr(start, i - start));
      start = i;
      code_points = 0;
    }
    if (i < body.size()) ++code_points;
  }
  return chunks;
}

Status SaveDashboardNote(Storage& storage, int64_t study_id, const std::string& body) {
  MGR_ASSIGN_OR_RETURN(auto attrs, storage.GetStudySystemAttrs(study_id));
  int64_t version = 0;
  auto it = attrs.find(kDashboardNoteVersionKey);
  if (it != attrs.end() && it->second.is_number_integer()) version = it->second.get<int64_t>();
  MGR_RETURN_IF_ERROR(storage.SetStudySystemAttr(study_id, kDashboardNoteVersionKey, version + 1));
  const std::vector<std::string> chunks = SplitDashboardNote(body);
  for (size_t i = 0; i < chunks.size(); ++i) {
    MGR_RETURN_IF_ERROR(storage.SetStudySystemAttr(study_id, ChunkKey(i), chunks[i]));
  }
  // The dashboard joins chunks 0..n-1 for the n keys it finds: blank the leftovers.
  size_t stored = 0;
  for (const auto& [key, value] : attrs) stored += StartsWith(key, kDashboardNoteChunkPrefix);
  for (size_t i = chunks.size(); i < stored; ++i) {
    MGR_RETURN_IF_ERROR(storage.SetStudySystemAttr(study_id, ChunkKey(i), ""));
  }
  return Status::Ok();
}

Result<std::string> LoadDashboardNote(Storage& storage, int64_t study_id) {
  MGR_ASSIGN_OR_RETURN(auto attrs, storage.GetStudySystemAttrs(study_id));
  auto ver = attrs.find(kDashboardNoteVersionKey);
  if (ver == attrs.end()) return std::string();
  if (!ver->second.is_number_integer()) {
    return Status::Corruption(std::string("study system attr ") + kDashboardNoteVersionKey +
                              " is not an integer: " + ver->second.dump());
  }
  size_t n = 0;
  for (const auto& [key, value] : attrs) n += StartsWith(key, kDashboardNoteChunkPrefix);
  std::string body;
  for (size_t i = 0; i < n; ++i) {
    auto chunk = attrs.find(ChunkKey(i));
    if (chunk == attrs.end() || !chunk->second.is_string()) {
      return Status::Corruption("study system attr " + ChunkKey(i) + " is missing or not a string");
    }
    body += chunk->second.get<std::string>();
  }
  return body;
}

std::string StageDecisionNote(const StudyFile& study, size_t stage, const StageDecision& decision,
                              const Incumbent& before, const Incumbent& after) {
  const std::string& metric = study.objective_metric;
  std::string md = "## Stage " + std::to_string(stage + 1) + " of " +
                   std::to_string(study.stages.size()) + ": " + study.stages[stage].name + " — " +
                   (decision.accepted ? "kept" : "not kept") + "\n\n";
  md += decision.summary + "\n\n";
  md += "| | |\n|---|---|\n";
  md += "| objective | " + metric + " (" +
        (study.direction == StudyDirection::kMaximize ? "maximize" : "minimize") + ") |\n";
  md += "| best trial | " +
        (decision.best_trial_number >= 0 ? "#" + std::to_string(decision.best_trial_number) + ", "
                                         : std::string()) +
        FormatOptional(decision.best_value) + " |\n";
  md += "| incumbent before | " + FormatOptional(decision.incumbent_value) +
        (before.trial_number >= 0
             ? " (" + before.stage + " #" + std::to_string(before.trial_number) + ")"
             : std::string()) +
        " |\n";
  if (decision.best_value && decision.incumbent_value) {
    const double diff = *decision.best_value - *decision.incumbent_value;
    md += "| best − incumbent | " + std::string(diff > 0 ? "+" : "") + FormatValue(diff) +
          " (kept when better by at least " + FormatValue(decision.required_improvement) + ") |\n";
  } else {
    md += "| required improvement | " + FormatValue(decision.required_improvement) + " |\n";
  }
  md += "| incumbent after | " + FormatOptional(after.value) +
        (after.trial_number >= 0
             ? " (" + after.stage + " #" + std::to_string(after.trial_number) + ")"
             : std::string()) +
        " |\n";
  if (!decision.changes.empty()) {
    md += decision.accepted ? "\n### What changed\n\n"
                            : "\n### What the best trial would have changed\n\n";
    md += "| hyperparameter | value |\n|---|---|\n";
    for (const auto& [name, value] : decision.changes) {
      md += "| " + Cell(name) + " | " + Cell(value.dump()) + " |\n";
    }
  }
  md += "\nWritten by mgr-tune (playbook " + study.name + ").\n";
  return md;
}

}  // namespace mgr
