// Preprocess against albumentations Resize + Normalize computed in NumPy/cv2.
#include "common/preprocess.h"

#include <cmath>
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
using ::explainer::testing::NpyArray;
using ::explainer::testing::ReadNpyFloat32;
using ::explainer::testing::ReadPngRgb;
using ::testing::HasSubstr;

// Max |ours - golden|; the goldens are (x / 255 - mean) / std in float32 CHW.
float MaxAbsDiff(const ModelInput& input, const NpyArray& golden) {
  EXPECT_EQ(golden.shape, (std::vector<int>{3, input.height, input.width}));
  EXPECT_EQ(golden.values.size(), input.chw.size());
  float worst = 0;
  for (size_t i = 0; i < golden.values.size() && i < input.chw.size(); ++i) {
    worst = std::max(worst, std::abs(input.chw[i] - golden.values[i]));
  }
  return worst;
}

TEST(PreprocessTest, DownscaleMatchesGoldenWithImagenetStatistics) {
  const cv::Mat image = ReadPngRgb(CommonData("golden/input_37x29.png"));
  const absl::StatusOr<ModelInput> input = Preprocess(image, cv::Size(16, 12), Normalization{});
  ASSERT_THAT(input, IsOk());
  EXPECT_EQ(input->width, 16);
  EXPECT_EQ(input->height, 12);
  const float diff =
      MaxAbsDiff(*input, ReadNpyFloat32(CommonData("golden/preprocess_16x12_imagenet.npy")));
  EXPECT_LE(diff, 1e-5f);
  RecordProperty("max_abs_diff", std::to_string(diff));
}

TEST(PreprocessTest, UpscaleMatchesGoldenWithCustomStatistics) {
  const cv::Mat image = ReadPngRgb(CommonData("golden/input_37x29.png"));
  Normalization norm;
  norm.mean = {0.5f, 0.25f, 0.125f};
  norm.std = {0.5f, 0.3f, 0.7f};
  const absl::StatusOr<ModelInput> input = Preprocess(image, cv::Size(50, 40), norm);
  ASSERT_THAT(input, IsOk());
  EXPECT_LE(MaxAbsDiff(*input, ReadNpyFloat32(CommonData("golden/preprocess_50x40_custom.npy"))),
            1e-5f);
}

TEST(PreprocessTest, HandComputedSinglePixel) {
  // One pixel, same size: no interpolation, so each value is (v / 255 - mean) / std.
  cv::Mat image(1, 1, CV_8UC3, cv::Scalar(255, 0, 51));
  Normalization norm;
  norm.mean = {0.5f, 0.5f, 0.2f};
  norm.std = {0.25f, 0.5f, 0.1f};
  const absl::StatusOr<ModelInput> input = Preprocess(image, cv::Size(1, 1), norm);
  ASSERT_THAT(input, IsOk());
  ASSERT_EQ(input->chw.size(), 3u);
  EXPECT_NEAR(input->chw[0], 2.0f, 1e-6f);
  EXPECT_NEAR(input->chw[1], -1.0f, 1e-6f);
  EXPECT_NEAR(input->chw[2], 0.0f, 1e-6f);
}

TEST(PreprocessTest, ChannelMajorLayout) {
  // 2x1 image: CHW puts both pixels of R first.
  cv::Mat image(1, 2, CV_8UC3);
  image.at<cv::Vec3b>(0, 0) = cv::Vec3b(0, 255, 0);
  image.at<cv::Vec3b>(0, 1) = cv::Vec3b(255, 0, 255);
  Normalization identity;
  identity.mean = {0, 0, 0};
  identity.std = {1, 1, 1};
  const absl::StatusOr<ModelInput> input = Preprocess(image, cv::Size(2, 1), identity);
  ASSERT_THAT(input, IsOk());
  EXPECT_EQ(input->chw, (std::vector<float>{0, 1, 1, 0, 0, 1}));
}

TEST(PreprocessTest, ResizeForModelIsBilinear) {
  // 2x1 -> 4x1 with half-pixel centres: 0, 255 -> 0, 64, 191, 255.
  cv::Mat image(1, 2, CV_8UC3);
  image.at<cv::Vec3b>(0, 0) = cv::Vec3b(0, 0, 0);
  image.at<cv::Vec3b>(0, 1) = cv::Vec3b(255, 255, 255);
  const cv::Mat resized = ResizeForModel(image, cv::Size(4, 1));
  ASSERT_EQ(resized.size(), cv::Size(4, 1));
  EXPECT_EQ(resized.at<cv::Vec3b>(0, 0)[0], 0);
  EXPECT_EQ(resized.at<cv::Vec3b>(0, 1)[0], 64);
  EXPECT_EQ(resized.at<cv::Vec3b>(0, 2)[0], 191);
  EXPECT_EQ(resized.at<cv::Vec3b>(0, 3)[0], 255);
  EXPECT_TRUE(ResizeForModel(cv::Mat(), cv::Size(4, 1)).empty());
}

TEST(PreprocessTest, RejectsBadInputs) {
  const Normalization norm;
  absl::StatusOr<ModelInput> input = Preprocess(cv::Mat(), cv::Size(4, 4), norm);
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(input.status().message(), HasSubstr("non-empty 8-bit RGB image (CV_8UC3)"));

  input = Preprocess(cv::Mat(4, 4, CV_8UC1, cv::Scalar(0)), cv::Size(4, 4), norm);
  EXPECT_THAT(input.status().message(), HasSubstr("got 4x4 of type 0"));

  const cv::Mat rgb(4, 4, CV_8UC3, cv::Scalar(1, 2, 3));
  input = Preprocess(rgb, cv::Size(0, 4), norm);
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(input.status().message(), HasSubstr("size must be positive, got 0x4"));

  Normalization zero_std;
  zero_std.std = {0.2f, 0.0f, 0.2f};
  input = Preprocess(rgb, cv::Size(4, 4), zero_std);
  EXPECT_THAT(input.status().message(), HasSubstr("channel 1 has mean 0.456 and std 0"));

  Normalization nan_mean;
  nan_mean.mean[2] = std::nanf("");
  input = Preprocess(rgb, cv::Size(4, 4), nan_mean);
  EXPECT_THAT(input.status().message(), HasSubstr("channel 2 has mean nan"));
}

}  // namespace
}  // namespace explainer::common
