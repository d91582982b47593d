// Overlay, JET and gray heatmaps against pytorch-grad-cam's show_cam_on_image.
#include "common/overlay.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::NpyToMat;
using ::explainer::testing::ReadNpyFloat32;
using ::explainer::testing::ReadPngGray;
using ::explainer::testing::ReadPngRgb;
using ::testing::HasSubstr;

cv::Mat Heatmap() { return NpyToMat(ReadNpyFloat32(CommonData("golden/heatmap_16x12.npy"))); }

// Tolerance: none. The golden runs show_cam_on_image's float32 NumPy arithmetic,
// which overlay.cc repeats operation for operation, and both sides use the same
// cv::resize / applyColorMap.
void ExpectSameBytes(const cv::Mat& actual, const std::string& golden) {
  const cv::Mat expected = golden.find("gray") != std::string::npos
                               ? ReadPngGray(CommonData("golden/" + golden))
                               : ReadPngRgb(CommonData("golden/" + golden));
  ASSERT_EQ(actual.size(), expected.size()) << golden;
  ASSERT_EQ(actual.type(), expected.type()) << golden;
  const cv::Mat flat_a = actual.reshape(1);
  const cv::Mat flat_e = expected.reshape(1);
  EXPECT_EQ(cv::countNonZero(flat_a != flat_e), 0) << golden << " differs";
}

TEST(OverlayTest, ModelResolutionMatchesGolden) {
  const cv::Mat image = ReadPngRgb(CommonData("golden/model_input_16x12.png"));
  const absl::StatusOr<cv::Mat> overlay = OverlayHeatmap(image, Heatmap(), 0.5f);
  ASSERT_THAT(overlay, IsOk());
  ExpectSameBytes(*overlay, "overlay_model_w050.png");
}

TEST(OverlayTest, OriginalResolutionMatchesGolden) {
  const cv::Mat image = ReadPngRgb(CommonData("golden/input_37x29.png"));
  for (const auto& [weight, golden] :
       {std::pair{0.5f, "overlay_full_w050.png"}, std::pair{0.3f, "overlay_full_w030.png"},
        std::pair{0.0f, "overlay_full_w000.png"}}) {
    const absl::StatusOr<cv::Mat> overlay = OverlayHeatmap(image, Heatmap(), weight);
    ASSERT_THAT(overlay, IsOk());
    ExpectSameBytes(*overlay, golden);
  }
}

TEST(OverlayTest, ColorizeAndGrayMatchGolden) {
  const absl::StatusOr<cv::Mat> jet = ColorizeHeatmap(Heatmap());
  ASSERT_THAT(jet, IsOk());
  ExpectSameBytes(*jet, "jet_16x12.png");
  const absl::StatusOr<cv::Mat> gray = HeatmapToGray8(Heatmap());
  ASSERT_THAT(gray, IsOk());
  ExpectSameBytes(*gray, "gray_16x12.png");
}

TEST(OverlayTest, HandComputedPixel) {
  // Black image, heat 1: JET(255) is RGB (128, 0, 0); halved, then divided by its
  // own maximum -> (255, 0, 0). Heat 0.5 truncates 127.5 to 127.
  const cv::Mat black(1, 1, CV_8UC3, cv::Scalar(0, 0, 0));
  const absl::StatusOr<cv::Mat> overlay =
      OverlayHeatmap(black, cv::Mat(1, 1, CV_32FC1, cv::Scalar(1.0f)), 0.5f);
  ASSERT_THAT(overlay, IsOk());
  EXPECT_EQ(overlay->at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0));
  const absl::StatusOr<cv::Mat> gray = HeatmapToGray8(cv::Mat(1, 1, CV_32FC1, cv::Scalar(0.5f)));
  ASSERT_THAT(gray, IsOk());
  EXPECT_EQ(gray->at<uint8_t>(0, 0), 127);
  const absl::StatusOr<cv::Mat> jet = ColorizeHeatmap(cv::Mat(1, 1, CV_32FC1, cv::Scalar(1.0f)));
  ASSERT_THAT(jet, IsOk());
  EXPECT_EQ(jet->at<cv::Vec3b>(0, 0), cv::Vec3b(128, 0, 0));  // RGB, not BGR
}

TEST(OverlayTest, ImageWeightOneReturnsTheNormalisedImage) {
  cv::Mat image(1, 2, CV_8UC3, cv::Scalar(100, 50, 0));
  const absl::StatusOr<cv::Mat> overlay =
      OverlayHeatmap(image, cv::Mat(1, 2, CV_32FC1, cv::Scalar(0.7f)), 1.0f);
  ASSERT_THAT(overlay, IsOk());
  EXPECT_EQ(overlay->at<cv::Vec3b>(0, 1), cv::Vec3b(255, 127, 0));
  // An all-black image at weight 1 is 0 / 0 in NumPy; we define it as black.
  const absl::StatusOr<cv::Mat> black = OverlayHeatmap(
      cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 0)), cv::Mat(1, 1, CV_32FC1, cv::Scalar(0.7f)), 1.0f);
  ASSERT_THAT(black, IsOk());
  EXPECT_EQ(black->at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
}

TEST(OverlayTest, RejectsBadInputs) {
  const cv::Mat image(4, 4, CV_8UC3, cv::Scalar(1, 2, 3));
  const cv::Mat heat(2, 2, CV_32FC1, cv::Scalar(0.5f));
  absl::StatusOr<cv::Mat> r = OverlayHeatmap(cv::Mat(), heat, 0.5f);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("overlay needs a non-empty 8-bit RGB image"));
  r = OverlayHeatmap(cv::Mat(4, 4, CV_8UC1, cv::Scalar(1)), heat, 0.5f);
  EXPECT_THAT(r.status().message(), HasSubstr("overlay needs a non-empty 8-bit RGB image"));
  r = OverlayHeatmap(image, heat, 1.5f);
  EXPECT_THAT(r.status().message(), HasSubstr("image_weight must be in [0, 1], got 1.5"));
  r = OverlayHeatmap(image, heat, -0.1f);
  EXPECT_THAT(r.status().message(), HasSubstr("image_weight must be in [0, 1], got -0.1"));
  r = OverlayHeatmap(image, cv::Mat(2, 2, CV_64FC1, cv::Scalar(0.5)), 0.5f);
  EXPECT_THAT(r.status().message(), HasSubstr("heatmap must be a non-empty CV_32FC1 matrix"));
  r = OverlayHeatmap(image, cv::Mat(2, 2, CV_32FC1, cv::Scalar(-0.25f)), 0.5f);
  EXPECT_THAT(r.status().message(), HasSubstr("heatmap values must be in [0, 1], found -0.25"));
  r = ColorizeHeatmap(cv::Mat());
  EXPECT_THAT(r.status().message(), HasSubstr("heatmap must be a non-empty CV_32FC1 matrix"));
  r = HeatmapToGray8(cv::Mat(1, 1, CV_32FC1, cv::Scalar(2.0f)));
  EXPECT_THAT(r.status().message(), HasSubstr("found 2 at (x=0, y=0)"));
}

}  // namespace
}  // namespace explainer::common
