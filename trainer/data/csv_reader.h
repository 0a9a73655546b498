// A streaming RFC 4180 CSV reader: quoted fields may hold commas, doubled quotes and
// newlines; records end with LF or CRLF. Not thread-safe (one reader per thread).
#ifndef MGR_TRAINER_DATA_CSV_READER_H_
#define MGR_TRAINER_DATA_CSV_READER_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "storage/base/status.h"

namespace mgr {

class CsvReader {
 public:
  // Reads from `in`, which must outlive the reader. `name` is used in error messages.
  CsvReader(std::istream* in, std::string name);
  // Opens a file; NotFound if it cannot be opened.
  static Result<std::unique_ptr<CsvReader>> OpenFile(const std::string& path);

  // Reads the next record into *fields. Returns false at the end of the input (and sets
  // *status OK) or on malformed input (*status says where: "file:line: ...").
  bool Next(std::vector<std::string>* fields, Status* status);

  // 1-based line on which the last record returned by Next started.
  int64_t record_line() const { return record_line_; }
  const std::string& name() const { return name_; }

 private:
  int Get();  // next byte or EOF
  void Unget(int c) { pending_ = c; }

  std::unique_ptr<std::istream> owned_;
  std::istream* in_;
  std::string name_;
  int64_t line_ = 1;  // line of the next byte
  int64_t record_line_ = 0;
  int pending_ = -2;  // -2 = none
  std::vector<char> buffer_;
  size_t pos_ = 0, end_ = 0;
};

}  // namespace mgr

#endif  // MGR_TRAINER_DATA_CSV_READER_H_
