// The one-pass JPEG decode (internal::DecodeJpegChecked) gives exactly the pixels of the
// check + imdecode path it replaces, at every DCT scale, and leaves to that path the
// JPEGs it must not take.
#include <string>
#include <vector>

#include "common/image_decode.h"
#include "common/jpeg_scan_check.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadFileOrFail;

int ReducedFlag(int scale) {
  switch (scale) {
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    default: return cv::IMREAD_COLOR;
  }
}

// What DecodeImage did for every JPEG before: imdecode, then BGR -> RGB.
cv::Mat ViaImdecode(const std::string& bytes, int scale) {
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                        const_cast<char*>(bytes.data()));
  cv::Mat bgr = cv::imdecode(encoded, ReducedFlag(scale)), rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// The full-scale size, as imdecode gives it.
cv::Size ImdecodeSize(const std::string& bytes) { return ViaImdecode(bytes, 1).size(); }

// The stored size, as DecodeImage's header parser gives it.
cv::Size HeaderSize(const std::string& bytes) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  EXPECT_THAT(header.status(), IsOk());
  return header.ok() ? cv::Size(header->width, header->height) : cv::Size();
}

void ExpectSamePixels(const std::string& bytes, const std::string& what) {
  for (const int scale : {1, 2, 4, 8}) {
    SCOPED_TRACE(what + ", scale 1/" + std::to_string(scale));
    absl::StatusOr<std::optional<cv::Mat>> one_pass =
        internal::DecodeJpegChecked(bytes, scale, HeaderSize(bytes));
    ASSERT_THAT(one_pass.status(), IsOk());
    ASSERT_TRUE(one_pass->has_value()) << "left to imdecode";
    const cv::Mat expected = ViaImdecode(bytes, scale);
    const cv::Mat& got = **one_pass;
    ASSERT_EQ(got.size(), expected.size());
    ASSERT_EQ(got.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(got, expected, cv::NORM_INF), 0);
  }
}

// Smooth gradients plus noise: every DCT coefficient and the chroma upsampling matter.
cv::Mat TestImage(int width, int height, int channels, int seed) {
  cv::Mat image(height, width, CV_8UC(channels));
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(image, image, cv::Size(0, 0), 3);
  cv::Mat noise(height, width, CV_8UC(channels));
  rng.fill(noise, cv::RNG::NORMAL, 0, 20);
  return image + noise;
}

std::string Encode(const cv::Mat& image, std::vector<int> params) {
  std::vector<unsigned char> out;
  EXPECT_TRUE(cv::imencode(".jpg", image, out, params));
  return std::string(out.begin(), out.end());
}

TEST(JpegOnePassTest, SamePixelsAsImdecodeForEncoderSettings) {
  struct Case {
    std::string what;
    int width, height, channels;
    std::vector<int> params;
  };
  const std::vector<Case> cases = {
      {"colour 4:2:0 q95", 333, 251, 3, {cv::IMWRITE_JPEG_QUALITY, 95}},
      {"colour 4:2:0 q75", 97, 311, 3, {cv::IMWRITE_JPEG_QUALITY, 75}},
      {"colour progressive", 301, 203, 3, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {"colour optimized, restart every row", 256, 129, 3,
       {cv::IMWRITE_JPEG_OPTIMIZE, 1, cv::IMWRITE_JPEG_RST_INTERVAL, 16}},
      {"gray q92", 401, 299, 1, {cv::IMWRITE_JPEG_QUALITY, 92}},
      {"gray progressive", 123, 77, 1, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {"radiograph-sized gray", 1000, 1200, 1, {cv::IMWRITE_JPEG_QUALITY, 95}},
      {"one pixel", 1, 1, 3, {}},
  };
  int seed = 1;
  for (const Case& c : cases) {
    ExpectSamePixels(Encode(TestImage(c.width, c.height, c.channels, seed++), c.params), c.what);
  }
}

TEST(JpegOnePassTest, SamePixelsAsImdecodeForTheFixtures) {
  for (const char* name : {"quad.jpg", "quad_progressive.jpg", "trailing_data.jpg"}) {
    ExpectSamePixels(ReadFileOrFail(CommonData(std::string("images/") + name)), name);
  }
}

TEST(JpegOnePassTest, LeavesExifOrientedJpegsToImdecode) {
  for (const char* name : {"quad_exif6.jpg", "quad_exif8.jpg"}) {
    const std::string bytes = ReadFileOrFail(CommonData(std::string("images/") + name));
    absl::StatusOr<std::optional<cv::Mat>> one_pass =
        internal::DecodeJpegChecked(bytes, 1, HeaderSize(bytes));
    ASSERT_THAT(one_pass.status(), IsOk()) << name;
    EXPECT_FALSE(one_pass->has_value()) << name;
  }
}

TEST(JpegOnePassTest, FailsAsTheScanCheckDoes) {
  const std::string truncated = ReadFileOrFail(CommonData("images/truncated.jpg"));
  const absl::Status check = internal::CheckJpegScan(truncated);
  ASSERT_FALSE(check.ok());
  const cv::Size size = HeaderSize(truncated);
  EXPECT_EQ(internal::DecodeJpegChecked(truncated, 1, size).status(), check);
  EXPECT_EQ(internal::DecodeJpegChecked("\xff\xd8\xff\xd9", 1, size).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(internal::DecodeJpegChecked(truncated, 3, size).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JpegOnePassTest, RefusesASizeOtherThanTheHeadersBeforeAllocating) {
  const std::string bytes = ReadFileOrFail(CommonData("images/quad.jpg"));
  const cv::Size size = HeaderSize(bytes);
  ASSERT_EQ(size, ImdecodeSize(bytes));
  const absl::Status status =
      internal::DecodeJpegChecked(bytes, 1, cv::Size(size.width + 1, size.height)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("the header says"));
}

}  // namespace
}  // namespace explainer::common
