// `mgr-tune run study.json` (also `mgr-tune study.json`) and `mgr-tune status study.json`.
#ifndef MGR_TUNER_RUN_COMMAND_H_
#define MGR_TUNER_RUN_COMMAND_H_

#include <ostream>

#include "storage/storage.h"
#include "studies/study_file.h"

namespace mgr {

// Where the playbook stands: per stage its trials (complete/pruned/failed/running/waiting
// of the budget), best value and decision, then the incumbent. Read-only.
Status PrintStudyStatus(const StudyFile& study, Storage& storage, std::ostream& out);

}  // namespace mgr

#endif  // MGR_TUNER_RUN_COMMAND_H_
