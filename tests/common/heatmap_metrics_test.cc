// ScoreHeatmap: hand-computed cases, the defined edge cases and a NumPy golden.
#include "common/heatmap_metrics.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::NpyToMat;
using ::explainer::testing::ReadFileOrFail;
using ::explainer::testing::ReadNpyFloat32;
using ::explainer::testing::ReadPngGray;
using ::testing::HasSubstr;

cv::Mat Heat(int rows, int cols, std::vector<float> values) {
  return cv::Mat(rows, cols, CV_32FC1, values.data()).clone();
}

cv::Mat Mask(int rows, int cols, std::vector<uint8_t> values) {
  return cv::Mat(rows, cols, CV_8UC1, values.data()).clone();
}

TEST(ScoreHeatmapTest, HandComputedTwoByTwo) {
  const cv::Mat heat = Heat(2, 2, {1.0f, 0.5f, 0.2f, 0.0f});
  const cv::Mat mask = Mask(2, 2, {1, 0, 0, 0});
  const absl::StatusOr<HeatmapScores> s = ScoreHeatmap(heat, mask, kDefaultIouThresholds);
  ASSERT_THAT(s, IsOk());
  ASSERT_EQ(s->iou.size(), 3u);
  EXPECT_FLOAT_EQ(s->iou[0].threshold, 0.3f);
  EXPECT_FLOAT_EQ(s->iou[0].iou, 0.5f);  // hot {1.0, 0.5}, mask {1.0}
  EXPECT_FLOAT_EQ(s->iou[1].iou, 0.5f);  // 0.5 >= 0.5 counts as hot
  EXPECT_FLOAT_EQ(s->iou[2].iou, 1.0f);
  EXPECT_TRUE(s->pointing_game_hit);
  EXPECT_FLOAT_EQ(s->energy_inside, 1.0f / 1.7f);
  EXPECT_FLOAT_EQ(s->mask_area_fraction, 0.25f);
}

TEST(ScoreHeatmapTest, MaskIsResizedWithNearestNeighbour) {
  // 4x4 mask with its top-left 2x2 set -> 2x2: only the top-left cell.
  const cv::Mat mask = Mask(4, 4, {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const cv::Mat heat = Heat(2, 2, {0.1f, 0.9f, 0.0f, 0.0f});
  const float t[] = {0.05f};
  const absl::StatusOr<HeatmapScores> s = ScoreHeatmap(heat, mask, t);
  ASSERT_THAT(s, IsOk());
  EXPECT_FLOAT_EQ(s->mask_area_fraction, 0.25f);
  EXPECT_FLOAT_EQ(s->iou[0].iou, 0.5f);
  EXPECT_FALSE(s->pointing_game_hit);  // maximum at top-right, outside
  EXPECT_FLOAT_EQ(s->energy_inside, 0.1f);
}

TEST(ScoreHeatmapTest, EmptyMaskIsDefined) {
  const cv::Mat heat = Heat(2, 2, {1.0f, 0.5f, 0.2f, 0.0f});
  const absl::StatusOr<HeatmapScores> s =
      ScoreHeatmap(heat, cv::Mat::zeros(3, 3, CV_8UC1), kDefaultIouThresholds);
  ASSERT_THAT(s, IsOk());
  for (const ThresholdIou& t : s->iou) EXPECT_EQ(t.iou, 0.0f);
  EXPECT_FALSE(s->pointing_game_hit);
  EXPECT_EQ(s->energy_inside, 0.0f);
  EXPECT_EQ(s->mask_area_fraction, 0.0f);
}

TEST(ScoreHeatmapTest, AllZeroHeatmapIsDefined) {
  const cv::Mat heat = cv::Mat::zeros(2, 2, CV_32FC1);
  const cv::Mat mask = Mask(2, 2, {1, 1, 0, 0});
  const float t[] = {0.3f, 0.0f};
  const absl::StatusOr<HeatmapScores> s = ScoreHeatmap(heat, mask, t);
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->iou[0].iou, 0.0f);  // nothing hot
  EXPECT_EQ(s->iou[1].iou, 0.5f);  // threshold 0: everything hot
  EXPECT_FALSE(s->pointing_game_hit);
  EXPECT_EQ(s->energy_inside, 0.0f);
  EXPECT_FALSE(std::isnan(s->energy_inside));
}

TEST(ScoreHeatmapTest, EmptyMaskAndColdHeatmapGiveZeroNotNan) {
  const float t[] = {0.5f};
  const absl::StatusOr<HeatmapScores> s =
      ScoreHeatmap(cv::Mat::zeros(2, 2, CV_32FC1), cv::Mat::zeros(2, 2, CV_8UC1), t);
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->iou[0].iou, 0.0f);  // empty union
  EXPECT_EQ(s->energy_inside, 0.0f);
}

TEST(ScoreHeatmapTest, PointingGameTakesTheFirstMaximum) {
  // Ties: np.argmax's first maximum in row-major order decides.
  const cv::Mat heat = Heat(1, 3, {0.5f, 0.5f, 0.5f});
  const float t[] = {0.5f};
  absl::StatusOr<HeatmapScores> s = ScoreHeatmap(heat, Mask(1, 3, {0, 0, 1}), t);
  ASSERT_THAT(s, IsOk());
  EXPECT_FALSE(s->pointing_game_hit);
  s = ScoreHeatmap(heat, Mask(1, 3, {1, 0, 0}), t);
  ASSERT_THAT(s, IsOk());
  EXPECT_TRUE(s->pointing_game_hit);
}

TEST(ScoreHeatmapTest, NoThresholdsGiveNoIous) {
  const absl::StatusOr<HeatmapScores> s =
      ScoreHeatmap(Heat(1, 1, {0.5f}), Mask(1, 1, {1}), absl::Span<const float>());
  ASSERT_THAT(s, IsOk());
  EXPECT_TRUE(s->iou.empty());
  EXPECT_TRUE(s->pointing_game_hit);
}

void ExpectScores(const HeatmapScores& s, const nlohmann::json& golden,
                  const std::vector<float>& thresholds) {
  ASSERT_EQ(s.iou.size(), thresholds.size());
  for (size_t i = 0; i < thresholds.size(); ++i) {
    EXPECT_EQ(s.iou[i].threshold, thresholds[i]);
    EXPECT_NEAR(s.iou[i].iou, golden["iou"][i].get<double>(), 1e-6) << "t=" << thresholds[i];
  }
  EXPECT_EQ(s.pointing_game_hit, golden["pointing_game_hit"].get<bool>());
  EXPECT_NEAR(s.energy_inside, golden["energy_inside"].get<double>(), 1e-6);
  EXPECT_NEAR(s.mask_area_fraction, golden["mask_area_fraction"].get<double>(), 1e-6);
}

TEST(ScoreHeatmapTest, MatchesNumpyGolden) {
  const nlohmann::json golden =
      nlohmann::json::parse(ReadFileOrFail(CommonData("golden/metrics.json")));
  const std::vector<float> thresholds = golden["thresholds"].get<std::vector<float>>();
  const cv::Mat heat = NpyToMat(ReadNpyFloat32(CommonData("golden/heatmap_16x12.npy")));
  const cv::Mat mask = ReadPngGray(CommonData("golden/metrics_mask_37x29.png")) / 255;
  absl::StatusOr<HeatmapScores> s = ScoreHeatmap(heat, mask, thresholds);
  ASSERT_THAT(s, IsOk());
  ExpectScores(*s, golden["resized_mask"], thresholds);
  EXPECT_GT(golden["resized_mask"]["iou"][0].get<double>(), 0.0);  // a non-trivial case

  cv::Mat same;
  cv::resize(mask, same, heat.size(), 0, 0, cv::INTER_NEAREST);
  s = ScoreHeatmap(heat, same, thresholds);
  ASSERT_THAT(s, IsOk());
  ExpectScores(*s, golden["same_size_mask"], thresholds);
}

TEST(ScoreHeatmapTest, RejectsBadInputs) {
  const cv::Mat heat = Heat(1, 2, {0.2f, 0.4f});
  const cv::Mat mask = Mask(1, 2, {1, 0});
  const float good[] = {0.5f};
  absl::StatusOr<HeatmapScores> s = ScoreHeatmap(cv::Mat(), mask, good);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("heatmap must be a non-empty CV_32FC1 matrix"));
  s = ScoreHeatmap(cv::Mat(1, 2, CV_8UC1, cv::Scalar(1)), mask, good);
  EXPECT_THAT(s.status().message(), HasSubstr("heatmap must be a non-empty CV_32FC1 matrix"));
  s = ScoreHeatmap(Heat(1, 2, {0.2f, 1.5f}), mask, good);
  EXPECT_THAT(s.status().message(),
              HasSubstr("heatmap values must be in [0, 1], found 1.5 at (x=1, y=0)"));
  s = ScoreHeatmap(Heat(1, 2, {std::nanf(""), 0.1f}), mask, good);
  EXPECT_THAT(s.status().message(), HasSubstr("found nan at (x=0, y=0)"));
  s = ScoreHeatmap(heat, cv::Mat(), good);
  EXPECT_THAT(s.status().message(), HasSubstr("mask must be a non-empty CV_8UC1 matrix"));
  s = ScoreHeatmap(heat, cv::Mat(1, 2, CV_32FC1, cv::Scalar(1)), good);
  EXPECT_THAT(s.status().message(), HasSubstr("mask must be a non-empty CV_8UC1 matrix"));
  const float too_high[] = {0.5f, 1.5f};
  s = ScoreHeatmap(heat, mask, too_high);
  EXPECT_THAT(s.status().message(), HasSubstr("IoU threshold 1.5 is outside [0, 1]"));
  const float nan[] = {std::nanf("")};
  s = ScoreHeatmap(heat, mask, nan);
  EXPECT_THAT(s.status().message(), HasSubstr("IoU threshold nan is outside [0, 1]"));
}

}  // namespace
}  // namespace explainer::common
