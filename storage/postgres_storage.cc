#include "storage/postgres_storage.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>
#include <unordered_map>

#include "storage/postgres_schema_sql.h"  // generated from storage/postgres_schema.sql
#include "storage/storage_internal.h"

namespace mgr {

using pg::Param;
using pg::Rows;
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

const double kInf = std::numeric_limits<double>::infinity();

// Tables a database must have to be an Optuna storage.
const char* const kTables[] = {"studies",
                               "study_directions",
                               "study_user_attributes",
                               "study_system_attributes",
                               "trials",
                               "trial_user_attributes",
                               "trial_system_attributes",
                               "trial_params",
                               "trial_values",
                               "trial_intermediate_values",
                               "trial_heartbeats",
                               "version_info",
                               "alembic_version"};

// Serializes schema creation across processes (an arbitrary 64-bit key: "mgrtune1").
constexpr const char* kSchemaLockKey = "7886728794729822513";

// Timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" whatever the session's DateStyle.
std::string Ts(const std::string& column) {
  return "to_char(" + column + ", 'YYYY-MM-DD HH24:MI:SS.US')";
}

// Shortest text that reads back as the same double (PostgreSQL parses it exactly).
Param Num(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}
Param Num(int64_t v) { return std::to_string(v); }
Param Text(const std::string& s) { return s; }
Param Now() { return FormatDatetime(std::chrono::system_clock::now()); }

std::optional<std::string> OptionalText(const Rows& rows, int r, int c) {
  if (rows.IsNull(r, c)) return std::nullopt;
  return rows.Text(r, c);
}

// A value and its type column as Optuna stores them: NULL and INF_POS / INF_NEG / NAN.
std::pair<Param, Param> StoredValue(double value) {
  if (std::isnan(value)) return {std::nullopt, Text("NAN")};
  if (value == kInf) return {std::nullopt, Text("INF_POS")};
  if (value == -kInf) return {std::nullopt, Text("INF_NEG")};
  return {Num(value), Text("FINITE")};
}

// Heads a one-statement write to trial $1: `t` is its row, locked, when it is not finished.
constexpr const char* kUpdatableTrial =
    "WITH t AS (SELECT trial_id, study_id FROM trials WHERE trial_id = $1 AND state IN "
    "('RUNNING', 'WAITING') FOR UPDATE) ";

// The schema file, one statement at a time (libpq's parameterised calls run one each).
std::vector<std::string> SchemaStatements() {
  std::vector<std::string> out;
  std::string current;
  const std::string text = kPostgresSchemaSql;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.rfind("--", 0) == 0 || line.empty()) continue;
    current += line + "\n";
    if (line.back() == ';') {
      out.push_back(current);
      current.clear();
    }
  }
  return out;
}

}  // namespace

// --- Opening ---------------------------------------------------------------------------------

Result<std::unique_ptr<PostgresStorage>> PostgresStorage::Open(const std::string& url,
                                                               const Options& options) {
  MGR_ASSIGN_OR_RETURN(pg::ConnectionInfo info, pg::ParseUrl(url));
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, pg::Connection::Open(info));
  std::unique_ptr<PostgresStorage> s(new PostgresStorage(std::move(conn)));
  MGR_RETURN_IF_ERROR(s->Initialize(options.create_schema));
  return s;
}

Result<Rows> PostgresStorage::Exec(const std::string& sql, const std::vector<Param>& params) {
  return conn_->Exec(sql, params);
}

Status PostgresStorage::Transact(const std::function<Status()>& body) {
  return conn_->Transact(body);
}

Status PostgresStorage::Initialize(bool create_schema) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string db = "PostgreSQL database " + Describe();
  return Transact([&]() -> Status {
    MGR_RETURN_IF_ERROR(
        Exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")").status());
    MGR_ASSIGN_OR_RETURN(Rows have,
                         Exec("SELECT to_regclass('alembic_version') IS NOT NULL, (SELECT "
                              "COUNT(*) FROM pg_tables WHERE schemaname = current_schema())"));
    if (have.Text(0, 0) != "t") {
      if (have.Int(0, 1) > 0) {
        return Status::Corruption(db + " holds " + have.Text(0, 1) +
                                  " tables but not Optuna's (no table alembic_version): use a "
                                  "new database for a study store");
      }
      if (!create_schema) {
        return Status::NotFound(db + " has no study store yet (no Optuna tables)");
      }
      for (const std::string& ddl : SchemaStatements()) MGR_RETURN_IF_ERROR(Exec(ddl).status());
      // Optuna 3.2's revision: one more index; Optuna 4 and 5 open it without migrating.
      MGR_RETURN_IF_ERROR(
          Exec("CREATE INDEX ix_trials_study_id ON trials USING btree (study_id)").status());
      MGR_RETURN_IF_ERROR(
          Exec("UPDATE alembic_version SET version_num = $1", {Text(kAlembicVersion)}).status());
      MGR_RETURN_IF_ERROR(
          Exec("UPDATE version_info SET library_version = '3.2.0' WHERE version_info_id = 1")
              .status());
    }
    for (const char* table : kTables) {
      MGR_ASSIGN_OR_RETURN(Rows t, Exec("SELECT to_regclass($1) IS NOT NULL", {Text(table)}));
      if (t.Text(0, 0) != "t") {
        return Status::Corruption(db + " is not an Optuna storage: it has no table '" + table +
                                  "'");
      }
    }
    MGR_ASSIGN_OR_RETURN(Rows v, Exec("SELECT version_num FROM alembic_version"));
    if (v.size() != 1) {
      return Status::Corruption(db + ": table alembic_version should hold one revision, it holds " +
                                std::to_string(v.size()));
    }
    const std::string version = v.Text(0, 0);
    if (version != kAlembicVersion && version != kLegacyAlembicVersion) {
      return Status::FailedPrecondition(db + " has Optuna schema revision '" + version +
                                        "'; mgr-tune reads " + kAlembicVersion + " and " +
                                        kLegacyAlembicVersion);
    }
    alembic_version_ = version;
    return Status::Ok();
  });
}

// --- Helpers (inside a transaction) ----------------------------------------------------------

Result<PostgresStorage::StudyRow> PostgresStorage::LoadStudy(int64_t study_id, bool lock) {
  MGR_ASSIGN_OR_RETURN(
      Rows r, Exec(std::string("SELECT s.study_name, (SELECT COUNT(*) FROM study_directions d "
                               "WHERE d.study_id = s.study_id) FROM studies s WHERE s.study_id "
                               "= $1") +
                       (lock ? " FOR UPDATE" : ""),
                   {Num(study_id)}));
  if (r.size() == 0) {
    return Status::NotFound(Context() + ": no study with id " + std::to_string(study_id));
  }
  return StudyRow{r.Text(0, 0), static_cast<size_t>(r.Int(0, 1))};
}

Result<PostgresStorage::TrialRow> PostgresStorage::LoadUpdatableTrial(int64_t trial_id) {
  // The row lock orders concurrent writers of one trial: a second finisher waits, then sees
  // the trial finished.
  MGR_ASSIGN_OR_RETURN(Rows r,
                       Exec("SELECT t.study_id, t.number, t.state, s.study_name FROM trials t "
                            "JOIN studies s ON s.study_id = t.study_id WHERE t.trial_id = $1 "
                            "FOR UPDATE OF t",
                            {Num(trial_id)}));
  if (r.size() == 0) {
    return Status::NotFound(Context() + ": no trial with id " + std::to_string(trial_id));
  }
  TrialRow t;
  t.trial_id = trial_id;
  t.study_id = r.Int(0, 0);
  t.number = r.Int(0, 1);
  MGR_ASSIGN_OR_RETURN(t.state, ParseState(r.Text(0, 2), trial_id));
  t.desc = storage_internal::DescribeTrial(trial_id, r.Text(0, 3), t.number);
  MGR_RETURN_IF_ERROR(CheckUpdatable(t.desc, t.state).WithContext(Context()));
  return t;
}

Status PostgresStorage::CheckParamCompatible(const TrialRow& t, const std::string& name,
                                             const Distribution& dist) {
  MGR_ASSIGN_OR_RETURN(Rows r, Exec("SELECT p.distribution_json FROM trial_params p JOIN trials "
                                    "t ON t.trial_id = p.trial_id WHERE t.study_id = $1 AND "
                                    "p.param_name = $2 LIMIT 1",
                                    {Num(t.study_id), Text(name)}));
  if (r.size() == 0) return Status::Ok();
  Result<Distribution> prev = DistributionFromJsonString(r.Text(0, 0));
  if (!prev.ok()) {
    return Status::Corruption(Context() + ": study of " + t.desc + ": parameter '" + name +
                              "': " + prev.status().message());
  }
  return CheckCompatible(t.desc, name, *prev, dist);
}

Status PostgresStorage::InsertParam(int64_t trial_id, const std::string& name, double internal,
                                    const Distribution& dist) {
  return Exec(
             "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
             "VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id, param_name) DO UPDATE SET "
             "param_value = excluded.param_value, distribution_json = "
             "excluded.distribution_json",
             {Num(trial_id), Text(name), Num(internal), Text(DistributionToJsonString(dist))})
      .status();
}

Status PostgresStorage::WriteValue(int64_t trial_id, int objective, double value) {
  auto [v, type] = StoredValue(value);
  return Exec(
             "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES ($1, $2, "
             "$3, $4) ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, "
             "value_type = excluded.value_type",
             {Num(trial_id), Num(int64_t{objective}), v, type})
      .status();
}

Status PostgresStorage::WriteToUpdatableTrial(int64_t trial_id, const std::string& write,
                                              const std::vector<Param>& params,
                                              const std::function<Status()>& in_transaction) {
  // One statement (one round trip, atomic on its own) for the common case; when it wrote
  // nothing, the transaction finds out why (no such trial, or finished) and says so.
  MGR_ASSIGN_OR_RETURN(Rows r, Exec(kUpdatableTrial + write + " RETURNING 1", params));
  if (r.size() > 0) return Status::Ok();
  return Transact([&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadUpdatableTrial(trial_id).status());
    return in_transaction();
  });
}

Status PostgresStorage::WriteIntermediate(int64_t trial_id, int64_t step, double value) {
  auto [v, type] = StoredValue(value);
  return Exec(
             "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
             "intermediate_value_type) VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id, step) DO "
             "UPDATE SET intermediate_value = excluded.intermediate_value, "
             "intermediate_value_type = excluded.intermediate_value_type",
             {Num(trial_id), Num(step), v, type})
      .status();
}

Status PostgresStorage::WriteAttr(const char* table, const char* id_column, int64_t id,
                                  const std::string& key, const Json& value) {
  const std::string t(table), c(id_column);
  return Exec("INSERT INTO " + t + " (" + c +
                  ", key, value_json) VALUES ($1, $2, $3) ON "
                  "CONFLICT (" +
                  c + ", key) DO UPDATE SET value_json = excluded.value_json",
              {Num(id), Text(key), Text(DumpJsonLenient(value))})
      .status();
}

// --- Studies ---------------------------------------------------------------------------------

Result<int64_t> PostgresStorage::CreateStudy(const std::string& name,
                                             const std::vector<StudyDirection>& directions) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_RETURN_IF_ERROR(storage_internal::CheckDirections(name, directions));
  int64_t id = -1;
  MGR_RETURN_IF_ERROR(Transact([&]() -> Status {
    MGR_ASSIGN_OR_RETURN(Rows find,
                         Exec("SELECT study_id FROM studies WHERE study_name = $1", {Text(name)}));
    if (find.size() > 0) {
      return Status::AlreadyExists(Context() + ": a study named '" + name +
                                   "' already exists (id " + find.Text(0, 0) +
                                   "); load it or choose another name");
    }
    // A racing creator of the same name fails on the unique index (kAlreadyExists).
    MGR_ASSIGN_OR_RETURN(
        Rows ins,
        Exec("INSERT INTO studies (study_name) VALUES ($1) RETURNING study_id", {Text(name)}));
    id = ins.Int(0, 0);
    for (size_t i = 0; i < directions.size(); ++i) {
      MGR_RETURN_IF_ERROR(
          Exec("INSERT INTO study_directions (direction, study_id, objective) "
               "VALUES ($1, $2, $3)",
               {Text(StudyDirectionName(directions[i])), Num(id), Num(static_cast<int64_t>(i))})
              .status());
    }
    return Status::Ok();
  }));
  return id;
}

Status PostgresStorage::DeleteStudy(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return Transact([&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id, /*lock=*/true).status());
    static const char* const kTrialTables[] = {"trial_params",
                                               "trial_values",
                                               "trial_intermediate_values",
                                               "trial_user_attributes",
                                               "trial_system_attributes",
                                               "trial_heartbeats"};
    for (const char* table : kTrialTables) {
      MGR_RETURN_IF_ERROR(Exec(std::string("DELETE FROM ") + table +
                                   " WHERE trial_id IN (SELECT trial_id FROM trials WHERE "
                                   "study_id = $1)",
                               {Num(study_id)})
                              .status());
    }
    static const char* const kStudyTables[] = {"trials", "study_directions",
                                               "study_user_attributes", "study_system_attributes",
                                               "studies"};
    for (const char* table : kStudyTables) {
      MGR_RETURN_IF_ERROR(
          Exec(std::string("DELETE FROM ") + table + " WHERE study_id = $1", {Num(study_id)})
              .status());
    }
    return Status::Ok();
  });
}

Result<int64_t> PostgresStorage::GetStudyId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(Rows r,
                       Exec("SELECT study_id FROM studies WHERE study_name = $1", {Text(name)}));
  if (r.size() == 0) return Status::NotFound(Context() + ": no study named '" + name + "'");
  return r.Int(0, 0);
}

Result<std::string> PostgresStorage::GetStudyName(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRow s, LoadStudy(study_id));
  return s.name;
}

Result<std::vector<StudyDirection>> PostgresStorage::GetStudyDirections(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
  MGR_ASSIGN_OR_RETURN(Rows r, Exec("SELECT direction FROM study_directions WHERE study_id = $1 "
                                    "ORDER BY objective",
                                    {Num(study_id)}));
  std::vector<StudyDirection> dirs;
  for (int i = 0; i < r.size(); ++i) {
    Result<StudyDirection> d = ParseStudyDirection(r.Text(i, 0));
    if (!d.ok()) return Status::Corruption(Context() + ": " + d.status().message());
    dirs.push_back(*d);
  }
  return dirs;
}

Status PostgresStorage::SetStudyAttr(const char* table, int64_t study_id, const std::string& key,
                                     const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  return Transact([&]() -> Status {
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    return WriteAttr(table, "study_id", study_id, key, value);
  });
}

Status PostgresStorage::SetStudyUserAttr(int64_t study_id, const std::string& key,
                                         const Json& value) {
  return SetStudyAttr("study_user_attributes", study_id, key, value);
}

Status PostgresStorage::SetStudySystemAttr(int64_t study_id, const std::string& key,
                                           const Json& value) {
  return SetStudyAttr("study_system_attributes", study_id, key, value);
}

Result<std::map<std::string, Json>> PostgresStorage::ReadStudyAttrs(const char* table,
                                                                    int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
  MGR_ASSIGN_OR_RETURN(
      Rows r, Exec(std::string("SELECT key, value_json FROM ") + table + " WHERE study_id = $1",
                   {Num(study_id)}));
  std::map<std::string, Json> attrs;
  for (int i = 0; i < r.size(); ++i) attrs[r.Text(i, 0)] = ParseJsonLenient(r.Text(i, 1));
  return attrs;
}

Result<std::map<std::string, Json>> PostgresStorage::GetStudyUserAttrs(int64_t study_id) {
  return ReadStudyAttrs("study_user_attributes", study_id);
}

Result<std::map<std::string, Json>> PostgresStorage::GetStudySystemAttrs(int64_t study_id) {
  return ReadStudyAttrs("study_system_attributes", study_id);
}

Result<std::vector<StudySummary>> PostgresStorage::GetAllStudies() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StudySummary> out;
  MGR_RETURN_IF_ERROR(Transact([&]() -> Status {
    out.clear();
    std::map<int64_t, size_t> index;
    MGR_ASSIGN_OR_RETURN(Rows studies,
                         Exec("SELECT study_id, study_name FROM studies ORDER BY study_id"));
    for (int i = 0; i < studies.size(); ++i) {
      index[studies.Int(i, 0)] = out.size();
      StudySummary s;
      s.study_id = studies.Int(i, 0);
      s.name = studies.Text(i, 1);
      out.push_back(std::move(s));
    }
    MGR_ASSIGN_OR_RETURN(Rows dirs, Exec("SELECT study_id, direction FROM study_directions ORDER "
                                         "BY study_id, objective"));
    for (int i = 0; i < dirs.size(); ++i) {
      auto it = index.find(dirs.Int(i, 0));
      if (it == index.end()) continue;
      Result<StudyDirection> d = ParseStudyDirection(dirs.Text(i, 1));
      if (!d.ok()) return Status::Corruption(Context() + ": " + d.status().message());
      out[it->second].directions.push_back(*d);
    }
    for (int user = 0; user < 2; ++user) {
      MGR_ASSIGN_OR_RETURN(Rows attrs,
                           Exec(std::string("SELECT study_id, key, value_json FROM ") +
                                (user ? "study_user_attributes" : "study_system_attributes")));
      for (int i = 0; i < attrs.size(); ++i) {
        auto it = index.find(attrs.Int(i, 0));
        if (it == index.end()) continue;
        auto& m = user ? out[it->second].user_attrs : out[it->second].system_attrs;
        m[attrs.Text(i, 1)] = ParseJsonLenient(attrs.Text(i, 2));
      }
    }
    MGR_ASSIGN_OR_RETURN(Rows counts,
                         Exec("SELECT study_id, COUNT(*), (SELECT " + Ts("f.datetime_start") +
                              " FROM trials f WHERE f.study_id = t.study_id AND f.number = 0 "
                              "LIMIT 1) FROM trials t GROUP BY study_id"));
    for (int i = 0; i < counts.size(); ++i) {
      auto it = index.find(counts.Int(i, 0));
      if (it == index.end()) continue;
      out[it->second].n_trials = counts.Int(i, 1);
      MGR_ASSIGN_OR_RETURN(out[it->second].datetime_start,
                           ParseOptionalDatetime(OptionalText(counts, i, 2), -1));
    }
    return Status::Ok();
  }));
  return out;
}

// --- Trials ----------------------------------------------------------------------------------

Result<int64_t> PostgresStorage::CreateTrial(int64_t study_id, const FrozenTrial* tmpl) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = -1;
  MGR_RETURN_IF_ERROR(Transact([&]() -> Status {
    // The study row's lock serializes trial creation in the study: the count below sees
    // every trial created before, and no one inserts until this commits.
    MGR_ASSIGN_OR_RETURN(StudyRow study, LoadStudy(study_id, /*lock=*/true));
    if (tmpl == nullptr) {  // the number counted by the insert itself: one round trip less
      MGR_ASSIGN_OR_RETURN(
          Rows ins, Exec("INSERT INTO trials (number, study_id, state, datetime_start) SELECT "
                         "COUNT(*), $1::integer, 'RUNNING', $2::timestamp FROM trials WHERE "
                         "study_id = $1 RETURNING trial_id",
                         {Num(study_id), Now()}));
      id = ins.Int(0, 0);
      return Status::Ok();
    }
    MGR_ASSIGN_OR_RETURN(Rows count,
                         Exec("SELECT COUNT(*) FROM trials WHERE study_id = $1", {Num(study_id)}));
    const int64_t number = count.Int(0, 0);
    FrozenTrial t;
    t.state = TrialState::kRunning;
    t.datetime_start = std::chrono::system_clock::now();
    const TrialRow tr{-1, study_id, number, TrialState::kRunning,
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
    auto when = [](const std::optional<TimePoint>& tp) -> Param {
      if (!tp) return std::nullopt;
      return FormatDatetime(*tp);
    };
    MGR_ASSIGN_OR_RETURN(Rows ins,
                         Exec("INSERT INTO trials (number, study_id, state, datetime_start, "
                              "datetime_complete) VALUES ($1, $2, $3, $4, $5) RETURNING trial_id",
                              {Num(number), Num(study_id), Text(TrialStateName(t.state)),
                               when(t.datetime_start), when(t.datetime_complete)}));
    id = ins.Int(0, 0);
    if (tmpl == nullptr) return Status::Ok();
    return storage_internal::WriteTrialRows(*this, id, t);
  }));
  return id;
}

Result<std::optional<int64_t>> PostgresStorage::ClaimWaitingTrial(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<int64_t> claimed;
  MGR_RETURN_IF_ERROR(Transact([&]() -> Status {
    claimed.reset();
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    // SKIP LOCKED: concurrent claimers each take a different WAITING trial without waiting.
    MGR_ASSIGN_OR_RETURN(
        Rows r, Exec("UPDATE trials SET state = 'RUNNING', datetime_start = $1 WHERE trial_id = "
                     "(SELECT trial_id FROM trials WHERE study_id = $2 AND state = 'WAITING' "
                     "ORDER BY trial_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING trial_id",
                     {Now(), Num(study_id)}));
    if (r.size() == 1) claimed = r.Int(0, 0);
    return Status::Ok();
  }));
  return claimed;
}

Status PostgresStorage::SetTrialParam(int64_t trial_id, const std::string& name, double internal,
                                      const Distribution& dist) {
  std::lock_guard<std::mutex> lock(mu_);
  // The common case in one statement: a valid value, and the study's earlier record of the
  // parameter (if any) has this very distribution. Anything else takes the transaction,
  // which tells compatible from incompatible and names what is wrong.
  const std::string json = DistributionToJsonString(dist);
  if (CheckParam("", name, internal, dist).ok()) {
    MGR_ASSIGN_OR_RETURN(
        Rows r, Exec(std::string(kUpdatableTrial) +
                         ", prev AS (SELECT p.distribution_json FROM trial_params p JOIN trials "
                         "o ON o.trial_id = p.trial_id JOIN t ON o.study_id = t.study_id WHERE "
                         "p.param_name = $2 LIMIT 1) INSERT INTO trial_params (trial_id, "
                         "param_name, param_value, distribution_json) SELECT t.trial_id, "
                         "$2::varchar, $3::double precision, $4::text FROM t WHERE NOT EXISTS "
                         "(SELECT 1 FROM prev WHERE prev.distribution_json <> $4::text) ON "
                         "CONFLICT (trial_id, param_name) DO UPDATE SET param_value = "
                         "excluded.param_value, distribution_json = excluded.distribution_json "
                         "RETURNING 1",
                     {Num(trial_id), Text(name), Num(internal), Text(json)}));
    if (r.size() > 0) return Status::Ok();
  }
  return Transact([&]() -> Status {
    MGR_ASSIGN_OR_RETURN(TrialRow t, LoadUpdatableTrial(trial_id));
    MGR_RETURN_IF_ERROR(CheckParam(t.desc, name, internal, dist));
    MGR_RETURN_IF_ERROR(CheckParamCompatible(t, name, dist));
    return InsertParam(trial_id, name, internal, dist);
  });
}

Status PostgresStorage::SetTrialIntermediateValue(int64_t trial_id, int64_t step, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [v, type] = StoredValue(value);
  return WriteToUpdatableTrial(
      trial_id,
      "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
      "intermediate_value_type) SELECT t.trial_id, $2::integer, $3::double precision, "
      "$4::trialintermediatevaluetype FROM t ON CONFLICT (trial_id, step) DO UPDATE SET "
      "intermediate_value = excluded.intermediate_value, intermediate_value_type = "
      "excluded.intermediate_value_type",
      {Num(trial_id), Num(step), v, type},
      [&] { return WriteIntermediate(trial_id, step, value); });
}

Status PostgresStorage::SetTrialStateValues(int64_t trial_id, TrialState state,
                                            const std::vector<double>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  // The common case in one statement: a single-objective trial finishing with its value
  // (the value and the state written together, or neither). Anything else, or a trial that
  // is not updatable or of a study with several objectives, takes the transaction.
  if (values.size() == 1 && IsFinished(state) && CheckStateValues("", state, values, 1).ok()) {
    auto [v, type] = StoredValue(values[0]);
    MGR_ASSIGN_OR_RETURN(
        Rows r, Exec(std::string(kUpdatableTrial) +
                         ", one AS (SELECT t.trial_id FROM t WHERE (SELECT COUNT(*) FROM "
                         "study_directions d WHERE d.study_id = t.study_id) = 1), v AS (INSERT "
                         "INTO trial_values (trial_id, objective, value, value_type) SELECT "
                         "one.trial_id, 0, $2::double precision, $3::trialvaluetype FROM one ON "
                         "CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, "
                         "value_type = excluded.value_type RETURNING trial_id) UPDATE trials SET "
                         "state = $4::trialstate, datetime_complete = $5::timestamp FROM v WHERE "
                         "trials.trial_id = v.trial_id RETURNING 1",
                     {Num(trial_id), v, type, Text(TrialStateName(state)), Now()}));
    if (r.size() > 0) return Status::Ok();
  }
  return Transact([&]() -> Status {
    MGR_ASSIGN_OR_RETURN(TrialRow t, LoadUpdatableTrial(trial_id));
    MGR_ASSIGN_OR_RETURN(StudyRow study, LoadStudy(t.study_id));
    MGR_RETURN_IF_ERROR(CheckStateValues(t.desc, state, values, study.n_objectives));
    if (state == TrialState::kRunning) {
      if (t.state != TrialState::kWaiting) {
        return Status::FailedPrecondition(Context() + ": " + t.desc + " is already RUNNING");
      }
      return Exec("UPDATE trials SET state = 'RUNNING', datetime_start = $1 WHERE trial_id = $2",
                  {Now(), Num(trial_id)})
          .status();
    }
    for (size_t i = 0; i < values.size(); ++i) {
      MGR_RETURN_IF_ERROR(WriteValue(trial_id, static_cast<int>(i), values[i]));
    }
    return Exec("UPDATE trials SET state = $1, datetime_complete = $2 WHERE trial_id = $3",
                {Text(TrialStateName(state)), Now(), Num(trial_id)})
        .status();
  });
}

Status PostgresStorage::SetTrialAttr(const char* table, int64_t trial_id, const std::string& key,
                                     const Json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteToUpdatableTrial(
      trial_id,
      std::string("INSERT INTO ") + table +
          " (trial_id, key, value_json) SELECT t.trial_id, $2::varchar, $3::text FROM t ON "
          "CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
      {Num(trial_id), Text(key), Text(DumpJsonLenient(value))},
      [&] { return WriteAttr(table, "trial_id", trial_id, key, value); });
}

Status PostgresStorage::SetTrialUserAttr(int64_t trial_id, const std::string& key,
                                         const Json& value) {
  return SetTrialAttr("trial_user_attributes", trial_id, key, value);
}

Status PostgresStorage::SetTrialSystemAttr(int64_t trial_id, const std::string& key,
                                           const Json& value) {
  return SetTrialAttr("trial_system_attributes", trial_id, key, value);
}

// --- Reading trials: the trials and their child tables in one statement ------------------

Result<std::vector<FrozenTrial>> PostgresStorage::LoadTrials(const std::string& where,
                                                             const std::vector<Param>& params) {
  // One statement (one round trip, one snapshot): the trials' rows and their child tables'
  // rows as (kind, trial_id, a, b, c, d, v).
  const std::string join = " x JOIN trials t ON t.trial_id = x.trial_id WHERE " + where;
  const std::string sql =
      "SELECT 0, t.trial_id, t.number::text, t.state::text, " + Ts("t.datetime_start") + ", " +
      Ts("t.datetime_complete") + ", NULL::double precision FROM trials t WHERE " + where +
      " UNION ALL SELECT 1, x.trial_id, x.param_name, x.distribution_json, NULL, NULL, "
      "x.param_value FROM trial_params" +
      join +
      " UNION ALL SELECT 2, x.trial_id, x.objective::text, x.value_type::text, NULL, NULL, "
      "x.value FROM trial_values" +
      join +
      " UNION ALL SELECT 3, x.trial_id, x.step::text, x.intermediate_value_type::text, NULL, "
      "NULL, x.intermediate_value FROM trial_intermediate_values" +
      join +
      " UNION ALL SELECT 4, x.trial_id, x.key, x.value_json, NULL, NULL, NULL FROM "
      "trial_user_attributes" +
      join +
      " UNION ALL SELECT 5, x.trial_id, x.key, x.value_json, NULL, NULL, NULL FROM "
      "trial_system_attributes" +
      join + " ORDER BY 1";
  MGR_ASSIGN_OR_RETURN(Rows rows, Exec(sql, params));
  enum Kind { kTrial, kParam, kValue, kIntermediate, kUserAttr, kSystemAttr };
  std::vector<FrozenTrial> trials;
  int i = 0;
  for (; i < rows.size() && rows.Int(i, 0) == kTrial; ++i) {
    FrozenTrial t;
    t.trial_id = rows.Int(i, 1);
    t.number = rows.Int(i, 2);
    MGR_ASSIGN_OR_RETURN(t.state, ParseState(rows.Text(i, 3), t.trial_id));
    MGR_ASSIGN_OR_RETURN(t.datetime_start,
                         ParseOptionalDatetime(OptionalText(rows, i, 4), t.trial_id));
    MGR_ASSIGN_OR_RETURN(t.datetime_complete,
                         ParseOptionalDatetime(OptionalText(rows, i, 5), t.trial_id));
    trials.push_back(std::move(t));
  }
  std::sort(trials.begin(), trials.end(), [](const FrozenTrial& a, const FrozenTrial& b) {
    return std::tie(a.number, a.trial_id) < std::tie(b.number, b.trial_id);
  });
  std::unordered_map<int64_t, FrozenTrial*> by_id;
  for (FrozenTrial& t : trials) by_id[t.trial_id] = &t;
  const std::string context = Context();
  for (; i < rows.size(); ++i) {
    auto it = by_id.find(rows.Int(i, 1));
    if (it == by_id.end()) continue;
    FrozenTrial& t = *it->second;
    const std::string what = context + ": trial " + std::to_string(t.trial_id);
    switch (rows.Int(i, 0)) {
      case kParam: {
        Result<Distribution> d = DistributionFromJsonString(rows.Text(i, 3));
        if (!d.ok()) {
          return Status::Corruption(what + " parameter '" + rows.Text(i, 2) +
                                    "': " + d.status().message());
        }
        t.params[rows.Text(i, 2)] = rows.Double(i, 6);
        t.distributions.emplace(rows.Text(i, 2), *d);
        break;
      }
      case kValue: {
        MGR_ASSIGN_OR_RETURN(
            double v, StoredToValue(rows.IsNull(i, 6), rows.Double(i, 6), rows.Text(i, 3), what));
        const size_t objective = static_cast<size_t>(rows.Int(i, 2));
        if (t.values.size() <= objective) t.values.resize(objective + 1, std::nan(""));
        t.values[objective] = v;
        break;
      }
      case kIntermediate: {
        MGR_ASSIGN_OR_RETURN(
            double v, StoredToValue(rows.IsNull(i, 6), rows.Double(i, 6), rows.Text(i, 3), what));
        t.intermediate_values[rows.Int(i, 2)] = v;
        break;
      }
      case kUserAttr:
        t.user_attrs[rows.Text(i, 2)] = ParseJsonLenient(rows.Text(i, 3));
        break;
      case kSystemAttr:
        t.system_attrs[rows.Text(i, 2)] = ParseJsonLenient(rows.Text(i, 3));
        break;
    }
  }
  return trials;
}

Result<FrozenTrial> PostgresStorage::GetTrial(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials,
                       LoadTrials("t.trial_id = $1", {Num(trial_id)}));
  if (trials.empty()) {
    return Status::NotFound(Context() + ": no trial with id " + std::to_string(trial_id));
  }
  return std::move(trials[0]);
}

Result<int64_t> PostgresStorage::GetTrialIdFromNumber(int64_t study_id, int64_t number) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_ASSIGN_OR_RETURN(StudyRow s, LoadStudy(study_id));
  MGR_ASSIGN_OR_RETURN(Rows r, Exec("SELECT trial_id FROM trials WHERE study_id = $1 AND number "
                                    "= $2",
                                    {Num(study_id), Num(number)}));
  if (r.size() == 0) {
    return Status::NotFound(Context() + ": study '" + s.name + "' has no trial number " +
                            std::to_string(number));
  }
  return r.Int(0, 0);
}

Result<std::vector<FrozenTrial>> PostgresStorage::GetAllTrials(
    int64_t study_id, const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadStudyTrials(study_id, "t.study_id = $1" + StatesSql(states), {Num(study_id)});
}

Result<std::vector<FrozenTrial>> PostgresStorage::LoadStudyTrials(
    int64_t study_id, const std::string& where, const std::vector<Param>& params) {
  MGR_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, LoadTrials(where, params));
  // Trials imply their study; only an empty answer needs the check (a pruner's refresh,
  // every epoch, always reads the running trial, so it saves a round trip there).
  if (trials.empty()) MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
  return trials;
}

Result<std::vector<FrozenTrial>> PostgresStorage::GetTrialsAfter(
    int64_t study_id, int64_t id_greater_than, const std::vector<int64_t>& included_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  // The ids as an array parameter: one statement text, prepared once.
  std::string ids = "{";
  for (size_t i = 0; i < included_ids.size(); ++i) {
    ids += (i ? "," : "") + std::to_string(included_ids[i]);
  }
  ids += "}";
  return LoadStudyTrials(
      study_id, "t.study_id = $1 AND (t.trial_id > $2::integer OR t.trial_id = ANY($3::integer[]))",
      {Num(study_id), Num(id_greater_than), Text(ids)});
}

Result<int64_t> PostgresStorage::CountTrials(int64_t study_id,
                                             const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
  MGR_ASSIGN_OR_RETURN(
      Rows r, Exec("SELECT COUNT(*) FROM trials t WHERE t.study_id = $1" + StatesSql(states),
                   {Num(study_id)}));
  return r.Int(0, 0);
}

// --- Heartbeats ------------------------------------------------------------------------------

Status PostgresStorage::RecordHeartbeat(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const Param now = Now();
  return WriteToUpdatableTrial(
      trial_id,
      "INSERT INTO trial_heartbeats (trial_id, heartbeat) SELECT t.trial_id, $2::timestamp FROM "
      "t ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
      {Num(trial_id), now}, [&] {
        return Exec(
                   "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1, $2) ON "
                   "CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
                   {Num(trial_id), now})
            .status();
      });
}

Result<std::vector<int64_t>> PostgresStorage::FailStaleTrials(int64_t study_id,
                                                              std::chrono::seconds grace) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> failed;
  MGR_RETURN_IF_ERROR(Transact([&]() -> Status {
    failed.clear();
    MGR_RETURN_IF_ERROR(LoadStudy(study_id).status());
    const TimePoint now = std::chrono::system_clock::now();
    MGR_ASSIGN_OR_RETURN(Rows beats,
                         Exec("SELECT t.trial_id, " + Ts("h.heartbeat") +
                                  " FROM trials t JOIN trial_heartbeats h ON h.trial_id = "
                                  "t.trial_id WHERE t.study_id = $1 AND t.state = 'RUNNING' "
                                  "ORDER BY t.trial_id",
                              {Num(study_id)}));
    const Param now_text = FormatDatetime(now);
    for (int i = 0; i < beats.size(); ++i) {
      Result<TimePoint> beat = ParseDatetime(beats.Text(i, 1));
      if (!beat.ok() || now - *beat <= grace) continue;
      // A concurrent caller holding the row waits for us, then finds it FAIL: each stale
      // trial is failed (and returned) once.
      MGR_ASSIGN_OR_RETURN(Rows up, Exec("UPDATE trials SET state = 'FAIL', datetime_complete = "
                                         "$1 WHERE trial_id = $2 AND state = 'RUNNING' "
                                         "RETURNING trial_id",
                                         {now_text, Num(beats.Int(i, 0))}));
      if (up.size() == 1) failed.push_back(up.Int(0, 0));
    }
    return Status::Ok();
  }));
  return failed;
}

}  // namespace mgr
