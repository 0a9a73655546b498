// Status and Result<T>: expected failures as values.
//
// Every layer of mgr-tune reports a failure a user can act on (a locked database, a bad
// study field, a broken track) as a Status whose message names the file, field or track
// and what is wrong. Exceptions never cross a library boundary, except inside trainer/.
#ifndef MGR_STORAGE_BASE_STATUS_H_
#define MGR_STORAGE_BASE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mgr {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // bad input: a study field, a parameter value, a CSV row
  kNotFound,           // unknown study, trial, file or track
  kAlreadyExists,      // a study name that is taken
  kFailedPrecondition, // e.g. writing to a finished trial
  kCorruption,         // a file that is not what it claims to be
  kIoError,            // the operating system said no
  kBusy,               // the database stayed locked past the busy timeout
  kUnavailable,        // a resource (GPU, worker) is not there
  kInternal,           // a bug: please report
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: stages[2].params.lr.low: must be > 0 for a log distribution"
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result from an OK status has no value");
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const T& value() const& { assert(ok()); return *value_; }
  T& value() & { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }  // `auto v = *F();` moves
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace mgr

// Returns early from a function that returns Status or Result<T>.
#define MGR_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::mgr::Status mgr_status_ = (expr);      \
    if (!mgr_status_.ok()) return mgr_status_; \
  } while (0)

#define MGR_CONCAT_INNER_(a, b) a##b
#define MGR_CONCAT_(a, b) MGR_CONCAT_INNER_(a, b)
// MGR_ASSIGN_OR_RETURN(auto x, Foo());
#define MGR_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto MGR_CONCAT_(mgr_result_, __LINE__) = (expr);                     \
  if (!MGR_CONCAT_(mgr_result_, __LINE__).ok())                         \
    return MGR_CONCAT_(mgr_result_, __LINE__).status();                 \
  lhs = std::move(MGR_CONCAT_(mgr_result_, __LINE__)).value()

#endif  // MGR_STORAGE_BASE_STATUS_H_
