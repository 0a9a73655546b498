#include "trainer/audio/audio_decoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "tests/trainer/data_test_util.h"

namespace mgr {
namespace {

using testing_util::FfmpegDecode;
using testing_util::Shell;
using testing_util::TempDir;

// (container, source rate, channels)
using Case = std::tuple<std::string, int, int>;

std::string CodecArgs(const std::string& format) {
  if (format == "mp3") return "-c:a libmp3lame -b:a 128k";
  if (format == "ogg") return "-c:a libvorbis -q:a 4";
  if (format == "flac") return "-c:a flac";
  return "-c:a pcm_s16le";  // wav
}

// A 2.5 s test signal from the ffmpeg CLI: tones plus noise, different in each channel so a
// wrong downmix shows.
bool MakeInput(const std::string& path, const std::string& format, int rate, int channels) {
  std::string left = "0.4*sin(2*PI*440*t)+0.2*sin(2*PI*2500*t)+0.1*(random(0)-0.5)";
  std::string right = "0.5*sin(2*PI*660*t+1)+0.1*sin(2*PI*3100*t)";
  std::string exprs = channels == 1 ? left : left + "|" + right;
  return Shell("ffmpeg -nostdin -v error -y -f lavfi -i 'aevalsrc=exprs=" + exprs + ":s=" +
               std::to_string(rate) + ":d=2.5' " + CodecArgs(format) + " '" + path + "'") == 0;
}

class DecoderVsFfmpegCli : public ::testing::TestWithParam<Case> {};

TEST_P(DecoderVsFfmpegCli, SamplesMatchTheCommandLine) {
  const auto& [format, rate, channels] = GetParam();
  TempDir dir;
  const std::string path = dir.path() + "/in." + format;
  ASSERT_TRUE(MakeInput(path, format, rate, channels)) << path;
  for (int out_rate : {22050, 44100}) {
    std::vector<float> expected;
    ASSERT_TRUE(FfmpegDecode(path, channels, out_rate, &expected));
    DecodeOptions options;
    options.sample_rate = out_rate;
    Result<std::vector<float>> got = DecodeAudioFile(path, options);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), expected.size()) << format << " " << rate << " Hz -> " << out_rate;
    // The signal is there (not silence) and about 2.5 s long.
    EXPECT_NEAR(got->size(), 2.5 * out_rate, 0.01 * out_rate);
    double max_diff = 0, energy = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(double((*got)[i]) - expected[i]));
      energy += double(expected[i]) * expected[i];
    }
    EXPECT_LE(max_diff, 1e-4) << format << " " << rate << " Hz " << channels << " ch -> "
                              << out_rate;
    EXPECT_GT(energy / expected.size(), 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(FormatsRatesChannels, DecoderVsFfmpegCli,
                         ::testing::Combine(::testing::Values("mp3", "ogg", "flac", "wav"),
                                            ::testing::Values(8000, 22050, 44100, 48000),
                                            ::testing::Values(1, 2)),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "Hz_" +
                                  std::to_string(std::get<2>(info.param)) + "ch";
                         });

TEST(AudioDecoderTest, StereoDownmixIsTheMeanOfTheChannels) {
  // Left = +0.5 constant-ish tone, right = its negation: the mean is silence (a sqrt(1/2)
  // downmix would be too, so also check L = R gives the channel itself, not 1.414x).
  TempDir dir;
  const std::string same = dir.path() + "/same.wav";
  ASSERT_EQ(Shell("ffmpeg -nostdin -v error -y -f lavfi -i "
                  "'aevalsrc=exprs=0.5*sin(2*PI*1000*t)|0.5*sin(2*PI*1000*t):s=22050:d=1' "
                  "-c:a pcm_f32le '" +
                  same + "'"),
            0);
  DecodeOptions options;
  Result<std::vector<float>> got = DecodeAudioFile(same, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 22050u);
  for (size_t i = 0; i < got->size(); ++i) {
    ASSERT_NEAR((*got)[i], 0.5 * std::sin(2 * M_PI * 1000 * i / 22050.0), 1e-5) << i;
  }
}

TEST(AudioDecoderTest, MissingFileNamesThePath) {
  Result<std::vector<float>> got = DecodeAudioFile("/nonexistent/000002.mp3", DecodeOptions());
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("/nonexistent/000002.mp3"), std::string::npos);
}

TEST(AudioDecoderTest, BrokenFilesFailWithFfmpegsReasonAndPrintNothing) {
  TempDir dir;
  const std::string text = dir.path() + "/text.mp3", empty = dir.path() + "/empty.mp3";
  testing_util::WriteFile(text, "<html>404 Not Found</html>\n");
  testing_util::WriteFile(empty, "");
  ::testing::internal::CaptureStderr();
  Result<std::vector<float>> a = DecodeAudioFile(text, DecodeOptions());
  Result<std::vector<float>> b = DecodeAudioFile(empty, DecodeOptions());
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed, "");
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(a.status().message().find(text), std::string::npos) << a.status().message();
  EXPECT_NE(b.status().message().find(empty), std::string::npos) << b.status().message();
  // The CLI refuses them too (the reference agrees these are broken).
  std::vector<float> unused;
  EXPECT_FALSE(FfmpegDecode(text, 1, 22050, &unused));
  EXPECT_FALSE(FfmpegDecode(empty, 1, 22050, &unused));
}

TEST(AudioDecoderTest, TruncatedMp3DecodesWhatIsThereLikeTheCli) {
  TempDir dir;
  const std::string full = dir.path() + "/full.mp3", cut = dir.path() + "/cut.mp3";
  ASSERT_TRUE(MakeInput(full, "mp3", 44100, 2));
  ASSERT_EQ(Shell("head -c 20000 '" + full + "' > '" + cut + "'"), 0);
  std::vector<float> expected;
  ASSERT_TRUE(FfmpegDecode(cut, 2, 22050, &expected));
  Result<std::vector<float>> got = DecodeAudioFile(cut, DecodeOptions());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_LT(got->size(), 2u * 22050);
  // Both stop inside the last complete frame; compare what both have.
  ASSERT_NEAR(double(got->size()), double(expected.size()), 1152);
  const size_t n = std::min(got->size(), expected.size());
  for (size_t i = 0; i + 2048 < n; ++i) ASSERT_NEAR((*got)[i], expected[i], 1e-4) << i;
}

TEST(AudioDecoderTest, RejectsANonPositiveRate) {
  DecodeOptions options;
  options.sample_rate = 0;
  EXPECT_EQ(DecodeAudioFile("x.mp3", options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mgr
