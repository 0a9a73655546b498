#include "storage/sqlite_storage.h"

#include <sys/stat.h>

#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

#include "storage/base/files.h"
#include "storage/storage_internal.h"

namespace mgr {

using sqlite::Database;
using sqlite::Statement;
using storage_internal::CheckCompatible;
using storage_internal::CheckParam;
using storage_internal::CheckStateValues;
using storage_internal::CheckUpdatable;
using storage_internal::DumpJsonLenient;
using storage_internal::ParseJsonLenient;
using storage_internal::ParseOptionalDatetime;
using storage_internal::ParseState;
using storage_internal::StatesSql;
using storage_internal::StoredToValue;

namespace {

// Optuna's tables as SQLAlchemy creates them on SQLite (byte-identical sqlite_master text;
// tests/storage/sqlite_storage_test.cc compares them with python3-optuna's).
const char* const kSchema[] = {
    "CREATE TABLE studies (\n\tstudy_id INTEGER NOT NULL, \n\tstudy_name VARCHAR(512) NOT NULL, "
    "\n\tPRIMARY KEY (study_id)\n)",
    "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
    "CREATE TABLE version_info (\n\tversion_info_id INTEGER NOT NULL, \n\tschema_version INTEGER, "
    "\n\tlibrary_version VARCHAR(256), \n\tPRIMARY KEY (version_info_id), \n\tCHECK "
    "(version_info_id=1)\n)",
    "CREATE TABLE study_directions (\n\tstudy_direction_id INTEGER NOT NULL, \n\tdirection "
    "VARCHAR(8) NOT NULL, \n\tstudy_id INTEGER NOT NULL, \n\tobjective INTEGER NOT NULL, "
    "\n\tPRIMARY KEY (study_direction_id), \n\tUNIQUE (study_id, objective), \n\tFOREIGN "
    "KEY(study_id) REFERENCES studies (study_id)\n)",
    "CREATE TABLE study_user_attributes (\n\tstudy_user_attribute_id INTEGER NOT NULL, "
    "\n\tstudy_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY "
    "(study_user_attribute_id), \n\tUNIQUE (study_id, \"key\"), \n\tFOREIGN KEY(study_id) "
    "REFERENCES studies (study_id)\n)",
    "CREATE TABLE study_system_attributes (\n\tstudy_system_attribute_id INTEGER NOT NULL, "
    "\n\tstudy_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY "
    "(study_system_attribute_id), \n\tUNIQUE (study_id, \"key\"), \n\tFOREIGN KEY(study_id) "
    "REFERENCES studies (study_id)\n)",
    "CREATE TABLE trials (\n\ttrial_id INTEGER NOT NULL, \n\tnumber INTEGER, \n\tstudy_id "
    "INTEGER, \n\tstate VARCHAR(8) NOT NULL, \n\tdatetime_start DATETIME, \n\tdatetime_complete "
    "DATETIME, \n\tPRIMARY KEY (trial_id), \n\tFOREIGN KEY(study_id) REFERENCES studies "
    "(study_id)\n)",
    // Added by Optuna 3.2 (alembic v3.2.0.a); SQLAlchemy names it after index=True.
    "CREATE INDEX ix_trials_study_id ON trials (study_id)",
    "CREATE TABLE trial_user_attributes (\n\ttrial_user_attribute_id INTEGER NOT NULL, "
    "\n\ttrial_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY "
    "(trial_user_attribute_id), \n\tUNIQUE (trial_id, \"key\"), \n\tFOREIGN KEY(trial_id) "
    "REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_system_attributes (\n\ttrial_system_attribute_id INTEGER NOT NULL, "
    "\n\ttrial_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY "
    "(trial_system_attribute_id), \n\tUNIQUE (trial_id, \"key\"), \n\tFOREIGN KEY(trial_id) "
    "REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_params (\n\tparam_id INTEGER NOT NULL, \n\ttrial_id INTEGER, "
    "\n\tparam_name VARCHAR(512), \n\tparam_value FLOAT, \n\tdistribution_json TEXT, "
    "\n\tPRIMARY KEY (param_id), \n\tUNIQUE (trial_id, param_name), \n\tFOREIGN KEY(trial_id) "
    "REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_values (\n\ttrial_value_id INTEGER NOT NULL, \n\ttrial_id INTEGER NOT "
    "NULL, \n\tobjective INTEGER NOT NULL, \n\tvalue FLOAT, \n\tvalue_type VARCHAR(7) NOT NULL, "
    "\n\tPRIMARY KEY (trial_value_id), \n\tUNIQUE (trial_id, objective), \n\tFOREIGN "
    "KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_intermediate_values (\n\ttrial_intermediate_value_id INTEGER NOT NULL, "
    "\n\ttrial_id INTEGER NOT NULL, \n\tstep INTEGER NOT NULL, \n\tintermediate_value FLOAT, "
    "\n\tintermediate_value_type VARCHAR(7) NOT NULL, \n\tPRIMARY KEY "
    "(trial_intermediate_value_id), \n\tUNIQUE (trial_id, step), \n\tFOREIGN KEY(trial_id) "
    "REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_heartbeats (\n\ttrial_heartbeat_id INTEGER NOT NULL, \n\ttrial_id "
    "INTEGER NOT NULL, \n\theartbeat DATETIME NOT NULL, \n\tPRIMARY KEY (trial_heartbeat_id), "
    "\n\tUNIQUE (trial_id), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT "
    "alembic_version_pkc PRIMARY KEY (version_num)\n)",
};

// The columns every reader and writer here relies on, per table.
const std::map<std::string, std::vector<std::string>>& RequiredColumns() {
  static const auto* m = new std::map<std::string, std::vector<std::string>>{
      {"studies", {"study_id", "study_name"}},
      {"study_directions", {"study_direction_id", "direction", "study_id", "objective"}},
      {"study_user_attributes", {"study_user_attribute_id", "study_id", "key", "value_json"}},
      {"study_system_attributes", {"study_system_attribute_id", "study_id", "key", "value_json"}},
      {"trials",
       {"trial_id", "number", "study_id", "state", "datetime_start", "datetime_complete"}},
      {"trial_user_attributes", {"trial_user_attribute_id", "trial_id", "key", "value_json"}},
      {"trial_system_attributes", {"trial_system_attribute_id", "trial_id", "key", "value_json"}},
      {"trial_params", {"param_id", "trial_id", "param_name", "param_value", "distribution_json"}},
      {"trial_values", {"trial_value_id", "trial_id", "objective", "value", "value_type"}},
      {"trial_intermediate_values",
       {"trial_intermediate_value_id", "trial_id", "step", "intermediate_value",
        "intermediate_value_type"}},
      {"trial_heartbeats", {"trial_heartbeat_id", "trial_id", "heartbeat"}},
      {"version_info", {"version_info_id", "schema_version", "library_version"}},
      {"alembic_version", {"version_num"}},
  };
  return *m;
}

const double kInf = std::numeric_limits<double>::infinity();

std::string NowText() { return FormatDatetime(std::chrono::system_clock::now()); }

Status CheckParentDirectory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string dir = path.substr(0, slash);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IoError("cannot create SQLite storage '" + path + "': directory '" + dir +
                           "' does not exist (create it first)");
  }
  return Status::Ok();
}

}  // namespace

// --- Opening ---------------------------------------------------------------------------------

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const std::string& path) {
  return Open(path, Options());
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const std::string& path,
                                                           const Options& options) {
  if (path.empty()) return Status::InvalidArgument("empty SQLite storage path");
  if (options.read_only && path != ":memory:" && !PathExists(path)) {
    return Status::NotFound("database file '" + path + "' does not exist");
  }
  MGR_RETURN_IF_ERROR(CheckParentDirectory(path));
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, options.read_only));
  db->set_busy_deadline(options.busy_deadline);
  std::unique_ptr<SqliteStorage> s(new SqliteStorage(std::move(db)));
  MGR_RETURN_IF_ERROR(s->Initialize(options.read_only));
  MGR_RETURN_IF_ERROR(s->Tune());
  return s;
}

Status SqliteStorage::Initialize(bool read_only) {
  // Only reads until the file is known to be ours (or empty): a foreign file stays untouched.
  int64_t n_tables = 0;
  MGR_RETURN_IF_ERROR(db_->Retry([&]() -> Status {
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"));
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    n_tables = row ? st.Int(0) : 0;
    return Status::Ok();
  }));
  if (read_only) {
    if (n_tables == 0) {
      return Status::NotFound("database file '" + db_->path() +
                              "' is empty: no study has been stored in it yet");
    }
    return ValidateSchema();  // the journal mode stays as the file has it
  }
  if (n_tables == 0) {
    MGR_RETURN_IF_ERROR(db_->Retry([&] { return db_->Exec("PRAGMA journal_mode=WAL"); }));
    MGR_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=NORMAL"));
    MGR_RETURN_IF_ERROR(CreateSchema());
    return ValidateSchema();
  }
  MGR_RETURN_IF_ERROR(ValidateSchema());
  MGR_RETURN_IF_ERROR(db_->Retry([&] { return db_->Exec("PRAGMA journal_mode=WAL"); }));
  return db_->Exec("PRAGMA synchronous=NORMAL");
}

Status SqliteStorage::Tune() {
  // Samplers re-read the whole study every trial: keep it in memory-mapped pages and a
  // 64 MiB page cache instead of copying it through read() each time.
  MGR_RETURN_IF_ERROR(db_->Exec("PRAGMA mmap_size=1073741824"));
  return db_->Exec("PRAGMA cache_size=-65536");
}

Status SqliteStorage::CreateSchema() {
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    // Another process may have created it since we looked.
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"));
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row && st.Int(0) > 0) return Status::Ok();
    for (const char* ddl : kSchema) MGR_RETURN_IF_ERROR(db_->Exec(ddl));
    MGR_ASSIGN_OR_RETURN(Statement vi, db_->Prepare("INSERT INTO version_info (version_info_id, "
                                                    "schema_version, library_version) VALUES (1, "
                                                    "?, ?)"));
    MGR_RETURN_IF_ERROR(vi.Bind(1, kSchemaVersion).Bind(2, kLibraryVersion).Run());
    MGR_ASSIGN_OR_RETURN(Statement av,
                         db_->Prepare("INSERT INTO alembic_version (version_num) VALUES (?)"));
    return av.Bind(1, kAlembicVersion).Run();
  });
}

Status SqliteStorage::ValidateSchema() {
  const std::string file = "'" + db_->path() + "'";
  return db_->Transact(Database::Mode::kRead, [&]() -> Status {
    for (const auto& [table, columns] : RequiredColumns()) {
      MGR_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT name FROM pragma_table_info(?)"));
      st.Bind(1, table);
      std::set<std::string> have;
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        have.insert(st.Text(0));
      }
      if (have.empty()) {
        return Status::Corruption(file +
                                  " is an SQLite database but not an Optuna storage: it "
                                  "has no table '" +
                                  table + "' (use a new file name for a new study database)");
      }
      for (const std::string& c : columns) {
        if (have.count(c) == 0) {
          return Status::Corruption(file +
                                    " is an SQLite database but not an Optuna storage: "
                                    "table '" +
                                    table + "' has no column '" + c + "'");
        }
      }
    }
    MGR_ASSIGN_OR_RETURN(Statement av, db_->Prepare("SELECT version_num FROM alembic_version"));
    std::vector<std::string> versions;
    while (true) {
      MGR_ASSIGN_OR_RETURN(bool row, av.Step());
      if (!row) break;
      versions.push_back(av.Text(0));
    }
    if (versions.size() != 1) {
      return Status::Corruption(file +
                                ": table alembic_version should hold one revision, it "
                                "holds " +
                                std::to_string(versions.size()));
    }
    const std::string& v = versions[0];
    if (v != kAlembicVersion && v != kLegacyAlembicVersion) {
      return Status::FailedPrecondition(
          file + " has Optuna schema revision '" + v + "'; mgr-tune reads " + kAlembicVersion +
          " (Optuna 3.2-4.x) and " + kLegacyAlembicVersion +
          " (Optuna 3.0-3.1). Upgrade older files with `optuna storage upgrade --storage "
          "sqlite:///" +
          db_->path() + "`");
    }
    alembic_version_ = v;
    return Status::Ok();
  });
}

// --- Helpers (inside a transaction) ----------------------------------------------------------

Result<SqliteStorage::StudyRow> SqliteStorage::LoadStudy(int64_t study_id) {
  MGR_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT s.study_name, (SELECT COUNT(*) FROM study_directions d WHERE "
                   "d.study_id = s.study_id) FROM studies s WHERE s.study_id = ?"));
  st.Bind(1, study_id);
  MGR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound(Context() + ": no study with id " + std::to_string(study_id));
  }
  return StudyRow{st.Text(0), static_cast<size_t>(st.Int(1))};
}

Result<SqliteStorage::TrialRow> SqliteStorage::LoadTrialRow(int64_t trial_id) {
  MGR_ASSIGN_OR_RETURN(Statement st,
                       db_->Prepare("SELECT t.study_id, t.number, t.state, s.study_name FROM "
                                    "trials t JOIN studies s ON s.study_id = t.study_id WHERE "
                                    "t.trial_id = ?"));
  st.Bind(1, trial_id);
  MGR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound(Context() + ": no trial with id " + std::to_string(trial_id));
  }
  TrialRow r;
  r.trial_id = trial_id;
  r.study_id = st.Int(0);
  r.number = st.Int(1);
  MGR_ASSIGN_OR_RETURN(r.state, ParseState(st.Text(2), trial_id));
  r.desc = storage_internal::DescribeTrial(trial_id, st.Text(3), r.number);
  return r;
}

Result<SqliteStorage::TrialRow> SqliteStorage::LoadUpdatableTrial(int64_t trial_id) {
  MGR_ASSIGN_OR_RETURN(TrialRow r, LoadTrialRow(trial_id));
  MGR_RETURN_IF_ERROR(CheckUpdatable(r.desc, r.state).WithContext(Context()));
  return r;
}

Status SqliteStorage::CheckParamCompatible(const TrialRow& t, const std::string& name,
                                           const Distribution& dist) {
  // Any earlier record of the parameter in the study will do: compatibility is an
  // equivalence (same kind, same choices). LIMIT 1 stops at the first one.
  MGR_ASSIGN_OR_RETURN(Statement st,
                       db_->Prepare("SELECT p.distribution_json FROM trial_params p JOIN trials "
                                    "t ON t.trial_id = p.trial_id WHERE t.study_id = ? AND "
                                    "p.param_name = ? LIMIT 1"));
  st.Bind(1, t.study_id).Bind(2, name);
  MGR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Ok();
  Result<Distribution> prev = DistributionFromJsonString(st.Text(0));
  if (!prev.ok()) {
    return Status::Corruption(Context() + ": study of " + t.desc + ": parameter '" + name +
                              "': " + prev.status().message());
  }
  return CheckCompatible(t.desc, name, *prev, dist);
}

Status SqliteStorage::InsertParam(int64_t trial_id, const std::string& name, double internal,
                                  const Distribution& dist) {
  MGR_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("INSERT INTO trial_params (trial_id, param_name, param_value, "
                   "distribution_json) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, param_name) "
                   "DO UPDATE SET param_value = excluded.param_value, distribution_json = "
                   "excluded.distribution_json"));
  return st.Bind(1, trial_id)
      .Bind(2, name)
      .Bind(3, internal)
      .Bind(4, DistributionToJsonString(dist))
      .Run();
}

Status SqliteStorage::WriteValue(int64_t trial_id, int objective, double value) {
  MGR_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES "
                   "(?, ?, ?, ?) ON CONFLICT (trial_id, objective) DO UPDATE SET value = "
                   "excluded.value, value_type = excluded.value_type"));
  st.Bind(1, trial_id).Bind(2, objective);
  if (value == kInf) {
    st.BindNull(3).Bind(4, "INF_POS");
  } else if (value == -kInf) {
    st.BindNull(3).Bind(4, "INF_NEG");
  } else {
    st.Bind(3, value).Bind(4, "FINITE");
  }
  return st.Run();
}

Status SqliteStorage::WriteIntermediate(int64_t trial_id, int64_t step, double value) {
  MGR_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
                   "intermediate_value_type) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step) DO "
                   "UPDATE SET intermediate_value = excluded.intermediate_value, "
                   "intermediate_value_type = excluded.intermediate_value_type"));
  st.Bind(1, trial_id).Bind(2, step);
  if (std::isnan(value)) {
    st.BindNull(3).Bind(4, "NAN");
  } else if (value == kInf) {
    st.BindNull(3).Bind(4, "INF_POS");
  } else if (value == -kInf) {
    st.BindNull(3).Bind(4, "INF_NEG");
  } else {
    st.Bind(3, value).Bind(4, "FINITE");
  }
  return st.Run();
}

Status SqliteStorage::WriteAttr(const char* table, const char* id_column, int64_t id,
                                const std::string& key, const Json& value) {
  const std::string t(table), c(id_column);
  MGR_ASSIGN_OR_RETURN(Statement st,
                       db_->Prepare("INSERT INTO " + t + " (" + c +
                                    ", \"key\", value_json) VALUES (?, ?, ?) ON CONFLICT (" + c +
                                    ", \"key\") DO UPDATE SET value_json = excluded.value_json"));
  return st.Bind(1, id).Bind(2, key).Bind(3, DumpJsonLenient(value)).Run();
}

// --- Studies ---------------------------------------------------------------------------------

Result<int64_t> SqliteStorage::CreateStudy(const std::string& name,
                                           const std::vector<StudyDirection>& directions) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_RETURN_IF_ERROR(storage_internal::CheckDirections(name, directions));
  int64_t id = -1;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(Statement find,
                         db_->Prepare("SELECT study_id FROM studies WHERE study_name = ?"));
    find.Bind(1, name);
    MGR_ASSIGN_OR_RETURN(bool exists, find.Step());
    if (exists) {
      return Status::AlreadyExists(Context() + ": a study named '" + name +
                                   "' already exists (id " + std::to_string(find.Int(0)) +
                                   "); load it or choose another name");
    }
    MGR_ASSIGN_OR_RETURN(Statement ins,
                         db_->Prepare("INSERT INTO studies (study_name) VALUES (?)"));
    MGR_RETURN_IF_ERROR(ins.Bind(1, name).Run());
    id = db_->LastInsertRowId();
    MGR_ASSIGN_OR_RETURN(Statement dir,
                         db_->Prepare("INSERT INTO study_directions (direction, study_id, "
                                      "objective) VALUES (?, ?, ?)"));
    for (size_t i = 0; i < directions.size(); ++i) {
      MGR_RETURN_IF_ERROR(dir.Bind(1, StudyDirectionName(directions[i]))
                              .Bind(2, id)
                              .Bind(3, static_cast<int64_t>(i))
                              .Run());
      dir.Reset();
    }
    return Status::Ok();
  }));
  return id;
}

Status SqliteStorage::DeleteStudy(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    static const char* const kTrialTables[] = {"trial_params",
                                               "trial_values",
                                               "trial_intermediate_values",
                                               "trial_user_attributes",
                                               "trial_system_attributes",
                                               "trial_heartbeats"};
    for (const char* table : kTrialTables) {
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare(std::string("DELETE FROM ") + table +
                                        " WHERE trial_id IN (SELECT trial_id FROM trials WHERE "
                                        "study_id = ?)"));
      MGR_RETURN_IF_ERROR(st.Bind(1, study_id).Run());
    }
    static const char* const kStudyTables[] = {"trials", "study_directions",
                                               "study_user_attributes", "study_system_attributes",
                                               "studies"};
    for (const char* table : kStudyTables) {
      MGR_ASSIGN_OR_RETURN(
          Statement st, db_->Prepare(std::string("DELETE FROM ") + table + " WHERE study_id = ?"));
      MGR_RETURN_IF_ERROR(st.Bind(1, study_id).Run());
    }
    return Status::Ok();
  });
}

Result<int64_t> SqliteStorage::GetStudyId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = -1;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("SELECT study_id FROM studies WHERE study_name = ?"));
    st.Bind(1, name);
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound(Context() + ": no study named '" + name + "'");
    id = st.Int(0);
    return Status::Ok();
  }));
  return id;
}

Result<std::string> SqliteStorage::GetStudyName(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string name;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(StudyRow s, LoadStudy(study_id));
    name = s.name;
    return Status::Ok();
  }));
  return name;
}

Result<std::vector<StudyDirection>> SqliteStorage::GetStudyDirections(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StudyDirection> dirs;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    dirs.clear();
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("SELECT direction FROM study_directions WHERE study_id = ? "
                                      "ORDER BY objective"));
    st.Bind(1, study_id);
    while (true) {
      MGR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      Result<StudyDirection> d = ParseStudyDirection(st.Text(0));
      if (!d.ok()) return Status::Corruption(Context() + ": " + d.status().message());
      dirs.push_back(*d);
    }
    return Status::Ok();
  }));
  return dirs;
}

Status SqliteStorage::SetStudyAttr(const char* table, int64_t study_id, const std::string& key,
                                   const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    return WriteAttr(table, "study_id", study_id, key, value);
  });
}

Status SqliteStorage::SetStudyUserAttr(int64_t study_id, const std::string& key,
                                       const Json& value) {
  return SetStudyAttr("study_user_attributes", study_id, key, value);
}

Status SqliteStorage::SetStudySystemAttr(int64_t study_id, const std::string& key,
                                         const Json& value) {
  return SetStudyAttr("study_system_attributes", study_id, key, value);
}

Result<std::map<std::string, Json>> SqliteStorage::ReadStudyAttrs(const char* table,
                                                                  int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, Json> attrs;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    attrs.clear();
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare(std::string("SELECT \"key\", value_json FROM ") + table +
                                      " WHERE study_id = ?"));
    st.Bind(1, study_id);
    while (true) {
      MGR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      attrs[st.Text(0)] = ParseJsonLenient(st.Text(1));
    }
    return Status::Ok();
  }));
  return attrs;
}

Result<std::map<std::string, Json>> SqliteStorage::GetStudyUserAttrs(int64_t study_id) {
  return ReadStudyAttrs("study_user_attributes", study_id);
}

Result<std::map<std::string, Json>> SqliteStorage::GetStudySystemAttrs(int64_t study_id) {
  return ReadStudyAttrs("study_system_attributes", study_id);
}

Result<std::vector<StudySummary>> SqliteStorage::GetAllStudies() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StudySummary> out;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    out.clear();
    std::map<int64_t, size_t> index;
    {
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT study_id, study_name FROM studies ORDER BY "
                                        "study_id"));
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        index[st.Int(0)] = out.size();
        StudySummary s;
        s.study_id = st.Int(0);
        s.name = st.Text(1);
        out.push_back(std::move(s));
      }
    }
    {
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT study_id, direction FROM study_directions ORDER "
                                        "BY study_id, objective"));
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto it = index.find(st.Int(0));
        if (it == index.end()) continue;
        Result<StudyDirection> d = ParseStudyDirection(st.Text(1));
        if (!d.ok()) return Status::Corruption(Context() + ": " + d.status().message());
        out[it->second].directions.push_back(*d);
      }
    }
    for (int user = 0; user < 2; ++user) {
      MGR_ASSIGN_OR_RETURN(
          Statement st, db_->Prepare(std::string("SELECT study_id, \"key\", value_json FROM ") +
                                     (user ? "study_user_attributes" : "study_system_attributes")));
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto it = index.find(st.Int(0));
        if (it == index.end()) continue;
        auto& attrs = user ? out[it->second].user_attrs : out[it->second].system_attrs;
        attrs[st.Text(1)] = ParseJsonLenient(st.Text(2));
      }
    }
    {
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT study_id, COUNT(*), MIN(number) FROM trials GROUP "
                                        "BY study_id"));
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto it = index.find(st.Int(0));
        if (it != index.end()) out[it->second].n_trials = st.Int(1);
      }
    }
    {
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT study_id, datetime_start FROM trials WHERE number "
                                        "= 0"));
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto it = index.find(st.Int(0));
        if (it == index.end()) continue;
        MGR_ASSIGN_OR_RETURN(out[it->second].datetime_start,
                             ParseOptionalDatetime(st.OptionalText(1), -1));
      }
    }
    return Status::Ok();
  }));
  return out;
}

// --- Trials ----------------------------------------------------------------------------------

Result<int64_t> SqliteStorage::CreateTrial(int64_t study_id, const FrozenTrial* tmpl) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = -1;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(StudyRow study, LoadStudy(study_id));
    // The number is assigned in the same write transaction as the insert: no other
    // process can insert in between.
    MGR_ASSIGN_OR_RETURN(Statement count,
                         db_->Prepare("SELECT COUNT(*) FROM trials WHERE study_id = ?"));
    count.Bind(1, study_id);
    MGR_ASSIGN_OR_RETURN(bool row, count.Step());
    const int64_t number = row ? count.Int(0) : 0;
    count.Reset();

    FrozenTrial t;
    t.state = TrialState::kRunning;
    t.datetime_start = std::chrono::system_clock::now();
    TrialRow tr{-1, study_id, number, TrialState::kRunning,
                storage_internal::DescribeTrial(-1, study.name, number)};
    if (tmpl != nullptr) {
      t = *tmpl;
      MGR_RETURN_IF_ERROR(storage_internal::PrepareTemplate("template for new trial number " +
                                                                std::to_string(number) +
                                                                " of study '" + study.name + "'",
                                                            study.n_objectives, &t));
      for (const auto& [name, dist] : t.distributions) {
        MGR_RETURN_IF_ERROR(CheckParamCompatible(tr, name, dist));
      }
    }
    MGR_ASSIGN_OR_RETURN(Statement ins,
                         db_->Prepare("INSERT INTO trials (number, study_id, state, "
                                      "datetime_start, datetime_complete) VALUES (?, ?, ?, ?, "
                                      "?)"));
    ins.Bind(1, number).Bind(2, study_id).Bind(3, TrialStateName(t.state));
    if (t.datetime_start) {
      ins.Bind(4, FormatDatetime(*t.datetime_start));
    } else {
      ins.BindNull(4);
    }
    if (t.datetime_complete) {
      ins.Bind(5, FormatDatetime(*t.datetime_complete));
    } else {
      ins.BindNull(5);
    }
    MGR_RETURN_IF_ERROR(ins.Run());
    id = db_->LastInsertRowId();
    if (tmpl == nullptr) return Status::Ok();
    return storage_internal::WriteTrialRows(*this, id, t);
  }));
  return id;
}

Result<std::optional<int64_t>> SqliteStorage::ClaimWaitingTrial(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<int64_t> claimed;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    claimed.reset();
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("SELECT trial_id FROM trials WHERE study_id = ? AND state = "
                                      "'WAITING' ORDER BY trial_id LIMIT 1"));
    st.Bind(1, study_id);
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    const int64_t id = st.Int(0);
    st.Reset();
    MGR_ASSIGN_OR_RETURN(Statement up,
                         db_->Prepare("UPDATE trials SET state = 'RUNNING', datetime_start = ? "
                                      "WHERE trial_id = ? AND state = 'WAITING'"));
    MGR_RETURN_IF_ERROR(up.Bind(1, NowText()).Bind(2, id).Run());
    if (db_->Changes() == 1) claimed = id;
    return Status::Ok();
  }));
  return claimed;
}

Status SqliteStorage::SetTrialParam(int64_t trial_id, const std::string& name, double internal,
                                    const Distribution& dist) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(TrialRow t, LoadUpdatableTrial(trial_id));
    MGR_RETURN_IF_ERROR(CheckParam(t.desc, name, internal, dist));
    MGR_RETURN_IF_ERROR(CheckParamCompatible(t, name, dist));
    return InsertParam(trial_id, name, internal, dist);
  });
}

Status SqliteStorage::SetTrialIntermediateValue(int64_t trial_id, int64_t step, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadUpdatableTrial(trial_id).status());
    return WriteIntermediate(trial_id, step, value);
  });
}

Status SqliteStorage::SetTrialStateValues(int64_t trial_id, TrialState state,
                                          const std::vector<double>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(TrialRow t, LoadUpdatableTrial(trial_id));
    MGR_ASSIGN_OR_RETURN(StudyRow study, LoadStudy(t.study_id));
    MGR_RETURN_IF_ERROR(CheckStateValues(t.desc, state, values, study.n_objectives));
    const std::string now = NowText();
    if (state == TrialState::kRunning) {
      if (t.state != TrialState::kWaiting) {
        return Status::FailedPrecondition(Context() + ": " + t.desc + " is already RUNNING");
      }
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("UPDATE trials SET state = 'RUNNING', datetime_start = ? "
                                        "WHERE trial_id = ?"));
      return st.Bind(1, now).Bind(2, trial_id).Run();
    }
    for (size_t i = 0; i < values.size(); ++i) {
      MGR_RETURN_IF_ERROR(WriteValue(trial_id, static_cast<int>(i), values[i]));
    }
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("UPDATE trials SET state = ?, datetime_complete = ? WHERE "
                                      "trial_id = ?"));
    return st.Bind(1, TrialStateName(state)).Bind(2, now).Bind(3, trial_id).Run();
  });
}

Status SqliteStorage::SetTrialAttr(const char* table, int64_t trial_id, const std::string& key,
                                   const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadUpdatableTrial(trial_id).status());
    return WriteAttr(table, "trial_id", trial_id, key, value);
  });
}

Status SqliteStorage::SetTrialUserAttr(int64_t trial_id, const std::string& key,
                                       const Json& value) {
  return SetTrialAttr("trial_user_attributes", trial_id, key, value);
}

Status SqliteStorage::SetTrialSystemAttr(int64_t trial_id, const std::string& key,
                                         const Json& value) {
  return SetTrialAttr("trial_system_attributes", trial_id, key, value);
}

// --- Reading trials: the trials table, then one loader per child table ---------------------
namespace {

// The trials a LoadTrials call selected, and how to read their rows of a child table.
struct TrialSelection {
  std::vector<FrozenTrial> trials;            // ordered by number
  std::unordered_map<int64_t, size_t> index;  // trial id -> position in `trials`
  // Appended to "FROM <child table> x": either a join with the selected trials (an index
  // search per trial) or, when the selection is most of the file, nothing: reading the
  // child table front to back and dropping other trials' rows is about twice as fast as
  // 300k index searches.
  std::string join;
  int64_t arg = 0;  // the `?` of the join's WHERE

  void Bind(Statement& st) const {
    if (!join.empty()) st.Bind(1, arg);
  }
  // The selected trial with this id, or nullptr (a row of another trial).
  FrozenTrial* Find(int64_t trial_id) {
    auto it = index.find(trial_id);
    return it == index.end() ? nullptr : &trials[it->second];
  }
};

// Reads the rows of the trials table matching `where` (on alias t, one `?` bound to `arg`).
Result<TrialSelection> SelectTrials(Database& db, const std::string& where, int64_t arg) {
  TrialSelection sel;
  sel.arg = arg;
  bool scan_tables = false;
  {
    MGR_ASSIGN_OR_RETURN(Statement count,
                         db.Prepare("SELECT COUNT(*), (SELECT COUNT(*) FROM trials) FROM "
                                    "trials t WHERE " +
                                    where));
    count.Bind(1, arg);
    MGR_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) {
      sel.trials.reserve(static_cast<size_t>(count.Int(0)));
      sel.index.reserve(static_cast<size_t>(count.Int(0)));
      scan_tables = 2 * count.Int(0) >= count.Int(1);
    }
  }
  if (!scan_tables) sel.join = " JOIN trials t ON t.trial_id = x.trial_id WHERE " + where;
  MGR_ASSIGN_OR_RETURN(Statement st,
                       db.Prepare("SELECT t.trial_id, t.number, t.state, t.datetime_start, "
                                  "t.datetime_complete FROM trials t WHERE " +
                                  where + " ORDER BY t.number, t.trial_id"));
  st.Bind(1, arg);
  while (true) {
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    FrozenTrial t;
    t.trial_id = st.Int(0);
    t.number = st.Int(1);
    MGR_ASSIGN_OR_RETURN(t.state, ParseState(st.Text(2), t.trial_id));
    MGR_ASSIGN_OR_RETURN(t.datetime_start, ParseOptionalDatetime(st.OptionalText(3), t.trial_id));
    MGR_ASSIGN_OR_RETURN(t.datetime_complete,
                         ParseOptionalDatetime(st.OptionalText(4), t.trial_id));
    sel.index[t.trial_id] = sel.trials.size();
    sel.trials.push_back(std::move(t));
  }
  return sel;
}

// Runs `sql`, a child table's SELECT whose first column is trial_id, joined to the selection
// (`sel->join`), and calls `row(trial, statement)` for each row of a selected trial. A
// trial's rows come together: it is looked up once per run of rows.
template <typename RowFn>
Status ForEachSelectedRow(Database& db, const std::string& sql, TrialSelection* sel, RowFn row) {
  MGR_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  sel->Bind(st);
  int64_t last_id = -1;
  FrozenTrial* t = nullptr;
  while (true) {
    MGR_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) return Status::Ok();
    const int64_t id = st.Int(0);
    if (id != last_id) {
      t = sel->Find(id);
      last_id = id;
    }
    if (t != nullptr) MGR_RETURN_IF_ERROR(row(*t, st));
  }
}

// trial_params: params and distributions. `context` names the file in errors.
Status LoadParams(Database& db, const std::string& context, TrialSelection* sel) {
  // Most trials share a handful of distributions: parse each distinct JSON text once.
  std::vector<std::pair<std::string, Distribution>> parsed;
  return ForEachSelectedRow(
      db,
      "SELECT x.trial_id, x.param_name, x.param_value, x.distribution_json FROM trial_params x" +
          sel->join,
      sel, [&](FrozenTrial& t, Statement& st) -> Status {
        std::string name = st.Text(1);
        std::string_view json = st.View(3);
        const Distribution* dist = nullptr;
        for (const auto& [text, d] : parsed) {
          if (text == json) {
            dist = &d;
            break;
          }
        }
        if (dist == nullptr) {
          Result<Distribution> d = DistributionFromJsonString(std::string(json));
          if (!d.ok()) {
            return Status::Corruption(context + ": trial " + std::to_string(t.trial_id) +
                                      " parameter '" + name + "': " + d.status().message());
          }
          if (parsed.size() >= 64) parsed.erase(parsed.begin());  // many distinct: bound the scan
          parsed.emplace_back(std::string(json), *d);
          dist = &parsed.back().second;
        }
        t.params[name] = st.Double(2);
        t.distributions.emplace(std::move(name), *dist);
        return Status::Ok();
      });
}

// trial_values: one value per objective (NaN where an objective has none).
Status LoadValues(Database& db, const std::string& context, TrialSelection* sel) {
  return ForEachSelectedRow(
      db,
      "SELECT x.trial_id, x.objective, x.value, x.value_type FROM trial_values x" + sel->join +
          " ORDER BY x.trial_id, x.objective",
      sel, [&](FrozenTrial& t, Statement& st) -> Status {
        MGR_ASSIGN_OR_RETURN(double v,
                             StoredToValue(st.IsNull(2), st.Double(2), st.View(3),
                                           context + ": trial " + std::to_string(t.trial_id)));
        size_t objective = static_cast<size_t>(st.Int(1));
        if (t.values.size() <= objective) t.values.resize(objective + 1, std::nan(""));
        t.values[objective] = v;
        return Status::Ok();
      });
}

// trial_intermediate_values: the reported value of each step.
Status LoadIntermediateValues(Database& db, const std::string& context, TrialSelection* sel) {
  return ForEachSelectedRow(
      db,
      "SELECT x.trial_id, x.step, x.intermediate_value, x.intermediate_value_type "
      "FROM trial_intermediate_values x" +
          sel->join,
      sel, [&](FrozenTrial& t, Statement& st) -> Status {
        std::string_view type_text = st.View(3);
        double v;
        if (type_text == "FINITE" && !st.IsNull(2)) {
          v = st.Double(2);
        } else {
          MGR_ASSIGN_OR_RETURN(v, StoredToValue(st.IsNull(2), st.Double(2), type_text,
                                                context + ": trial " + std::to_string(t.trial_id)));
        }
        t.intermediate_values.emplace_hint(t.intermediate_values.end(), st.Int(1), v);
        return Status::Ok();
      });
}

// trial_user_attributes or trial_system_attributes (`table`) into the trials' `attrs`.
Status LoadTrialAttrs(Database& db, const char* table,
                      std::map<std::string, Json> FrozenTrial::*attrs, TrialSelection* sel) {
  return ForEachSelectedRow(
      db,
      std::string("SELECT x.trial_id, x.\"key\", x.value_json FROM ") + table + " x" + sel->join,
      sel, [&](FrozenTrial& t, Statement& st) -> Status {
        (t.*attrs)[st.Text(1)] = ParseJsonLenient(st.Text(2));
        return Status::Ok();
      });
}

}  // namespace

Result<std::vector<FrozenTrial>> SqliteStorage::LoadTrials(const std::string& where, int64_t arg) {
  MGR_ASSIGN_OR_RETURN(TrialSelection sel, SelectTrials(*db_, where, arg));
  if (sel.trials.empty()) return std::move(sel.trials);
  const std::string context = Context();
  MGR_RETURN_IF_ERROR(LoadParams(*db_, context, &sel));
  MGR_RETURN_IF_ERROR(LoadValues(*db_, context, &sel));
  MGR_RETURN_IF_ERROR(LoadIntermediateValues(*db_, context, &sel));
  MGR_RETURN_IF_ERROR(
      LoadTrialAttrs(*db_, "trial_system_attributes", &FrozenTrial::system_attrs, &sel));
  MGR_RETURN_IF_ERROR(
      LoadTrialAttrs(*db_, "trial_user_attributes", &FrozenTrial::user_attrs, &sel));
  return std::move(sel.trials);
}

Result<FrozenTrial> SqliteStorage::GetTrial(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FrozenTrial> trials;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(trials, LoadTrials("t.trial_id = ?", trial_id));
    return Status::Ok();
  }));
  if (trials.empty()) {
    return Status::NotFound(Context() + ": no trial with id " + std::to_string(trial_id));
  }
  return std::move(trials[0]);
}

Result<int64_t> SqliteStorage::GetTrialIdFromNumber(int64_t study_id, int64_t number) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = -1;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_ASSIGN_OR_RETURN(StudyRow s, LoadStudy(study_id));
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("SELECT trial_id FROM trials WHERE study_id = ? AND number "
                                      "= ?"));
    st.Bind(1, study_id).Bind(2, number);
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return Status::NotFound(Context() + ": study '" + s.name + "' has no trial number " +
                              std::to_string(number));
    }
    id = st.Int(0);
    return Status::Ok();
  }));
  return id;
}

Result<std::vector<FrozenTrial>> SqliteStorage::GetAllTrials(
    int64_t study_id, const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FrozenTrial> trials;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    MGR_ASSIGN_OR_RETURN(trials, LoadTrials("t.study_id = ?" + StatesSql(states), study_id));
    return Status::Ok();
  }));
  return trials;
}

Result<std::vector<FrozenTrial>> SqliteStorage::GetTrialsAfter(
    int64_t study_id, int64_t id_greater_than, const std::vector<int64_t>& included_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  // Integers only, so writing them into the statement is safe.
  std::string where = "t.study_id = ? AND (t.trial_id > " + std::to_string(id_greater_than);
  if (!included_ids.empty()) {
    where += " OR t.trial_id IN (";
    for (size_t i = 0; i < included_ids.size(); ++i) {
      where += (i ? "," : "") + std::to_string(included_ids[i]);
    }
    where += ")";
  }
  where += ")";
  std::vector<FrozenTrial> trials;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    MGR_ASSIGN_OR_RETURN(trials, LoadTrials(where, study_id));
    return Status::Ok();
  }));
  return trials;
}

Result<int64_t> SqliteStorage::CountTrials(int64_t study_id,
                                           const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kRead, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    MGR_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("SELECT COUNT(*) FROM trials t WHERE t.study_id = ?" + StatesSql(states)));
    st.Bind(1, study_id);
    MGR_ASSIGN_OR_RETURN(bool row, st.Step());
    n = row ? st.Int(0) : 0;
    return Status::Ok();
  }));
  return n;
}

// --- Heartbeats ------------------------------------------------------------------------------

Status SqliteStorage::RecordHeartbeat(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadUpdatableTrial(trial_id).status());
    MGR_ASSIGN_OR_RETURN(Statement st,
                         db_->Prepare("INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES "
                                      "(?, ?) ON CONFLICT (trial_id) DO UPDATE SET heartbeat = "
                                      "excluded.heartbeat"));
    return st.Bind(1, trial_id).Bind(2, NowText()).Run();
  });
}

Result<std::vector<int64_t>> SqliteStorage::FailStaleTrials(int64_t study_id,
                                                            std::chrono::seconds grace) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> failed;
  MGR_RETURN_IF_ERROR(db_->Transact(Database::Mode::kWrite, [&]() -> Status {
    failed.clear();
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    const TimePoint now = std::chrono::system_clock::now();
    std::vector<int64_t> stale;
    {
      MGR_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT t.trial_id, h.heartbeat FROM trials t JOIN "
                                        "trial_heartbeats h ON h.trial_id = t.trial_id WHERE "
                                        "t.study_id = ? AND t.state = 'RUNNING' ORDER BY "
                                        "t.trial_id"));
      st.Bind(1, study_id);
      while (true) {
        MGR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        // Optuna writes the database's CURRENT_TIMESTAMP (UTC, whole seconds), we write
        // microseconds; both parse to UTC time points.
        Result<TimePoint> beat = ParseDatetime(st.Text(1));
        if (!beat.ok()) continue;
        if (now - *beat > grace) stale.push_back(st.Int(0));
      }
    }
    MGR_ASSIGN_OR_RETURN(Statement up,
                         db_->Prepare("UPDATE trials SET state = 'FAIL', datetime_complete = ? "
                                      "WHERE trial_id = ? AND state = 'RUNNING'"));
    const std::string now_text = FormatDatetime(now);
    for (int64_t id : stale) {
      MGR_RETURN_IF_ERROR(up.Bind(1, now_text).Bind(2, id).Run());
      if (db_->Changes() == 1) failed.push_back(id);
      up.Reset();
    }
    return Status::Ok();
  }));
  return failed;
}

}  // namespace mgr
