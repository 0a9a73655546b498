// PNGs decoded independently with zlib (CRCs, inflate) and colours checked against
// matplotlib's published colormap values.
#include "trainer/features/image_writer.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mgr {
namespace {

struct Decoded {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

uint32_t U32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// A minimal PNG reader for 8-bit RGB, filter 0 rows: enough to check our writer.
Decoded DecodePng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string png = buffer.str();
  Decoded out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  size_t at = 8;
  while (at + 12 <= png.size()) {
    const uint32_t length = U32(png, at);
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, length);
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), 4 + length);
    EXPECT_EQ(U32(png, at + 8 + length), crc) << type;
    if (type == "IHDR") {
      out.width = U32(data, 0);
      out.height = U32(data, 4);
      EXPECT_EQ(data.substr(8), std::string("\x08\x02\x00\x00\x00", 5));
    } else if (type == "IDAT") {
      idat += data;
    } else {
      EXPECT_EQ(type, "IEND");
    }
    at += 12 + length;
  }
  EXPECT_EQ(at, png.size());
  std::vector<uint8_t> raw(static_cast<size_t>(out.height) * (1 + 3 * out.width));
  uLongf raw_size = raw.size();
  EXPECT_EQ(
      uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
      Z_OK);
  EXPECT_EQ(raw_size, raw.size());
  for (uint32_t y = 0; y < out.height; ++y) {
    EXPECT_EQ(raw[y * (1 + 3 * out.width)], 0) << "filter type of row " << y;
    out.rgb.insert(out.rgb.end(), raw.begin() + y * (1 + 3 * out.width) + 1,
                   raw.begin() + (y + 1) * (1 + 3 * out.width));
  }
  return out;
}

std::array<int, 3> Pixel(const Decoded& d, uint32_t x, uint32_t y) {
  const size_t i = (static_cast<size_t>(y) * d.width + x) * 3;
  return {d.rgb[i], d.rgb[i + 1], d.rgb[i + 2]};
}

void ExpectColor(std::array<uint8_t, 3> got, std::array<int, 3> want, int tolerance) {
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want[c], tolerance) << "channel " << c;
}

// matplotlib: viridis(0) #440154, viridis(0.25) #3b528b, viridis(0.5) #21918c,
// viridis(1) #fde725; magma(0) #000004, magma(0.5) #b73779, magma(1) #fcfdbf.
TEST(ImageWriterTest, ColormapsFollowMatplotlib) {
  ExpectColor(MapColor(Colormap::kViridis, 0.0), {0x44, 0x01, 0x54}, 0);
  ExpectColor(MapColor(Colormap::kViridis, 0.25), {0x3b, 0x52, 0x8b}, 3);
  ExpectColor(MapColor(Colormap::kViridis, 0.5), {0x21, 0x91, 0x8c}, 3);
  ExpectColor(MapColor(Colormap::kViridis, 1.0), {0xfd, 0xe7, 0x25}, 0);
  ExpectColor(MapColor(Colormap::kMagma, 0.0), {0x00, 0x00, 0x04}, 0);
  ExpectColor(MapColor(Colormap::kMagma, 0.5), {0xb7, 0x37, 0x79}, 3);
  ExpectColor(MapColor(Colormap::kMagma, 1.0), {0xfc, 0xfd, 0xbf}, 0);
  ExpectColor(MapColor(Colormap::kGray, 0.5), {128, 128, 128}, 0);
  ExpectColor(MapColor(Colormap::kViridis, -3.0), {0x44, 0x01, 0x54}, 0);  // clamped
}

TEST(ImageWriterTest, FeaturePngOrientationAndScale) {
  const std::string path = ::testing::TempDir() + "mgr_image_test.png";
  // (T = 2 frames, C = 3 coefficients); minimum at (t 0, c 0), maximum at (t 1, c 2).
  const torch::Tensor features = torch::tensor({0.0, 1.0, 2.0, 3.0, 4.0, 8.0}).view({2, 3});
  FeatureImageOptions options;
  options.x_scale = 4;
  options.y_scale = 2;
  ASSERT_TRUE(WriteFeaturePng(path, features, options).ok());
  const Decoded d = DecodePng(path);
  ASSERT_EQ(d.width, 8u);
  ASSERT_EQ(d.height, 6u);
  ASSERT_EQ(d.rgb.size(), 8u * 6 * 3);
  // Bottom-left block is (t 0, c 0): the darkest; top-right block (t 1, c 2): brightest.
  for (uint32_t x = 0; x < 4; ++x) {
    for (uint32_t y = 4; y < 6; ++y)
      EXPECT_EQ(Pixel(d, x, y), (std::array<int, 3>{0x44, 0x01, 0x54}));
  }
  EXPECT_EQ(Pixel(d, 7, 0), (std::array<int, 3>{0xfd, 0xe7, 0x25}));
  // (t 1, c 0) = 3 of [0, 8]: 0.375.
  const auto mid = MapColor(Colormap::kViridis, 3.0 / 8);
  EXPECT_EQ(Pixel(d, 5, 5), (std::array<int, 3>{mid[0], mid[1], mid[2]}));
  std::remove(path.c_str());
}

TEST(ImageWriterTest, AutoScaleMakesAReadableImage) {
  const std::string path = ::testing::TempDir() + "mgr_image_auto.png";
  ASSERT_TRUE(WriteFeaturePng(path, torch::randn({256, 20}), FeatureImageOptions()).ok());
  const Decoded d = DecodePng(path);
  EXPECT_EQ(d.width, 256u * 3);  // ceil(768 / 256)
  EXPECT_EQ(d.height, 20u * 8);  // ceil(384 / 20) = 20, capped at 8
  std::remove(path.c_str());
}

TEST(ImageWriterTest, Errors) {
  EXPECT_FALSE(WriteFeaturePng("/nonexistent-dir/x.png", torch::zeros({2, 2})).ok());
  EXPECT_FALSE(WriteFeaturePng("/tmp/x.png", torch::zeros({2, 2, 2})).ok());
  EXPECT_FALSE(WritePng("/tmp/x.png", 2, 2, std::vector<uint8_t>(5)).ok());
}

}  // namespace
}  // namespace mgr
