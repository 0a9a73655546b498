// InMemoryStorage: the trial store kept in this process's memory (Optuna's InMemoryStorage).
//
// Thread-safe: one mutex serializes every call. Nothing survives the process; use it for
// tests, dry runs and studies that need no resume.
#ifndef MGR_STORAGE_IN_MEMORY_STORAGE_H_
#define MGR_STORAGE_IN_MEMORY_STORAGE_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace mgr {

class InMemoryStorage final : public Storage {
 public:
  InMemoryStorage() = default;
  InMemoryStorage(const InMemoryStorage&) = delete;
  InMemoryStorage& operator=(const InMemoryStorage&) = delete;

  Result<int64_t> CreateStudy(const std::string& name,
                              const std::vector<StudyDirection>& directions) override;
  Status DeleteStudy(int64_t study_id) override;
  Result<int64_t> GetStudyId(const std::string& name) override;
  Result<std::string> GetStudyName(int64_t study_id) override;
  Result<std::vector<StudyDirection>> GetStudyDirections(int64_t study_id) override;
  Status SetStudyUserAttr(int64_t study_id, const std::string& key, const Json& value) override;
  Status SetStudySystemAttr(int64_t study_id, const std::string& key, const Json& value) override;
  Result<std::map<std::string, Json>> GetStudyUserAttrs(int64_t study_id) override;
  Result<std::map<std::string, Json>> GetStudySystemAttrs(int64_t study_id) override;
  Result<std::vector<StudySummary>> GetAllStudies() override;

  Result<int64_t> CreateTrial(int64_t study_id,
                              const FrozenTrial* template_trial = nullptr) override;
  Result<std::optional<int64_t>> ClaimWaitingTrial(int64_t study_id) override;
  Status SetTrialParam(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& dist) override;
  Status SetTrialIntermediateValue(int64_t trial_id, int64_t step, double value) override;
  Status SetTrialStateValues(int64_t trial_id, TrialState state,
                             const std::vector<double>& values = {}) override;
  Status SetTrialUserAttr(int64_t trial_id, const std::string& key, const Json& value) override;
  Status SetTrialSystemAttr(int64_t trial_id, const std::string& key, const Json& value) override;
  Result<FrozenTrial> GetTrial(int64_t trial_id) override;
  Result<int64_t> GetTrialIdFromNumber(int64_t study_id, int64_t number) override;
  Result<std::vector<FrozenTrial>> GetAllTrials(
      int64_t study_id, const std::vector<TrialState>& states = {}) override;
  Result<int64_t> CountTrials(int64_t study_id,
                              const std::vector<TrialState>& states = {}) override;

  Status RecordHeartbeat(int64_t trial_id) override;
  Result<std::vector<int64_t>> FailStaleTrials(int64_t study_id,
                                               std::chrono::seconds grace) override;

 private:
  struct StudyRecord {
    std::string name;
    std::vector<StudyDirection> directions;
    std::map<std::string, Json> user_attrs;
    std::map<std::string, Json> system_attrs;
    std::vector<int64_t> trial_ids;                           // index = number
    std::map<std::string, Distribution> param_distributions;  // first seen per name
  };
  struct TrialRecord {
    int64_t study_id;
    FrozenTrial trial;
    std::optional<TimePoint> heartbeat;
  };

  Result<StudyRecord*> FindStudy(int64_t study_id);
  Result<TrialRecord*> FindTrial(int64_t trial_id);
  std::string Describe(const TrialRecord& r) const;
  Result<TrialRecord*> FindUpdatableTrial(int64_t trial_id);

  std::mutex mu_;
  int64_t next_study_id_ = 1;  // ids start at 1, as SQLite's do
  int64_t next_trial_id_ = 1;
  std::map<int64_t, StudyRecord> studies_;
  std::map<int64_t, TrialRecord> trials_;
};

}  // namespace mgr

#endif  // MGR_STORAGE_IN_MEMORY_STORAGE_H_
