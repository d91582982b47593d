// Tests of per-item validation, preparation and post-processing, on the real common/
// functions: every bad input a client can send, with its code and message.
#include "service/server/item_stages.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::FakeSpec;
using ::explainer::server::testing::LabelMeJson;
using ::explainer::server::testing::PngBytes;
using ::explainer::server::testing::Rect;
using ::explainer::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::ExplainRequest Request(std::string image) {
  v1::ExplainRequest request;
  request.set_request_id("r1");
  request.set_image(std::move(image));
  return request;
}

absl::Status PrepareStatus(const v1::ExplainRequest& request, ItemLimits limits = {}) {
  return PrepareItem(request, FakeSpec(), limits).status();
}

// ---- Options -------------------------------------------------------------------------

TEST(ValidateOptionsTest, TargetClassOutOfRange) {
  for (int bad : {3, -1}) {
    v1::ExplainRequest request = Request(PngBytes(20, 10));
    request.mutable_options()->set_target_class(bad);
    const absl::Status status = PrepareStatus(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(
        status.message(),
        absl::StrCat("options.target_class: ", bad,
                     " is out of range; the model has 3 classes (0 Normal, 1 Benign, "
                     "2 Malignant)"));
  }
}

TEST(ValidateOptionsTest, ThresholdOutsideUnitInterval) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->add_iou_thresholds(0.5f);
  request.mutable_options()->add_iou_thresholds(1.5f);
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "options.iou_thresholds[1]: 1.5 is outside [0, 1]");
}

TEST(ValidateOptionsTest, NegativeAndNanThresholds) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->add_iou_thresholds(-0.1f);
  EXPECT_EQ(PrepareStatus(request).message(),
            "options.iou_thresholds[0]: -0.1 is outside [0, 1]");
  request.mutable_options()->set_iou_thresholds(0, std::nanf(""));
  EXPECT_EQ(PrepareStatus(request).message(),
            "options.iou_thresholds[0]: nan is outside [0, 1]");
}

TEST(ValidateOptionsTest, BoundaryThresholdsAreAccepted) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->add_iou_thresholds(0.0f);
  request.mutable_options()->add_iou_thresholds(1.0f);
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_THAT(item->thresholds, ElementsAre(0.0f, 1.0f));
}

TEST(ValidateOptionsTest, TooManyThresholds) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  for (int i = 0; i < kMaxIouThresholds + 1; ++i) {
    request.mutable_options()->add_iou_thresholds(0.5f);
  }
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "options.iou_thresholds: 65 thresholds given, at most 64 are allowed");
}

TEST(ValidateOptionsTest, OverlayWeightOutsideUnitInterval) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->set_overlay_image_weight(-0.25f);
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "options.overlay_image_weight: -0.25 is outside [0, 1]");
  request.mutable_options()->set_overlay_image_weight(
      std::numeric_limits<float>::infinity());
  EXPECT_EQ(PrepareStatus(request).message(),
            "options.overlay_image_weight: inf is outside [0, 1]");
}

TEST(ValidateOptionsTest, UnknownCamMethod) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->set_method(static_cast<v1::CamMethod>(42));
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "options.method: unknown CAM method 42 (known: 0..9: grad-cam, hires-cam, "
            "grad-cam++, xgrad-cam, layer-cam, eigen-cam, eigen-grad-cam, "
            "grad-cam-elementwise, score-cam, ablation-cam)");
}

TEST(ValidateOptionsTest, EigenSmoothOnEigenCamNamesTheMethod) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->set_method(v1::CAM_METHOD_EIGEN_CAM);
  request.mutable_options()->set_eigen_smooth(true);
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              ::testing::StartsWith("options: eigen_smooth does not apply to eigen-cam: "
                                    "pytorch-grad-cam's EigenCAM ignores it"));
}

TEST(ValidateOptionsTest, BadCamBatchSizeAndRoadPercentile) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->set_method(v1::CAM_METHOD_SCORE_CAM);
  request.mutable_options()->set_score_cam_batch_size(-3);
  absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "options: score_cam_batch_size must be in 1..1024, got -3 (method score-cam)");
  request = Request(PngBytes(20, 10));
  request.mutable_options()->mutable_faithfulness()->set_road(true);
  request.mutable_options()->mutable_faithfulness()->add_road_percentiles(0);
  status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "options: road_percentiles: each must be in (0, 100), got 0 (method grad-cam)");
}

TEST(ValidateOptionsTest, CamOptionsReachThePreparedItem) {
  v1::ExplainRequest request = Request(PngBytes(20, 10));
  request.mutable_options()->set_method(v1::CAM_METHOD_ABLATION_CAM);
  request.mutable_options()->set_aug_smooth(true);
  request.mutable_options()->set_ablation_cam_batch_size(8);
  request.mutable_options()->mutable_faithfulness()->set_cam_multiply(true);
  absl::StatusOr<PreparedItem> item =
      PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_EQ(item->cam.method, engine::CamMethod::kAblationCam);
  EXPECT_TRUE(item->cam.aug_smooth);
  EXPECT_EQ(item->cam.ablation_cam_batch_size, 8);
  EXPECT_EQ(item->cam.score_cam_batch_size, engine::kDefaultScoreCamBatchSize);
  EXPECT_TRUE(item->faithfulness.cam_multiply);
  EXPECT_FALSE(item->faithfulness.road);
}

TEST(ValidateOptionsTest, OptionsAreCheckedBeforeTheImageIsDecoded) {
  v1::ExplainRequest request = Request("not an image");
  request.mutable_options()->set_target_class(9);
  EXPECT_THAT(std::string(PrepareStatus(request).message()),
              StartsWith("options.target_class: 9"));
}

// ---- Image ---------------------------------------------------------------------------

TEST(PrepareItemTest, EmptyImage) {
  const absl::Status status = PrepareStatus(Request(""));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "image: empty (the request carried no image bytes)");
}

TEST(PrepareItemTest, TextIsNotAnImage) {
  const absl::Status status = PrepareStatus(Request("hello, world"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("image: not a supported image"));
}

TEST(PrepareItemTest, TruncatedPng) {
  const std::string png = PngBytes(40, 30);
  const absl::Status status = PrepareStatus(Request(png.substr(0, png.size() / 2)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("image: truncated or corrupt PNG"));
}

TEST(PrepareItemTest, ImageOverThePixelLimit) {
  ItemLimits limits;
  limits.max_image_pixels = 1000;
  const absl::Status status = PrepareStatus(Request(PngBytes(40, 30)), limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "image: image is 40x30 = 1200 pixels, over the limit of 1000");
}

TEST(PrepareItemTest, GoodImageBecomesModelInputWithDefaults) {
  absl::StatusOr<PreparedItem> item =
      PrepareItem(Request(PngBytes(40, 30)), FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_EQ(item->request_id, "r1");
  EXPECT_EQ(item->original_width, 40);
  EXPECT_EQ(item->original_height, 30);
  EXPECT_EQ(item->input.width, 16);
  EXPECT_EQ(item->input.height, 16);
  EXPECT_EQ(item->input.chw.size(), 3u * 16 * 16);
  // Gray 128: (128/255 - 0.485) / 0.229 in the red plane.
  EXPECT_NEAR(item->input.chw[0], (128 / 255.0 - 0.485) / 0.229, 1e-5);
  EXPECT_TRUE(item->explain);
  EXPECT_FALSE(item->target_class.has_value());
  EXPECT_THAT(item->thresholds, ElementsAre(0.3f, 0.5f, 0.7f));
  EXPECT_FLOAT_EQ(item->overlay_image_weight, 0.5f);
  EXPECT_FALSE(item->mask.has_value());
  EXPECT_TRUE(item->image.empty());  // no overlay asked for: the full image is dropped
}

TEST(PrepareItemTest, KeepsTheImageOnlyForAnOverlay) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.mutable_options()->set_return_overlay_png(true);
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_EQ(item->image.size(), cv::Size(40, 30));
  request.mutable_options()->set_skip_explanation(true);
  item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_TRUE(item->image.empty());
  EXPECT_FALSE(item->return_overlay_png);
}

// ---- Annotation ----------------------------------------------------------------------

TEST(PrepareItemTest, MalformedAnnotationJson) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json("{\"shapes\": [");
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("annotation_json: "));
}

TEST(PrepareItemTest, UnknownShapeType) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(LabelMeJson(40, 30, {{"tumor", 1, 1, 5, 5}}, "hexagon"));
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("annotation_json: shapes[1].shape_type"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("unknown shape type \"hexagon\""));
}

TEST(PrepareItemTest, AnnotationForAnotherImageSize) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(LabelMeJson(400, 300, {{"tumor", 1, 1, 5, 5}}));
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("annotation_json: annotation is for a 400x300"));
}

// The issue's crash: 100,000 nested arrays in points used to overflow the stack.
TEST(PrepareItemTest, DeeplyNestedAnnotationIsRefused) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(absl::StrCat(R"({"shapes": [{"label": "a", "points": )",
                                           std::string(100000, '['), "1",
                                           std::string(100000, ']'), "}]}"));
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("annotation_json: LabelMe JSON is nested deeper than 32 levels"));
}

TEST(PrepareItemTest, AnnotationLimitsAreResourceExhausted) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(LabelMeJson(40, 30, {{"tumor", 1, 1, 5, 5}, {"b", 2, 2, 9, 9}}));
  ItemLimits limits;
  limits.annotation.max_shapes = 1;
  absl::Status status = PrepareStatus(request, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "annotation_json: 2 shapes, over the limit of 1 (--max_annotation_shapes)");

  limits = ItemLimits();
  limits.annotation.max_points = 3;
  status = PrepareStatus(request, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("annotation_json: 4 points, over the limit of 3 "
                         "(--max_annotation_points)"));

  limits = ItemLimits();
  limits.annotation.max_bytes = 10;
  status = PrepareStatus(request, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr(" bytes, over the limit of 10 "
                                                       "(--max_annotation_bytes)"));

  limits = ItemLimits();
  limits.annotation.max_raster_work = 10;
  status = PrepareStatus(request, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("annotation_json: rasterising it at 40x30 costs "));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("over the limit of 10 (--max_annotation_raster_work)"));
}

TEST(PrepareItemTest, InvalidUtf8InAnnotationIsEscapedInTheMessage) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(
      "{\"shapes\": [{\"label\": \"\xff\xfe\", \"points\": [[0,0],[1,0],[0,1]]}]}");
  const absl::Status status = PrepareStatus(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("annotation_json: shapes[0].label: invalid UTF-8 (byte \\xff"));
  const v1::ExplainResponse response = ErrorResponse("r1", status);
  EXPECT_TRUE(common::IsValidUtf8(response.error().message()));
}

TEST(PrepareItemTest, AnnotationIgnoredWhenTheExplanationIsSkipped) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json("{not json");
  request.mutable_options()->set_skip_explanation(true);
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_FALSE(item->explain);
  EXPECT_FALSE(item->mask.has_value());
}

TEST(PrepareItemTest, MaskIsRasterisedAtImageSizeThenScaledToTheModel) {
  // x in [0, 19] of a 40-wide image: nearest neighbour keeps model columns whose
  // source column floor(x * 40 / 16) <= 19, i.e. x <= 7: 8 of 16 columns, all rows.
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(LabelMeJson(40, 30, {{"tumor", 0, 0, 19, 29}}));
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  ASSERT_TRUE(item->mask.has_value());
  EXPECT_EQ(item->mask->size(), cv::Size(16, 16));
  EXPECT_EQ(cv::countNonZero(*item->mask), 8 * 16);
  EXPECT_EQ(item->mask->at<uchar>(5, 7), 1);
  EXPECT_EQ(item->mask->at<uchar>(5, 8), 0);
  EXPECT_EQ(item->shape_count, 1);
}

TEST(PrepareItemTest, ShapeFiltersSelectShapes) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.set_annotation_json(
      LabelMeJson(40, 30, {{"tumor", 0, 0, 9, 9}, {"fracture", 20, 0, 39, 29}}));
  request.mutable_options()->add_annotation_labels("tumor");
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_EQ(item->shape_count, 1);
  request.mutable_options()->clear_annotation_labels();
  request.mutable_options()->add_annotation_shape_types("polygon");
  item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  EXPECT_EQ(item->shape_count, 0);
  EXPECT_EQ(cv::countNonZero(*item->mask), 0);
}

// ---- FinishItem ----------------------------------------------------------------------

// The CAM the fake engine returns: 1 on the left half, 0 on the right.
engine::EngineResult HalfResult() {
  engine::EngineResult result;
  result.probabilities = {0.1f, 0.2f, 0.7f};
  result.predicted_index = 2;
  result.explained_index = 1;
  result.cam = cv::Mat::zeros(16, 16, CV_32FC1);
  result.cam(cv::Rect(0, 0, 8, 16)).setTo(1.0f);
  result.cam.at<float>(0, 15) = 0.5f;  // one mid value, for the gray PNG
  return result;
}

BatchStats Stats() {
  BatchStats stats;
  stats.batch_size = 3;
  stats.queue_time = absl::Milliseconds(2);
  stats.run_time = absl::Milliseconds(7);
  return stats;
}

TEST(FinishItemTest, ProbabilitiesAndAllHeatmapOutputs) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  v1::ExplainOptions* options = request.mutable_options();
  options->set_return_raw_heatmap(true);
  options->set_return_heatmap_png(true);
  options->set_return_overlay_png(true);
  request.set_annotation_json(LabelMeJson(40, 30, {{"tumor", 0, 0, 19, 29}}));
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());

  const engine::EngineResult engine_result = HalfResult();
  absl::StatusOr<v1::ExplainResult> result =
      FinishItem(*item, engine_result, FakeSpec(), Stats());
  ASSERT_THAT(result, IsOk());

  EXPECT_EQ(result->predicted_index(), 2);
  EXPECT_EQ(result->predicted_name(), "Malignant");
  EXPECT_EQ(result->explained_index(), 1);
  ASSERT_EQ(result->probabilities_size(), 3);
  EXPECT_EQ(result->probabilities(1).index(), 1);
  EXPECT_EQ(result->probabilities(1).name(), "Benign");
  EXPECT_FLOAT_EQ(result->probabilities(1).probability(), 0.2f);
  EXPECT_EQ(result->original_width(), 40);
  EXPECT_EQ(result->original_height(), 30);

  // Raw heatmap: row-major at model resolution.
  EXPECT_EQ(result->heatmap().width(), 16);
  EXPECT_EQ(result->heatmap().height(), 16);
  ASSERT_EQ(result->heatmap().values_size(), 256);
  EXPECT_FLOAT_EQ(result->heatmap().values(0), 1.0f);
  EXPECT_FLOAT_EQ(result->heatmap().values(15), 0.5f);
  EXPECT_FLOAT_EQ(result->heatmap().values(16 + 8), 0.0f);

  // Gray PNG: np.uint8(255 * cam) at model resolution.
  const std::string& gray_png = result->heatmap_png();
  cv::Mat gray = cv::imdecode(std::vector<uchar>(gray_png.begin(), gray_png.end()),
                              cv::IMREAD_UNCHANGED);
  ASSERT_EQ(gray.type(), CV_8UC1);
  EXPECT_EQ(gray.size(), cv::Size(16, 16));
  EXPECT_EQ(gray.at<uchar>(3, 3), 255);
  EXPECT_EQ(gray.at<uchar>(0, 15), 127);  // uint8(127.5) truncates
  EXPECT_EQ(gray.at<uchar>(3, 12), 0);

  // Overlay PNG: colour, at the original resolution.
  const std::string& overlay_png = result->overlay_png();
  cv::Mat overlay = cv::imdecode(
      std::vector<uchar>(overlay_png.begin(), overlay_png.end()), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(overlay.type(), CV_8UC3);
  EXPECT_EQ(overlay.size(), cv::Size(40, 30));

  // Report: the mask is exactly the hot half.
  const v1::AnnotationReport& report = result->annotation();
  ASSERT_EQ(report.iou_size(), 3);
  EXPECT_FLOAT_EQ(report.iou(0).threshold(), 0.3f);
  // heatmap >= 0.3: the 128 hot pixels plus the 0.5 one; union 129.
  EXPECT_FLOAT_EQ(report.iou(0).iou(), 128.0f / 129.0f);
  EXPECT_FLOAT_EQ(report.iou(2).threshold(), 0.7f);
  EXPECT_FLOAT_EQ(report.iou(2).iou(), 1.0f);
  EXPECT_TRUE(report.pointing_game_hit());
  EXPECT_FLOAT_EQ(report.energy_inside(), 128.0f / 128.5f);
  EXPECT_FLOAT_EQ(report.mask_area_fraction(), 0.5f);
  EXPECT_EQ(report.shape_count(), 1);

  const v1::StageTimings& timings = result->timings();
  EXPECT_EQ(timings.batch_size(), 3);
  EXPECT_FLOAT_EQ(timings.queue_ms(), 2.0f);
  EXPECT_FLOAT_EQ(timings.inference_ms(), 7.0f);
  EXPECT_GE(timings.total_ms(), timings.postprocess_ms());
}

TEST(FinishItemTest, NothingButProbabilitiesWithoutExplanation) {
  v1::ExplainRequest request = Request(PngBytes(40, 30));
  request.mutable_options()->set_skip_explanation(true);
  request.mutable_options()->set_return_raw_heatmap(true);
  request.mutable_options()->set_return_overlay_png(true);
  request.set_annotation_json(LabelMeJson(40, 30, {{"tumor", 0, 0, 19, 29}}));
  absl::StatusOr<PreparedItem> item = PrepareItem(request, FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  engine::EngineResult engine_result;
  engine_result.probabilities = {0.7f, 0.2f, 0.1f};
  engine_result.predicted_index = 0;
  absl::StatusOr<v1::ExplainResult> result =
      FinishItem(*item, engine_result, FakeSpec(), Stats());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->predicted_name(), "Normal");
  EXPECT_EQ(result->explained_index(), -1);
  EXPECT_FALSE(result->has_heatmap());
  EXPECT_TRUE(result->overlay_png().empty());
  EXPECT_FALSE(result->has_annotation());
}

TEST(FinishItemTest, EngineResultThatDoesNotFitTheModelIsInternal) {
  absl::StatusOr<PreparedItem> item =
      PrepareItem(Request(PngBytes(40, 30)), FakeSpec(), {});
  ASSERT_THAT(item, IsOk());
  engine::EngineResult engine_result = HalfResult();
  engine_result.probabilities = {0.5f, 0.5f};
  absl::Status status = FinishItem(*item, engine_result, FakeSpec(), Stats()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            "engine result does not fit the model: 2 probabilities and predicted index 2 "
            "for 3 classes");
  engine_result = HalfResult();
  engine_result.cam = cv::Mat();
  status = FinishItem(*item, engine_result, FakeSpec(), Stats()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("engine result has no usable CAM"));
}

TEST(ResultResponseTest, ResultOverTheMessageLimitBecomesResourceExhausted) {
  v1::ExplainResult result;
  result.mutable_heatmap()->mutable_values()->Resize(1000, 0.5f);
  v1::ExplainResponse expected;
  expected.set_request_id("big");
  *expected.mutable_result() = result;
  const size_t size = expected.ByteSizeLong();

  ItemLimits limits;
  limits.max_response_bytes = static_cast<int64_t>(size);  // just fits
  v1::ExplainResponse response = ResultResponse("big", result, limits);
  EXPECT_EQ(response.SerializeAsString(), expected.SerializeAsString());

  limits.max_response_bytes = static_cast<int64_t>(size) - 1;
  response = ResultResponse("big", result, limits);
  EXPECT_EQ(response.request_id(), "big");
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().code(), 8);  // RESOURCE_EXHAUSTED
  EXPECT_EQ(
      response.error().message(),
      absl::StrCat("response: ", size, " bytes, over the server's message limit of ",
                   size - 1,
                   " bytes; ask for fewer outputs (e.g. no overlay_png or raw heatmap "
                   "for very large images) or raise --max_message_mb"));
}

TEST(ErrorResponseTest, CarriesIdCodeNumberAndMessage) {
  const v1::ExplainResponse response =
      ErrorResponse("abc", absl::ResourceExhaustedError("too big"));
  EXPECT_EQ(response.request_id(), "abc");
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().code(), 8);
  EXPECT_EQ(response.error().message(), "too big");
}

// Defence in depth: whatever a stage puts in a message, the wire gets valid UTF-8
// (proto3 strings; Python clients fail to parse others) of bounded length.
TEST(ErrorResponseTest, MessageIsValidUtf8AndBounded) {
  const v1::ExplainResponse escaped =
      ErrorResponse("abc", absl::InvalidArgumentError("label \"tum\xffor\" \xc3\xbc"));
  EXPECT_EQ(escaped.error().message(), "label \"tum\\xffor\" \xc3\xbc");

  const v1::ExplainResponse cut =
      ErrorResponse("abc", absl::InvalidArgumentError(std::string(100000, '\xff')));
  EXPECT_LE(cut.error().message().size(), kMaxErrorMessageBytes);
  EXPECT_THAT(cut.error().message(), StartsWith("\\xff\\xff"));
  EXPECT_THAT(cut.error().message(), ::testing::EndsWith("..."));
  EXPECT_TRUE(common::IsValidUtf8(cut.error().message()));
}

}  // namespace
}  // namespace explainer::server
