// PostgresStorage: the trial store in a PostgreSQL database with Optuna's RDB schema.
//
// The tables are exactly what Python Optuna creates (storage/postgres_schema.sql, plus the
// index Optuna 3.2 adds; alembic revision v3.2.0.a, schema_version 12), so Optuna 4/5's
// RDBStorage and optuna-dashboard open the database as it is, even while mgr-tune writes
// (Optuna 3.0/3.1 with skip_compatibility_check). An empty database gets the schema on
// first open; one that Optuna 3.0/3.1 created (v3.0.0.d) is used as it is.
//
// Concurrency: thread-safe (one connection, calls serialized by a mutex); any number of
// processes on any number of hosts may share the database. Every call is one transaction
// (READ COMMITTED) whose writes lock the rows they depend on: the study row for a new
// trial's number, the trial row for a write to a trial, SKIP LOCKED for claiming a WAITING
// trial. A lost connection is reopened before the next call; a call that fails midway
// (connection lost, server restarted) is rolled back whole and returns kUnavailable.
#ifndef MGR_STORAGE_POSTGRES_STORAGE_H_
#define MGR_STORAGE_POSTGRES_STORAGE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/postgres_db.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"

namespace mgr {

class PostgresStorage final : public Storage {
 public:
  static constexpr const char* kAlembicVersion = "v3.2.0.a";        // written to new databases
  static constexpr const char* kLegacyAlembicVersion = "v3.0.0.d";  // Optuna 3.0 / 3.1

  struct Options {
    // Create Optuna's tables in a database that has none; when false that is NotFound.
    bool create_schema = true;
  };

  // Connects to `url` (postgresql://user:pass@host:port/db, pg::ParseUrl) and creates the
  // schema when the database has none (options.create_schema). Errors name host:port/db, never the
  // password: InvalidArgument for a bad URL, Unavailable when the server cannot be reached,
  // Corruption when the database holds other tables but not Optuna's, FailedPrecondition
  // for a schema revision this version cannot read.
  static Result<std::unique_ptr<PostgresStorage>> Open(const std::string& url,
                                                       const Options& options);

  // "host:port/db"
  std::string Describe() const { return conn_->info().Describe(); }
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

  explicit PostgresStorage(std::unique_ptr<pg::Connection> conn) : conn_(std::move(conn)) {}
  Status Initialize(bool create_schema);

  // Runs `body` as one transaction (under mu_); the error names the database.
  Status Transact(const std::function<Status()>& body);
  Result<pg::Rows> Exec(const std::string& sql, const std::vector<pg::Param>& params = {});

  // Helpers that run inside a transaction. `lock` takes the row's lock (FOR UPDATE).
  Result<StudyRow> LoadStudy(int64_t study_id, bool lock = false);
  // Not in a transaction: runs `write` (an INSERT ... SELECT ... FROM t, t being trial $1's
  // row, locked, when the trial is not finished) as one statement; when it wrote nothing,
  // runs LoadUpdatableTrial (its error) then `in_transaction` in a transaction.
  Status WriteToUpdatableTrial(int64_t trial_id, const std::string& write,
                               const std::vector<pg::Param>& params,
                               const std::function<Status()>& in_transaction);
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
  // The trials matching `where` (on alias t, with `params` as $1...) with all their rows, by
  // number, read by one statement (one snapshot).
  Result<std::vector<FrozenTrial>> LoadTrials(const std::string& where,
                                              const std::vector<pg::Param>& params);
  // LoadTrials of study `study_id`'s trials; NotFound when it finds none and the study
  // does not exist.
  Result<std::vector<FrozenTrial>> LoadStudyTrials(int64_t study_id, const std::string& where,
                                                   const std::vector<pg::Param>& params);
  std::string Context() const { return "PostgreSQL storage " + Describe(); }

  std::mutex mu_;
  std::unique_ptr<pg::Connection> conn_;
  std::string alembic_version_;
};

}  // namespace mgr

#endif  // MGR_STORAGE_POSTGRES_STORAGE_H_
