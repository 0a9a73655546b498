#include "storage/postgres_db.h"

#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>

#include "storage/base/strings.h"

namespace mgr {
namespace pg {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> Decode(std::string_view s, std::string_view url_for_errors) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? HexDigit(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("storage URL '" + std::string(url_for_errors) +
                                     "': bad percent-escape");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.find('\0') != std::string::npos) {
    return Status::InvalidArgument("storage URL '" + std::string(url_for_errors) +
                                   "': has a NUL byte");
  }
  return out;
}

// The URL with its password replaced, for messages.
std::string Redacted(std::string_view url) {
  std::string s(url);
  size_t scheme = s.find("://");
  size_t at = s.rfind('@', s.find('/', scheme == std::string::npos ? 0 : scheme + 3));
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return s;
  size_t colon = s.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
  return s;
}

std::string Trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string ConnectionInfo::Describe() const {
  // Query parameters come after the authority, so libpq lets them override it.
  std::string h = host.empty() ? "localhost" : host;
  std::string p = port.empty() ? "5432" : port;
  std::string db = dbname;
  for (const auto& [k, v] : params) {
    if (k == "host") h = v;
    if (k == "port") p = v;
    if (k == "dbname") db = v;
  }
  return h + ":" + p + "/" + db;
}

Result<ConnectionInfo> ParseUrl(std::string_view url) {
  const std::string shown = Redacted(url);
  std::string_view rest;
  for (std::string_view scheme : {"postgresql://", "postgresql+psycopg2://", "postgres://"}) {
    if (StartsWith(url, scheme)) rest = url.substr(scheme.size());
  }
  if (rest.data() == nullptr) {
    return Status::InvalidArgument("storage URL '" + shown +
                                   "': expected postgresql://user:pass@host:port/db");
  }
  ConnectionInfo info;
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.size() < rest.size()) {
    MGR_ASSIGN_OR_RETURN(info.dbname, Decode(rest.substr(authority.size() + 1), shown));
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    MGR_ASSIGN_OR_RETURN(info.user, Decode(userinfo.substr(0, colon), shown));
    if (colon != std::string_view::npos) {
      MGR_ASSIGN_OR_RETURN(info.password, Decode(userinfo.substr(colon + 1), shown));
    }
  }
  std::string_view host = authority, port;
  if (StartsWith(authority, "[")) {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("storage URL '" + shown + "': unclosed '[' in the host");
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return Status::InvalidArgument("storage URL '" + shown + "': expected ':port' after ']'");
      }
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  MGR_ASSIGN_OR_RETURN(info.host, Decode(host, shown));
  info.port = std::string(port);
  if (info.port.find_first_not_of("0123456789") != std::string::npos ||
      (!info.port.empty() && std::atoi(info.port.c_str()) > 65535)) {
    return Status::InvalidArgument("storage URL '" + shown + "': bad port '" + info.port + "'");
  }
  while (!query.empty()) {
    std::string_view item = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), item.size() + 1));
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("storage URL '" + shown + "': query item '" +
                                     std::string(item) + "' has no '='");
    }
    MGR_ASSIGN_OR_RETURN(std::string key, Decode(item.substr(0, eq), shown));
    MGR_ASSIGN_OR_RETURN(std::string value, Decode(item.substr(eq + 1), shown));
    info.params.emplace_back(std::move(key), std::move(value));
  }
  if (info.dbname.empty()) {
    return Status::InvalidArgument("storage URL '" + shown + "': names no database (…/db)");
  }
  return info;
}

Rows::~Rows() {
  if (res_) PQclear(res_);
}
int Rows::size() const { return PQntuples(res_); }
bool Rows::IsNull(int r, int c) const { return PQgetisnull(res_, r, c) != 0; }
std::string Rows::Text(int r, int c) const {
  return std::string(PQgetvalue(res_, r, c), PQgetlength(res_, r, c));
}
int64_t Rows::Int(int r, int c) const { return std::strtoll(PQgetvalue(res_, r, c), nullptr, 10); }
double Rows::Double(int r, int c) const {
  // PostgreSQL writes infinities and NaN as words strtod also reads ("Infinity", "NaN").
  return std::strtod(PQgetvalue(res_, r, c), nullptr);
}
int64_t Rows::Affected() const { return std::strtoll(PQcmdTuples(res_), nullptr, 10); }

Result<pg_conn*> Connection::Connect(const ConnectionInfo& info) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (!info.host.empty()) kv.emplace_back("host", info.host);
  if (!info.port.empty()) kv.emplace_back("port", info.port);
  if (!info.user.empty()) kv.emplace_back("user", info.user);
  if (!info.password.empty()) kv.emplace_back("password", info.password);
  kv.emplace_back("dbname", info.dbname);
  kv.emplace_back("connect_timeout", "10");
  kv.emplace_back("application_name", "mgr-tune");
  for (const auto& p : info.params) kv.push_back(p);
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn == nullptr) return Status::Internal("PostgreSQL " + info.Describe() + ": out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    const bool auth = message.find("authentication failed") != std::string::npos ||
                      message.find("no password supplied") != std::string::npos;
    std::string text = "PostgreSQL " + info.Describe() + ": cannot connect: " + message;
    if (auth) return Status::FailedPrecondition(text + " (check the URL's user and password)");
    return Status::Unavailable(text);
  }
  return conn;
}

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectionInfo& info) {
  MGR_ASSIGN_OR_RETURN(pg_conn * conn, Connect(info));
  return std::unique_ptr<Connection>(new Connection(info, conn));
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

Status Connection::Error(const std::string& what) const {
  return Status::Unavailable("PostgreSQL " + info_.Describe() + ": " + what + ": " +
                             Trimmed(PQerrorMessage(conn_)));
}

Result<Rows> Connection::Exec(const std::string& sql, const std::vector<Param>& params) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    if (in_transaction_) return Error("connection lost inside a transaction");
    PQreset(conn_);     // nothing of this statement was sent: reconnecting is safe
    prepared_.clear();  // a new session has none of them
    if (PQstatus(conn_) != CONNECTION_OK) return Error("connection lost, reconnect failed");
  }
  std::vector<const char*> values;
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string* name = Prepared(sql, static_cast<int>(values.size()));
  const int sent = name != nullptr ? PQsendQueryPrepared(conn_, name->c_str(),
                                                         static_cast<int>(values.size()),
                                                         values.data(), nullptr, nullptr, 0)
                                   : PQsendQueryParams(conn_, sql.c_str(),
                                                       static_cast<int>(values.size()), nullptr,
                                                       values.data(), nullptr, nullptr, 0);
  Rows rows(sent == 1 ? AwaitResult() : nullptr);
  pg_result* res = rows.res_;
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return rows;
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = res ? Trimmed(PQresultErrorMessage(res)) : Trimmed(PQerrorMessage(conn_));
  std::string text = "PostgreSQL " + info_.Describe() + ": " + message;
  if (last_sqlstate_ == "40001" || last_sqlstate_ == "40P01") return Status::Busy(text);
  if (last_sqlstate_ == "23505") return Status::AlreadyExists(text);
  if (PQstatus(conn_) != CONNECTION_OK) return Status::Unavailable(text + " (connection lost)");
  return Status::Internal(text);
}

pg_result* Connection::AwaitResult() {
  // A short statement's reply comes back within tens of microseconds. Blocking in poll() at
  // once puts this thread to sleep, and on a virtual machine waking an idle CPU costs as
  // much again as the statement; polling without sleeping for a short while first avoids
  // that (PQconsumeInput is a non-blocking read). After kSpin, libpq blocks as usual.
  constexpr auto kSpin = std::chrono::microseconds(200);
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (PQisBusy(conn_) && std::chrono::steady_clock::now() < deadline) {
    if (PQconsumeInput(conn_) == 0) break;  // a lost connection: PQgetResult reports it
  }
  // PQexec's rule: of several results, the last one (an error wins over earlier results).
  pg_result* last = nullptr;
  while (pg_result* r = PQgetResult(conn_)) {
    if (last != nullptr) {
      const ExecStatusType st = PQresultStatus(last);
      if (st == PGRES_FATAL_ERROR) {
        PQclear(r);
        continue;
      }
      PQclear(last);
    }
    last = r;
  }
  return last;
}

const std::string* Connection::Prepared(const std::string& sql, int n_params) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return &it->second;
  // Statements with parameters are the repeated ones; a bounded cache (statements that inline
  // ids, as GetTrialsAfter's, are each new) keeps the server's memory bounded too.
  if (n_params == 0 || prepared_.size() >= kMaxPrepared) return nullptr;
  std::string name = "mgr_" + std::to_string(prepared_.size());
  pg_result* res = PQprepare(conn_, name.c_str(), sql.c_str(), n_params, nullptr);
  const bool ok = res != nullptr && PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  if (!ok) return nullptr;  // PQexecParams then reports the error, whatever it is
  return &prepared_.emplace(sql, std::move(name)).first->second;
}

Status Connection::Transact(const std::function<Status()>& body) {
  constexpr int kAttempts = 20;
  Status s;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    MGR_RETURN_IF_ERROR(Exec("BEGIN").status());
    in_transaction_ = true;
    s = body();
    if (s.ok()) s = Exec("COMMIT").status();
    if (!s.ok() && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
    in_transaction_ = false;
    if (s.code() != StatusCode::kBusy) return s;  // only serialization failures are rerun
  }
  return s;
}

}  // namespace pg
}  // namespace mgr
