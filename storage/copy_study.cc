#include "storage/copy_study.h"

#include <algorithm>

namespace mgr {
namespace {

// Everything but the trials, then the trials in number order.
Status CopyInto(Storage& from, int64_t from_id, Storage& to, int64_t to_id, int64_t* copied) {
  MGR_ASSIGN_OR_RETURN(auto user_attrs, from.GetStudyUserAttrs(from_id));
  for (const auto& [key, value] : user_attrs) {
    MGR_RETURN_IF_ERROR(to.SetStudyUserAttr(to_id, key, value));
  }
  MGR_ASSIGN_OR_RETURN(auto system_attrs, from.GetStudySystemAttrs(from_id));
  for (const auto& [key, value] : system_attrs) {
    MGR_RETURN_IF_ERROR(to.SetStudySystemAttr(to_id, key, value));
  }
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, from.GetAllTrials(from_id));
  for (const FrozenTrial& trial : trials) {
    MGR_RETURN_IF_ERROR(to.CreateTrial(to_id, &trial).status());
    ++*copied;
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> CopyStudy(Storage& from, const std::string& from_name, Storage& to,
                          const std::string& to_name) {
  MGR_ASSIGN_OR_RETURN(int64_t from_id, from.GetStudyId(from_name));
  MGR_ASSIGN_OR_RETURN(std::vector<StudyDirection> directions, from.GetStudyDirections(from_id));
  MGR_ASSIGN_OR_RETURN(int64_t to_id, to.CreateStudy(to_name, directions));
  int64_t copied = 0;
  Status status = CopyInto(from, from_id, to, to_id, &copied);
  if (status.ok()) return copied;
  Status undone = to.DeleteStudy(to_id);
  std::string message = "copying study '" + from_name + "' to '" + to_name + "' stopped after " +
                        std::to_string(copied) + " trials: " + status.message();
  message += undone.ok() ? "; the partial copy was deleted"
                         : "; deleting the partial copy failed too: " + undone.message();
  return Status(status.code(), message);
}

Result<std::vector<std::string>> StudiesToCopy(Storage& from, const std::string& name) {
  MGR_ASSIGN_OR_RETURN(std::vector<StudySummary> studies, from.GetAllStudies());
  std::vector<std::string> stages;
  for (const StudySummary& s : studies) {
    if (s.name == name) return std::vector<std::string>{name};
    if (s.name.size() > name.size() + 1 && s.name.compare(0, name.size(), name) == 0 &&
        s.name[name.size()] == '/') {
      stages.push_back(s.name);
    }
  }
  if (stages.empty()) {
    return Status::NotFound("no study named '" + name + "' and no playbook stages '" + name +
                            "/<stage>' in the source store");
  }
  std::sort(stages.begin(), stages.end());
  return stages;
}

}  // namespace mgr
