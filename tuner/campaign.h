// `mgr-tune campaign campaign.json`: several study files run in order (the paper's NNET1,
// NNET2, then a MixNet built from their results), then one summary of the nets' test metrics
// side by side, as the paper's table 1 (docs/playbook.md "The paper's campaign").
//
// The campaign file:
//   {"name": "paper", "description": "...", "studies": ["nnet1.json", "nnet2.json", "mixnet.json"]}
// Paths are relative to the campaign file. Unknown keys are errors; every message names the
// file and the JSON path. Each study runs through the code of `mgr-tune run`, so each is
// resumable on its own and a second campaign run skips what is finished.
#ifndef MGR_TUNER_CAMPAIGN_H_
#define MGR_TUNER_CAMPAIGN_H_

#include <string>
#include <vector>

#include "storage/base/status.h"
#include "storage/storage.h"
#include "studies/study_file.h"

namespace mgr {

struct CampaignFile {
  std::string path;  // absolute; empty for a campaign given as study files on the command line
  std::string dir;   // where the summary goes
  std::string name;
  std::string description;
  std::vector<std::string> study_paths;  // absolute, in running order
};

// Parses and validates a campaign file's JSON as if read from `path`; all errors in one
// InvalidArgument, one per line ("campaign.json: studies[1]: must be a string").
Result<CampaignFile> ParseCampaignJson(const Json& json, const std::string& path);
// Reads the file, then ParseCampaignJson.
Result<CampaignFile> LoadCampaignFile(const std::string& path);

// Loads every study of the campaign before anything runs and checks them together: each
// loads (LoadStudyFile), no study name or file twice, and a MixNet's `encoders` that name a
// study file name one that runs earlier in the campaign (and of the right family). All
// errors in one InvalidArgument.
Result<std::vector<StudyFile>> LoadCampaignStudies(const CampaignFile& campaign);

// One row of the summary: a study's final result (result.json) and its trial counts.
struct CampaignRow {
  std::string study;   // the study's name
  std::string family;  // nnet1, nnet2, mixnet
  std::string file;    // the study file
  std::string result_path;
  int64_t trials = 0;         // complete + pruned, over every stage
  int64_t failed_trials = 0;  // failed (retried ones included)
  Json result;                // result.json; null when there is none
  std::string missing;        // why there are no metrics (no export yet, an error)
};

// The row of one study, from its store (opened read-only; a missing store counts no
// trials) and <run_dir>/final/result.json.
CampaignRow ReadCampaignRow(const StudyFile& study);

// The summary as JSON ({"campaign", "description", "nets": [...]}, each net with its test
// metrics as {mean, std, n}) and as Markdown (a table of the nets side by side, then each
// incumbent's settings).
Json CampaignSummaryJson(const CampaignFile& campaign, const std::vector<CampaignRow>& rows);
std::string CampaignSummaryMarkdown(const CampaignFile& campaign,
                                    const std::vector<CampaignRow>& rows);

}  // namespace mgr

#endif  // MGR_TUNER_CAMPAIGN_H_
