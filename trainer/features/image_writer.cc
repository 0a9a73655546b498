#include "trainer/features/image_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace mgr {
namespace {

// matplotlib's colormaps sampled at 0, 1/9, ..., 1 (as R's viridisLite publishes them).
constexpr uint8_t kViridis[10][3] = {{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x4a, 0x89},
                                     {0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e}, {0x1f, 0x9e, 0x89},
                                     {0x35, 0xb7, 0x79}, {0x6d, 0xcd, 0x59}, {0xb4, 0xde, 0x2c},
                                     {0xfd, 0xe7, 0x25}};
constexpr uint8_t kMagma[10][3] = {{0x00, 0x00, 0x04}, {0x18, 0x0f, 0x3e}, {0x45, 0x10, 0x77},
                                   {0x72, 0x1f, 0x81}, {0x9f, 0x2f, 0x7f}, {0xcd, 0x40, 0x71},
                                   {0xf1, 0x60, 0x5d}, {0xfd, 0x95, 0x67}, {0xfe, 0xc9, 0x8d},
                                   {0xfc, 0xfd, 0xbf}};

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutChunk(std::string& out, const char* type, const std::string& data) {
  PutU32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type, 4);
  out.append(data);
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data() + start), 4 + data.size());
  PutU32(out, static_cast<uint32_t>(crc));
}

int AutoScale(int scale, int64_t values, int min_pixels) {
  if (scale > 0) return scale;
  const int64_t needed = (min_pixels + values - 1) / std::max<int64_t>(values, 1);
  return static_cast<int>(std::clamp<int64_t>(needed, 1, 8));
}

}  // namespace

std::array<uint8_t, 3> MapColor(Colormap colormap, double value) {
  if (!std::isfinite(value)) value = 0.0;
  value = std::clamp(value, 0.0, 1.0);
  if (colormap == Colormap::kGray) {
    const uint8_t g = static_cast<uint8_t>(std::lround(value * 255.0));
    return {g, g, g};
  }
  const auto& table = colormap == Colormap::kMagma ? kMagma : kViridis;
  const double position = value * 9.0;
  const int i = std::min(8, static_cast<int>(position));
  const double w = position - i;
  std::array<uint8_t, 3> rgb;
  for (int c = 0; c < 3; ++c) {
    rgb[c] = static_cast<uint8_t>(std::lround(table[i][c] * (1.0 - w) + table[i + 1][c] * w));
  }
  return rgb;
}

Status WritePng(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<size_t>(width) * height * 3) {
    return Status::InvalidArgument(path + ": PNG size " + std::to_string(width) + "x" +
                                   std::to_string(height) + " does not match the pixel data");
  }
  // Each row is prefixed by its filter type (0: none).
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (1 + 3 * width));
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(rgb.data()) + static_cast<size_t>(y) * width * 3,
               static_cast<size_t>(width) * 3);
  }
  uLongf compressed_size = compressBound(raw.size());
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 6) != Z_OK) {
    return Status::Internal(path + ": zlib compression failed");
  }
  compressed.resize(compressed_size);
  std::string header;
  PutU32(header, static_cast<uint32_t>(width));
  PutU32(header, static_cast<uint32_t>(height));
  header +=
      std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, no filter, no interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  PutChunk(png, "IHDR", header);
  PutChunk(png, "IDAT", compressed);
  PutChunk(png, "IEND", "");
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IoError(path + ": cannot open for writing");
  out.write(png.data(), png.size());
  out.close();
  if (!out) return Status::IoError(path + ": write failed");
  return Status::Ok();
}

Status WriteFeaturePng(const std::string& path, const torch::Tensor& features,
                       const FeatureImageOptions& options) {
  torch::Tensor values = features.detach();
  if (values.dim() == 3 && values.size(0) == 1) values = values[0];
  if (values.dim() != 2 || values.numel() == 0) {
    return Status::InvalidArgument(path + ": an image needs non-empty (frames, coefficients)");
  }
  values = values.to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t frames = values.size(0), coefs = values.size(1);
  const double low = values.min().item<double>(), high = values.max().item<double>();
  const int xs = AutoScale(options.x_scale, frames, options.min_width);
  const int ys = AutoScale(options.y_scale, coefs, options.min_height);
  const int width = static_cast<int>(frames * xs), height = static_cast<int>(coefs * ys);
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  const double* data = values.data_ptr<double>();
  for (int y = 0; y < height; ++y) {
    const int64_t c = coefs - 1 - y / ys;  // low coefficients at the bottom
    for (int x = 0; x < width; ++x) {
      const double v = data[(x / xs) * coefs + c];
      const double unit = high > low ? (v - low) / (high - low) : 0.5;
      const auto color = MapColor(options.colormap, unit);
      std::copy(color.begin(), color.end(), rgb.begin() + (static_cast<size_t>(y) * width + x) * 3);
    }
  }
  return WritePng(path, width, height, rgb);
}

}  // namespace mgr
