// .npy and CSV files checked with numpy (Debian's /usr/bin/python3) and by hand.
#include "trainer/features/array_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mgr {
namespace {

std::string TempDir() {
  std::string pattern = ::testing::TempDir() + "mgr_arrays_XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

int Python(const std::string& code) {
  const std::string command = std::string(MGR_PYTHON) + " -c \"" + code + "\"";
  return std::system(command.c_str());
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ArrayWriterTest, NumpyLoadsWhatWeWrite) {
  const std::string dir = TempDir();
  const torch::Tensor f32 = torch::arange(24, torch::kFloat32).view({2, 3, 4}) / 7;
  const torch::Tensor f64 = torch::arange(5, torch::kFloat64) * 0.1;
  ASSERT_TRUE(WriteNpy(dir + "/a.npy", f32).ok());
  ASSERT_TRUE(WriteNpy(dir + "/b.npy", f64).ok());
  ASSERT_TRUE(WriteNpy(dir + "/c.npy", torch::arange(6, torch::kInt64).view({3, 2}).t()).ok());
  EXPECT_EQ(Python("import numpy as np; d='" + dir +
                   "'; a=np.load(d+'/a.npy'); b=np.load(d+'/b.npy'); c=np.load(d+'/c.npy');"
                   "assert a.dtype==np.float32 and a.shape==(2,3,4), (a.dtype, a.shape);"
                   "assert np.array_equal(a, np.arange(24,dtype=np.float32).reshape(2,3,4)"
                   "/np.float32(7));"
                   "assert b.dtype==np.float64 and b.shape==(5,);"
                   "assert np.array_equal(b, np.arange(5)*0.1);"
                   "assert c.dtype==np.float32 and np.array_equal(c, [[0,2,4],[1,3,5]])"),
            0);
}

TEST(ArrayWriterTest, ReadsWhatNumpyWrites) {
  const std::string dir = TempDir();
  ASSERT_EQ(Python("import numpy as np; d='" + dir +
                   "'; np.save(d+'/x.npy', np.arange(15.0).reshape(3,5)/4);"
                   "np.save(d+'/y.npy', np.array([1.5, -2.25], dtype=np.float32));"
                   "np.save(d+'/z.npy', np.arange(3));"
                   "np.save(d+'/f.npy', np.asfortranarray(np.ones((2,3))))"),
            0);
  auto x = ReadNpy(dir + "/x.npy");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->scalar_type(), torch::kFloat64);
  EXPECT_EQ(x->sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_DOUBLE_EQ((*x)[2][3].item<double>(), 13.0 / 4);
  auto y = ReadNpy(dir + "/y.npy");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->scalar_type(), torch::kFloat32);
  EXPECT_EQ(y->sizes(), (std::vector<int64_t>{2}));
  EXPECT_EQ((*y)[1].item<float>(), -2.25f);
  auto z = ReadNpy(dir + "/z.npy");
  EXPECT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("z.npy"), std::string::npos);
  EXPECT_FALSE(ReadNpy(dir + "/f.npy").ok());
  EXPECT_EQ(ReadNpy(dir + "/missing.npy").status().code(), StatusCode::kNotFound);
}

TEST(ArrayWriterTest, CsvRowsAndRoundTripDigits) {
  const std::string dir = TempDir();
  const torch::Tensor a = torch::tensor({0.5, 1.0, -2.0, 0.1, 1e-12, 3.0}, torch::kFloat64);
  ASSERT_TRUE(WriteCsv(dir + "/a.csv", a.view({2, 3})).ok());
  EXPECT_EQ(ReadText(dir + "/a.csv"), "0.5,1,-2\n0.10000000000000001,9.9999999999999998e-13,3\n");
  ASSERT_TRUE(WriteCsv(dir + "/b.csv", torch::tensor({0.1f, 2.0f})).ok());
  EXPECT_EQ(ReadText(dir + "/b.csv"), "0.100000001\n2\n");
  EXPECT_FALSE(WriteCsv(dir + "/c.csv", torch::zeros({1, 2, 3})).ok());
  const Status bad = WriteCsv("/nonexistent-dir/x.csv", a);
  EXPECT_EQ(bad.code(), StatusCode::kIoError);
  EXPECT_NE(bad.message().find("/nonexistent-dir/x.csv"), std::string::npos);
}

}  // namespace
}  // namespace mgr
