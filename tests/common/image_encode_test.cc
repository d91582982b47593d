// EncodePng colour order and EncodeNpyFloat32's bytes against np.save.
#include "common/image_encode.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
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
using ::testing::HasSubstr;

cv::Mat DecodeWithOpenCv(const std::string& png, int flags) {
  const std::vector<uint8_t> bytes(png.begin(), png.end());
  return cv::imdecode(bytes, flags);
}

TEST(EncodePngTest, RgbInputKeepsItsColours) {
  cv::Mat rgb(1, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 0);  // red
  rgb.at<cv::Vec3b>(0, 1) = cv::Vec3b(10, 20, 30);
  const absl::StatusOr<std::string> png = EncodePng(rgb);
  ASSERT_THAT(png, IsOk());
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // OpenCV decodes to BGR: red must come back with its red in channel 2.
  const cv::Mat bgr = DecodeWithOpenCv(*png, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(bgr.type(), CV_8UC3);
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(30, 20, 10));
}

TEST(EncodePngTest, GrayStaysOneChannel) {
  const cv::Mat gray(2, 3, CV_8UC1, cv::Scalar(77));
  const absl::StatusOr<std::string> png = EncodePng(gray);
  ASSERT_THAT(png, IsOk());
  const cv::Mat back = DecodeWithOpenCv(*png, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(back.type(), CV_8UC1);
  EXPECT_EQ(back.size(), cv::Size(3, 2));
  EXPECT_EQ(back.at<uint8_t>(1, 2), 77);
}

TEST(EncodePngTest, RejectsOtherTypes) {
  absl::StatusOr<std::string> png = EncodePng(cv::Mat());
  EXPECT_EQ(png.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(png.status().message(), HasSubstr("non-empty CV_8UC1 or CV_8UC3 image"));
  png = EncodePng(cv::Mat(2, 2, CV_32FC1, cv::Scalar(0)));
  EXPECT_THAT(png.status().message(), HasSubstr("got 2x2 of type 5"));
  png = EncodePng(cv::Mat(2, 2, CV_8UC4, cv::Scalar(0)));
  EXPECT_THAT(png.status().message(), HasSubstr("non-empty CV_8UC1 or CV_8UC3 image"));
}

TEST(EncodePngTest, EveryCompressionDecodesToTheSamePixelsAndLevelsTradeSize) {
  cv::Mat rgb(64, 80, CV_8UC3);
  cv::RNG rng(5);
  rng.fill(rgb, cv::RNG::UNIFORM, 0, 40);  // compressible noise
  const cv::Mat original = rgb.clone();
  size_t stored = 0, smallest = 0;
  for (const int level : {kPngFast, 0, 1, 6, 9}) {
    const absl::StatusOr<std::string> png = EncodePng(rgb, level);
    ASSERT_THAT(png, IsOk()) << level;
    const cv::Mat back = DecodeWithOpenCv(*png, cv::IMREAD_UNCHANGED);
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    EXPECT_EQ(cv::norm(back, bgr, cv::NORM_INF), 0) << level;
    EXPECT_EQ(cv::norm(rgb, original, cv::NORM_INF), 0) << "EncodePng changed its input";
    if (level == 0) stored = png->size();
    if (level == 9) smallest = png->size();
  }
  EXPECT_GT(stored, smallest);  // 0 stores, 9 compresses: the level reaches zlib
  for (const int bad : {-2, 10}) {
    const absl::StatusOr<std::string> png = EncodePng(rgb, bad);
    EXPECT_EQ(png.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(png.status().message(),
              "PNG compression must be -1 (fast) or a zlib level 0..9, got " + std::to_string(bad));
  }
}

TEST(EncodeNpyTest, BytesEqualNumpySave) {
  cv::Mat values(3, 5, CV_32FC1);
  for (int i = 0; i < 15; ++i)
    values.at<float>(i / 5, i % 5) = static_cast<float>(i) * -0.75f + 0.5f;
  const absl::StatusOr<std::string> npy = EncodeNpyFloat32(values);
  ASSERT_THAT(npy, IsOk());
  EXPECT_EQ(*npy, ReadFileOrFail(CommonData("golden/npy_3x5.npy")));

  const absl::StatusOr<std::string> one =
      EncodeNpyFloat32(cv::Mat(1, 1, CV_32FC1, cv::Scalar(3.25f)));
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(*one, ReadFileOrFail(CommonData("golden/npy_1x1.npy")));
}

TEST(EncodeNpyTest, HeaderIsAlignedAndDataIsRowMajor) {
  // A non-contiguous view (a column range) must still come out in C order.
  cv::Mat wide(2, 4, CV_32FC1);
  for (int i = 0; i < 8; ++i) wide.at<float>(i / 4, i % 4) = static_cast<float>(i);
  const absl::StatusOr<std::string> npy = EncodeNpyFloat32(wide.colRange(1, 3));
  ASSERT_THAT(npy, IsOk());
  const size_t header =
      10 + (static_cast<uint8_t>((*npy)[8]) | (static_cast<uint8_t>((*npy)[9]) << 8));
  EXPECT_EQ(header % 64, 0u);
  EXPECT_EQ((*npy)[header - 1], '\n');
  EXPECT_NE(npy->find("'shape': (2, 2), }"), std::string::npos);
  ASSERT_EQ(npy->size(), header + 4 * sizeof(float));
  float data[4];
  std::memcpy(data, npy->data() + header, sizeof(data));
  EXPECT_EQ(data[0], 1.0f);
  EXPECT_EQ(data[1], 2.0f);
  EXPECT_EQ(data[2], 5.0f);
  EXPECT_EQ(data[3], 6.0f);
}

TEST(EncodeNpyTest, RejectsOtherTypes) {
  absl::StatusOr<std::string> npy = EncodeNpyFloat32(cv::Mat());
  EXPECT_EQ(npy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(npy.status().message(), HasSubstr(".npy encoding needs a non-empty CV_32FC1"));
  npy = EncodeNpyFloat32(cv::Mat(2, 2, CV_64FC1, cv::Scalar(0)));
  EXPECT_THAT(npy.status().message(), HasSubstr("got 2x2 of type 6"));
}

}  // namespace
}  // namespace explainer::common
