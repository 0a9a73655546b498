#include "trainer/data/csv_reader.h"

#include <fstream>

namespace mgr {

CsvReader::CsvReader(std::istream* in, std::string name)
    : in_(in), name_(std::move(name)), buffer_(1 << 16) {}

Result<std::unique_ptr<CsvReader>> CsvReader::OpenFile(const std::string& path) {
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return Status::NotFound(path + ": cannot open");
  auto reader = std::make_unique<CsvReader>(file.get(), path);
  reader->owned_ = std::move(file);
  return reader;
}

int CsvReader::Get() {
  if (pending_ != -2) {
    int c = pending_;
    pending_ = -2;
    return c;
  }
  if (pos_ == end_) {
    in_->read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    end_ = static_cast<size_t>(in_->gcount());
    pos_ = 0;
    if (end_ == 0) return EOF;
  }
  return static_cast<unsigned char>(buffer_[pos_++]);
}

bool CsvReader::Next(std::vector<std::string>* fields, Status* status) {
  *status = Status::Ok();
  fields->clear();
  int c = Get();
  if (c == EOF) return false;
  record_line_ = line_;
  std::string field;
  for (;;) {
    // Start of a field.
    if (c == '"') {
      int64_t quote_line = line_;
      for (;;) {
        c = Get();
        if (c == EOF) {
          *status = Status::Corruption(name_ + ":" + std::to_string(quote_line) +
                                       ": quoted field never closed");
          return false;
        }
        if (c == '\n') ++line_;
        if (c == '"') {
          int d = Get();
          if (d == '"') {
            field.push_back('"');
            continue;
          }
          c = d;
          break;
        }
        field.push_back(static_cast<char>(c));
      }
      if (c != ',' && c != '\n' && c != '\r' && c != EOF) {
        *status = Status::Corruption(name_ + ":" + std::to_string(line_) +
                                     ": unexpected character after a closing quote");
        return false;
      }
    } else {
      while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
        if (c == '"') {
          *status = Status::Corruption(name_ + ":" + std::to_string(line_) +
                                       ": quote inside an unquoted field");
          return false;
        }
        field.push_back(static_cast<char>(c));
        c = Get();
      }
    }
    fields->push_back(std::move(field));
    field.clear();
    if (c == ',') {
      c = Get();
      continue;
    }
    if (c == '\r') {
      int d = Get();
      if (d != '\n' && d != EOF) Unget(d);
    }
    if (c == '\n' || c == '\r') ++line_;
    return true;  // end of record (LF, CRLF, CR or EOF)
  }
}

}  // namespace mgr
