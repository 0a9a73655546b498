// optuna-dashboard's study note: a Markdown text that the dashboard shows on a study's page.
// The orchestrator writes each playbook stage's decision there, so people who look at a
// study in the dashboard see why a change was kept or dropped.
//
// The format is optuna-dashboard's (its _note.py, save_note): study system attrs
// `dashboard:note_ver` (an integer, +1 on every save) and `dashboard:note_str:<i>`, the body
// cut into chunks of at most kDashboardNoteChunk characters (Unicode code points, Python's
// len); on save, chunks left over from a longer earlier body are set to "".
#ifndef MGR_TUNER_DASHBOARD_NOTE_H_
#define MGR_TUNER_DASHBOARD_NOTE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/base/status.h"
#include "storage/storage.h"
#include "studies/playbook.h"
#include "studies/study_file.h"

namespace mgr {

inline constexpr char kDashboardNoteVersionKey[] = "dashboard:note_ver";
inline constexpr char kDashboardNoteChunkPrefix[] = "dashboard:note_str:";
inline constexpr size_t kDashboardNoteChunk = 2045;  // optuna-dashboard's SYSTEM_ATTR_MAX_LENGTH

// `body` (UTF-8) cut into chunks of at most kDashboardNoteChunk code points each; never
// splits a UTF-8 sequence. An empty body has no chunk.
std::vector<std::string> SplitDashboardNote(const std::string& body);

// Saves `body` as the note of study `study_id`, with the stored version + 1 (1 for the first
// note), as optuna-dashboard's save_note does.
Status SaveDashboardNote(Storage& storage, int64_t study_id, const std::string& body);

// The note of study `study_id` ("" when it has none). Corruption when the version or a
// chunk has the wrong type.
Result<std::string> LoadDashboardNote(Storage& storage, int64_t study_id);

// The Markdown note of stage `stage` of `study`: the decision (kept or not, by how much,
// what changed), the best trial, the incumbent before and after.
std::string StageDecisionNote(const StudyFile& study, size_t stage, const StageDecision& decision,
                              const Incumbent& before, const Incumbent& after);

}  // namespace mgr

#endif  // MGR_TUNER_DASHBOARD_NOTE_H_
