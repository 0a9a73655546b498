#include "trainer/features/array_writer.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace mgr {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

torch::Tensor HostContiguous(const torch::Tensor& array) {
  torch::Tensor host = array.detach().to(torch::kCPU);
  if (host.scalar_type() != torch::kFloat64) host = host.to(torch::kFloat32);
  return host.contiguous();
}

// Value of `key` in the header dict, e.g. "'<f4'" or "(3, 4)"; empty if absent.
std::string HeaderField(const std::string& header, const std::string& key) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  size_t begin = header.find(':', at);
  if (begin == std::string::npos) return "";
  ++begin;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  size_t end = begin;
  if (header[begin] == '(') {
    end = header.find(')', begin);
    return end == std::string::npos ? "" : header.substr(begin, end - begin + 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(begin, end - begin);
}

}  // namespace

Status WriteNpy(const std::string& path, const torch::Tensor& array) {
  const torch::Tensor host = HostContiguous(array);
  std::ostringstream dict;
  dict << "{'descr': '" << (host.scalar_type() == torch::kFloat64 ? "<f8" : "<f4")
       << "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < host.dim(); ++i) {
    dict << host.size(i) << (host.dim() == 1 ? "," : (i + 1 < host.dim() ? ", " : ""));
  }
  dict << "), }";
  std::string header = dict.str();
  // Magic, version, 2-byte length, header and '\n' padded to a multiple of 64 bytes.
  const size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IoError(path + ": cannot open for writing");
  const uint16_t length = static_cast<uint16_t>(header.size());
  const char version[2] = {1, 0};
  const char length_le[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(kMagic, kMagicSize);
  out.write(version, 2);
  out.write(length_le, 2);
  out.write(header.data(), header.size());
  out.write(static_cast<const char*>(host.data_ptr()), host.numel() * host.element_size());
  out.close();
  if (!out) return Status::IoError(path + ": write failed");
  return Status::Ok();
}

Result<torch::Tensor> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  char magic[kMagicSize + 2];
  if (!in.read(magic, sizeof(magic)) || std::memcmp(magic, kMagic, kMagicSize) != 0) {
    return Status::Corruption(path + ": not a .npy file (bad magic)");
  }
  const int major = magic[kMagicSize];
  uint32_t length = 0;
  unsigned char bytes[4] = {0, 0, 0, 0};
  const int length_bytes = major == 1 ? 2 : 4;
  if (major < 1 || major > 3 || !in.read(reinterpret_cast<char*>(bytes), length_bytes)) {
    return Status::Corruption(path + ": unsupported .npy version " + std::to_string(major));
  }
  for (int i = length_bytes - 1; i >= 0; --i) length = (length << 8) | bytes[i];
  std::string header(length, '\0');
  if (!in.read(header.data(), length)) return Status::Corruption(path + ": truncated header");
  const std::string descr = HeaderField(header, "descr");
  torch::ScalarType dtype;
  if (descr == "'<f4'") {
    dtype = torch::kFloat32;
  } else if (descr == "'<f8'") {
    dtype = torch::kFloat64;
  } else {
    return Status::InvalidArgument(path + ": dtype " + descr + " not supported (need <f4 or <f8)");
  }
  if (HeaderField(header, "fortran_order") != "False") {
    return Status::InvalidArgument(path + ": Fortran-order arrays are not supported");
  }
  std::string shape_text = HeaderField(header, "shape");
  if (shape_text.size() < 2) return Status::Corruption(path + ": no shape in header");
  std::vector<int64_t> shape;
  std::istringstream shape_in(shape_text.substr(1, shape_text.size() - 2));
  std::string item;
  while (std::getline(shape_in, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    shape.push_back(std::stoll(item));
  }
  torch::Tensor array = torch::empty(shape, dtype);
  const std::streamsize bytes_needed = array.numel() * array.element_size();
  if (!in.read(static_cast<char*>(array.data_ptr()), bytes_needed)) {
    return Status::Corruption(path + ": truncated data");
  }
  return array;
}

Status WriteCsv(const std::string& path, const torch::Tensor& array) {
  if (array.dim() < 1 || array.dim() > 2) {
    return Status::InvalidArgument(path + ": CSV needs a 1D or 2D array");
  }
  const torch::Tensor host = HostContiguous(array.dim() == 1 ? array.unsqueeze(1) : array);
  const bool f64 = host.scalar_type() == torch::kFloat64;
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return Status::IoError(path + ": cannot open for writing");
  const int64_t rows = host.size(0), cols = host.size(1);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double v = f64 ? host.data_ptr<double>()[r * cols + c]
                           : static_cast<double>(host.data_ptr<float>()[r * cols + c]);
      std::fprintf(file, f64 ? "%.17g%s" : "%.9g%s", v, c + 1 < cols ? "," : "\n");
    }
  }
  if (std::fclose(file) != 0) return Status::IoError(path + ": write failed");
  return Status::Ok();
}

}  // namespace mgr
