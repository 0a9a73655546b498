// The trial store: the interface every backend implements (in-memory, SQLite).
//
// It mirrors Optuna's BaseStorage so that a study written here is a study Optuna reads.
// Contract shared by all backends (tests/storage/storage_conformance_test.cc checks it):
// - Trial numbers are 0, 1, 2... per study, assigned atomically at creation.
// - A finished trial (COMPLETE, PRUNED, FAIL) is immutable: every write to it returns
//   FailedPrecondition and changes nothing.
// - Every call either happens entirely or not at all.
// - Objects are thread-safe (calls are serialized internally). The SQLite backend is also
//   safe across processes sharing one file.
#ifndef MGR_STORAGE_STORAGE_H_
#define MGR_STORAGE_STORAGE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/base/status.h"
#include "storage/distribution.h"
#include "storage/trial.h"

namespace mgr {

struct StudySummary {
  int64_t study_id = -1;
  std::string name;
  std::vector<StudyDirection> directions;
  std::map<std::string, Json> user_attrs;
  std::map<std::string, Json> system_attrs;
  int64_t n_trials = 0;
  std::optional<TimePoint> datetime_start;  // of its first trial
};

class Storage {
 public:
  virtual ~Storage() = default;

  // --- Studies ---------------------------------------------------------------------------
  // AlreadyExists if the name is taken.
  virtual Result<int64_t> CreateStudy(const std::string& name,
                                      const std::vector<StudyDirection>& directions) = 0;
  // Deletes the study and all its trials.
  virtual Status DeleteStudy(int64_t study_id) = 0;
  virtual Result<int64_t> GetStudyId(const std::string& name) = 0;  // NotFound
  virtual Result<std::string> GetStudyName(int64_t study_id) = 0;
  virtual Result<std::vector<StudyDirection>> GetStudyDirections(int64_t study_id) = 0;
  virtual Status SetStudyUserAttr(int64_t study_id, const std::string& key, const Json& value) = 0;
  virtual Status SetStudySystemAttr(int64_t study_id, const std::string& key,
                                    const Json& value) = 0;
  virtual Result<std::map<std::string, Json>> GetStudyUserAttrs(int64_t study_id) = 0;
  virtual Result<std::map<std::string, Json>> GetStudySystemAttrs(int64_t study_id) = 0;
  virtual Result<std::vector<StudySummary>> GetAllStudies() = 0;

  // --- Trials ----------------------------------------------------------------------------
  // Creates a RUNNING trial (datetime_start now). With a template (Optuna's template_trial,
  // used by enqueue and retries) copies its state, values, params, distributions,
  // intermediate values, attributes and datetimes instead; WAITING templates get no start.
  virtual Result<int64_t> CreateTrial(int64_t study_id,
                                      const FrozenTrial* template_trial = nullptr) = 0;
  // Atomically moves the study's oldest WAITING trial to RUNNING (datetime_start now) and
  // returns its id; nullopt if there is none. Two callers never get the same trial.
  virtual Result<std::optional<int64_t>> ClaimWaitingTrial(int64_t study_id) = 0;
  // InvalidArgument if `dist` is incompatible with the distribution the same parameter has
  // in another trial of the study, or `internal` is not in `dist`.
  virtual Status SetTrialParam(int64_t trial_id, const std::string& name, double internal,
                               const Distribution& dist) = 0;
  // Overwrites the value of an already reported step.
  virtual Status SetTrialIntermediateValue(int64_t trial_id, int64_t step, double value) = 0;
  // Sets the state (and values, for COMPLETE and optionally PRUNED); finishing sets
  // datetime_complete. FailedPrecondition if the trial is already finished.
  virtual Status SetTrialStateValues(int64_t trial_id, TrialState state,
                                     const std::vector<double>& values = {}) = 0;
  virtual Status SetTrialUserAttr(int64_t trial_id, const std::string& key, const Json& value) = 0;
  virtual Status SetTrialSystemAttr(int64_t trial_id, const std::string& key,
                                    const Json& value) = 0;
  virtual Result<FrozenTrial> GetTrial(int64_t trial_id) = 0;
  virtual Result<int64_t> GetTrialIdFromNumber(int64_t study_id, int64_t number) = 0;
  // All trials of the study ordered by number; only those in `states` when it is non-empty.
  virtual Result<std::vector<FrozenTrial>> GetAllTrials(
      int64_t study_id, const std::vector<TrialState>& states = {}) = 0;
  // Optuna's _get_trials(included_trial_ids, trial_id_greater_than), which its cached
  // storage uses: the study's trials whose id is > `id_greater_than` or in `included_ids`,
  // ordered by number. Finished trials never change state or values, so a caller that keeps
  // them needs only the trials it has not seen finished. The default reads all trials.
  virtual Result<std::vector<FrozenTrial>> GetTrialsAfter(int64_t study_id, int64_t id_greater_than,
                                                          const std::vector<int64_t>& included_ids);
  virtual Result<int64_t> CountTrials(int64_t study_id,
                                      const std::vector<TrialState>& states = {}) = 0;

  // --- Heartbeats --------------------------------------------------------------------------
  // Records "now" as the trial's heartbeat (Optuna's trial_heartbeats).
  virtual Status RecordHeartbeat(int64_t trial_id) = 0;
  // Fails every RUNNING trial of the study whose heartbeat is older than `grace` (trials
  // with no heartbeat are never stale) and returns the ids this call failed. Safe to run
  // from several processes at once: each stale trial is failed, and returned, exactly once.
  virtual Result<std::vector<int64_t>> FailStaleTrials(int64_t study_id,
                                                       std::chrono::seconds grace) = 0;
};

// --- Opening a store from a URL ----------------------------------------------------------
// The one place that reads storage URLs: the run, status and storage commands all open
// their store through OpenStorage.

// A storage URL, parsed. The forms (Optuna's, plus two shorthands):
//   ":memory:"                    the in-memory backend (gone when the process exits)
//   "sqlite:///relative/path.db"  SQLite, path relative to the working directory
//   "sqlite:////absolute/path.db" SQLite, absolute path (SQLAlchemy's form)
//   "sqlite:///:memory:"          SQLite's own in-memory database
//   "path.db", "path.sqlite", "path.sqlite3"   SQLite, a plain path
//   "postgresql://user:pass@host:port/db"      PostgreSQL (also postgresql+psycopg2://,
//                                              postgres://; storage/postgres_db.h)
struct StorageUrl {
  enum class Backend { kInMemory, kSqlite, kPostgres };
  Backend backend = Backend::kInMemory;
  // kSqlite: the database file as written in the URL, or ":memory:". kPostgres: the whole
  // URL (it may hold a password: print Describe(), never this).
  std::string path;
  // SQLAlchemy query options after '?' ("timeout=5"). None is supported: OpenStorage
  // rejects a URL that has them.
  std::string query;

  // The file the store lives in; "" for an in-memory or PostgreSQL store.
  std::string FilePath() const;
  // For messages: the file, "postgresql host:port/db" (no user, no password) or ":memory:".
  std::string Describe() const;
};

// InvalidArgument (naming the URL and the accepted forms) for anything else: another
// scheme ("mysql://..."), a PostgreSQL URL pg::ParseUrl refuses, an empty path, a path with a NUL
// byte, a plain path with another extension. Total: returns for any byte string, never throws
// (fuzzed).
Result<StorageUrl> ParseStorageUrl(std::string_view url);

// `url` for messages and logs: StorageUrl::Describe() (never a password), or the text
// itself when it does not parse.
std::string DescribeStorageUrl(std::string_view url);

struct OpenOptions {
  // Create a new database when the file does not exist. When false, a missing file is
  // NotFound ("database file 'x.db' does not exist (storage sqlite:///x.db)").
  bool create_if_missing = true;
  // Open the SQLite file read-only: nothing this store does changes the file, and every
  // write returns an error. Implies !create_if_missing; an empty file (no Optuna schema
  // yet) is NotFound too. PostgreSQL: a database without the schema is NotFound (nothing
  // is created); writes are not blocked.
  bool read_only = false;
};

// Opens the store `url` names (see StorageUrl). The options concern database files; an
// in-memory store is always new and writable.
Result<std::unique_ptr<Storage>> OpenStorage(std::string_view url, const OpenOptions& options = {});

}  // namespace mgr

#endif  // MGR_STORAGE_STORAGE_H_
