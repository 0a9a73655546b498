// SqliteStorage: the trial store in an SQLite file with Optuna's RDB schema.
//
// The file is exactly what Optuna >= 3.2 writes (alembic revision v3.2.0.a, schema_version
// 12), so Python Optuna and optuna-dashboard read it, even while mgr-tune writes to it.
// Files written by Optuna 3.0/3.1 (revision v3.0.0.d) are opened as they are; their stamp
// is left alone. See docs/storage.md.
//
// Concurrency: thread-safe (one connection, calls serialized by a mutex). Several
// processes may share one file: every call is one short transaction (BEGIN IMMEDIATE for
// writes), WAL mode lets readers run beside the writer, and a busy database is retried with
// backoff; only after the busy deadline (60 s by default) does a call return kBusy.
// Durability: WAL with synchronous=NORMAL. A crash of the process (even SIGKILL) never
// loses a committed call or leaves a half-written one; a power cut may lose the last calls
// but never corrupts the file.
#ifndef MGR_STORAGE_SQLITE_STORAGE_H_
#define MGR_STORAGE_SQLITE_STORAGE_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite_db.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"

namespace mgr {

class SqliteStorage final : public Storage {
 public:
  struct Options {
    // How long a call waits for another process's write lock before returning kBusy.
    std::chrono::milliseconds busy_deadline{std::chrono::seconds(60)};
    // Open the file read-only: the file is never changed (not even switched to WAL), every
    // write fails, and a missing or empty file is NotFound instead of a new database.
    bool read_only = false;
  };

  // Alembic revisions this backend reads and writes.
  static constexpr const char* kAlembicVersion = "v3.2.0.a";        // written to new files
  static constexpr const char* kLegacyAlembicVersion = "v3.0.0.d";  // Optuna 3.0 / 3.1
  static constexpr int kSchemaVersion = 12;
  static constexpr const char* kLibraryVersion = "3.2.0";

  // Opens `path`, creating a new database if the file does not exist or is empty (unless
  // read_only).
  // Errors (the file is left untouched): IoError if the directory is missing or the file
  // cannot be opened, Corruption if it is not SQLite or not an Optuna storage,
  // FailedPrecondition if its schema revision is one this version cannot read.
  static Result<std::unique_ptr<SqliteStorage>> Open(const std::string& path);
  static Result<std::unique_ptr<SqliteStorage>> Open(const std::string& path,
                                                     const Options& options);

  const std::string& path() const { return db_->path(); }
  // The alembic revision the file is stamped with ("v3.2.0.a" or "v3.0.0.d").
  const std::string& alembic_version() const { return alembic_version_; }

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
  // One query per table for the whole study (no query per trial).
  Result<std::vector<FrozenTrial>> GetAllTrials(
      int64_t study_id, const std::vector<TrialState>& states = {}) override;
  Result<std::vector<FrozenTrial>> GetTrialsAfter(
      int64_t study_id, int64_t id_greater_than, const std::vector<int64_t>& included_ids) override;
  Result<int64_t> CountTrials(int64_t study_id,
                              const std::vector<TrialState>& states = {}) override;

  Status RecordHeartbeat(int64_t trial_id) override;
  Result<std::vector<int64_t>> FailStaleTrials(int64_t study_id,
                                               std::chrono::seconds grace) override;

 private:
  template <typename Backend>
  friend Status storage_internal::WriteTrialRows(Backend& b, int64_t id, const FrozenTrial& t);

  struct TrialRow {
    int64_t trial_id;
    int64_t study_id;
    int64_t number;
    TrialState state;
    std::string desc;  // "trial 12 (study 'x', number 3)"
  };
  struct StudyRow {
    std::string name;
    size_t n_objectives;
  };

  explicit SqliteStorage(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  Status Initialize(bool read_only);
  Status Tune();
  Status CreateSchema();
  Status ValidateSchema();

  // Helpers that run inside a transaction.
  Result<StudyRow> LoadStudy(int64_t study_id);
  Result<TrialRow> LoadTrialRow(int64_t trial_id);
  Result<TrialRow> LoadUpdatableTrial(int64_t trial_id);
  Status CheckParamCompatible(const TrialRow& t, const std::string& name, const Distribution& dist);
  Status InsertParam(int64_t trial_id, const std::string& name, double internal,
                     const Distribution& dist);
  Status WriteValue(int64_t trial_id, int objective, double value);
  Status WriteIntermediate(int64_t trial_id, int64_t step, double value);
  Status WriteAttr(const char* table, const char* id_column, int64_t id, const std::string& key,
                   const Json& value);
  Result<std::map<std::string, Json>> ReadStudyAttrs(const char* table, int64_t study_id);
  Status SetStudyAttr(const char* table, int64_t study_id, const std::string& key,
                      const Json& value);
  Status SetTrialAttr(const char* table, int64_t trial_id, const std::string& key,
                      const Json& value);
  // Loads trials matching `where` (on alias t, one `?` bound to `arg`). When they are most
  // of the file, the child tables are read whole instead of searched per trial.
  Result<std::vector<FrozenTrial>> LoadTrials(const std::string& where, int64_t arg);
  std::string Context() const { return "SQLite storage '" + db_->path() + "'"; }

  std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;
  std::string alembic_version_;
};

}  // namespace mgr

#endif  // MGR_STORAGE_SQLITE_STORAGE_H_
