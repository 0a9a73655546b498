// Writing (and, for tests and tools, reading back) feature arrays: NumPy .npy and CSV.
#ifndef MGR_TRAINER_FEATURES_ARRAY_WRITER_H_
#define MGR_TRAINER_FEATURES_ARRAY_WRITER_H_

#include <string>

#include <torch/torch.h>

#include "storage/base/status.h"

namespace mgr {

// Writes `array` (any shape, any device; float32 is written as '<f4', float64 as '<f8',
// anything else converted to float32) as a C-order .npy file (format version 1.0) that
// numpy.load reads. Errors name the file.
Status WriteNpy(const std::string& path, const torch::Tensor& array);

// Reads a little-endian, C-order '<f4' or '<f8' .npy file (versions 1.0 to 3.0) into a CPU
// tensor of the file's dtype and shape. Other dtypes and Fortran order are rejected.
Result<torch::Tensor> ReadNpy(const std::string& path);

// Writes a 1D (one value per line) or 2D (one row per line, comma-separated) array as
// CSV, with enough digits to round-trip the dtype (9 for float32, 17 for float64).
Status WriteCsv(const std::string& path, const torch::Tensor& array);

}  // namespace mgr

#endif  // MGR_TRAINER_FEATURES_ARRAY_WRITER_H_
