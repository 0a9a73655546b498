// Copying a study from one store to another (Optuna's optuna.copy_study), e.g. from a
// laptop's SQLite file to a lab's PostgreSQL server and back.
#ifndef MGR_STORAGE_COPY_STUDY_H_
#define MGR_STORAGE_COPY_STUDY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "storage/base/status.h"
#include "storage/storage.h"

namespace mgr {

// Copies study `from_name` of `from` into `to` as `to_name`: its directions, user and system
// attributes, and every trial in number order with its state, values, parameters and
// distributions, intermediate values, attributes and datetimes (as Optuna's copy_study:
// trial ids are the target's own, numbers are the source's since the target study is new).
// Heartbeats are not copied (a copied RUNNING trial has none, so it is never stale).
// NotFound if there is no such source study; AlreadyExists if `to` already has `to_name`
// (nothing is written). If a later step fails, the partial copy is deleted again, so the
// target never keeps half a study. Returns the number of trials copied. `from` and `to`
// may be the same store (with another name).
Result<int64_t> CopyStudy(Storage& from, const std::string& from_name, Storage& to,
                          const std::string& to_name);

// The names CopyStudies would copy for `name`: the study `name` itself if it exists, else
// the stages of the playbook study `name` (every study called "<name>/<stage>"), sorted.
// NotFound naming `name` when there is neither.
Result<std::vector<std::string>> StudiesToCopy(Storage& from, const std::string& name);

}  // namespace mgr

#endif  // MGR_STORAGE_COPY_STUDY_H_
