// PNG images of features, so a user can look at what a network sees.
#ifndef MGR_TRAINER_FEATURES_IMAGE_WRITER_H_
#define MGR_TRAINER_FEATURES_IMAGE_WRITER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "storage/base/status.h"

namespace mgr {

enum class Colormap { kViridis, kMagma, kGray };

// RGB of `value` in [0, 1] (clamped): matplotlib's viridis/magma interpolated linearly
// between ten evenly spaced reference colours; kGray is black to white.
std::array<uint8_t, 3> MapColor(Colormap colormap, double value);

// Writes an 8-bit RGB PNG (zlib-compressed, no filter). rgb holds height rows of width
// pixels, top row first, 3 bytes per pixel.
Status WritePng(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);

struct FeatureImageOptions {
  Colormap colormap = Colormap::kViridis;
  // Each value becomes a block of pixels; 0 picks the smallest scale that makes the image
  // at least min_width x min_height pixels (at most 8 per value).
  int x_scale = 0, y_scale = 0;
  int min_width = 768, min_height = 384;
};

// features: (T, C) on any device (a (1, T, C) batch of one is accepted). Time runs along
// x, coefficient c along y with c = 0 at the bottom; values are scaled linearly from the
// array's minimum (dark) to its maximum (bright). A constant array maps to the middle colour.
Status WriteFeaturePng(const std::string& path, const torch::Tensor& features,
                       const FeatureImageOptions& options = FeatureImageOptions());

}  // namespace mgr

#endif  // MGR_TRAINER_FEATURES_IMAGE_WRITER_H_
