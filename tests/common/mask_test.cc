// Masks against labelme's shape_to_mask (PIL 9.4) goldens, plus the API's rules.
#include "common/mask.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "common/labelme.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadFileOrFail;
using ::explainer::testing::ReadPngGray;
using ::explainer::testing::StatusIs;
using ::testing::HasSubstr;

LabelMeShape Shape(const std::string& type, std::vector<cv::Point2d> points,
                   const std::string& label = "lesion") {
  LabelMeShape shape;
  shape.label = label;
  shape.shape_type = type;
  shape.points = std::move(points);
  return shape;
}

// Every shape of masks/<name>.json drawn alone, compared pixel by pixel with the
// PIL-drawn mask stacked in masks/<name>_expected.png. Tolerance: none. We
// reproduce Pillow 9.4's integer rules, so any differing pixel is a bug.
void ExpectAllShapesMatchPil(const std::string& name) {
  const absl::StatusOr<LabelMeAnnotation> annotation =
      ParseLabelMe(ReadFileOrFail(CommonData("masks/" + name + ".json")));
  ASSERT_THAT(annotation, IsOk());
  const cv::Size size(annotation->image_width, annotation->image_height);
  const cv::Mat expected = ReadPngGray(CommonData("masks/" + name + "_expected.png"));
  ASSERT_EQ(expected.cols, size.width);
  ASSERT_EQ(expected.rows, size.height * static_cast<int>(annotation->shapes.size()));
  int differing_shapes = 0;
  int64_t differing_pixels = 0;
  int64_t pil_pixels = 0;
  for (size_t i = 0; i < annotation->shapes.size(); ++i) {
    const LabelMeShape& shape = annotation->shapes[i];
    const absl::StatusOr<cv::Mat> mask = ShapeToMask(size, shape);
    ASSERT_THAT(mask, IsOk()) << shape.label;
    const cv::Mat pil = expected.rowRange(size.height * i, size.height * (i + 1)) > 0;
    const cv::Mat ours = *mask > 0;
    const int differ = cv::countNonZero(pil != ours);
    pil_pixels += cv::countNonZero(pil);
    differing_pixels += differ;
    if (differ > 0) {
      ++differing_shapes;
      ADD_FAILURE() << name << " shape " << i << " (" << shape.label << ", " << shape.shape_type
                    << "): " << differ << " pixels differ from PIL (" << cv::countNonZero(pil)
                    << " PIL pixels)";
    }
  }
  std::cout << "[ masks    ] " << name << ": " << annotation->shapes.size() << " shapes, "
            << pil_pixels << " PIL mask pixels, " << differing_pixels << " differing pixels in "
            << differing_shapes << " shapes\n";
}

TEST(ShapeToMaskTest, HandPickedCasesOfEveryTypeMatchPil) { ExpectAllShapesMatchPil("cases"); }

TEST(ShapeToMaskTest, RandomShapesOfEveryTypeMatchPil) { ExpectAllShapesMatchPil("random"); }

TEST(ShapeToMaskTest, HandComputedSquareIncludesItsBoundary) {
  const absl::StatusOr<cv::Mat> mask =
      ShapeToMask(cv::Size(6, 6), Shape("polygon", {{1, 1}, {4, 1}, {4, 4}, {1, 4}}));
  ASSERT_THAT(mask, IsOk());
  cv::Mat expected = cv::Mat::zeros(6, 6, CV_8UC1);
  expected(cv::Rect(1, 1, 4, 4)).setTo(1);
  EXPECT_EQ(cv::countNonZero(*mask != expected), 0) << *mask;
}

TEST(ShapeToMaskTest, HandComputedRectangleTruncatesAndIncludesBothEnds) {
  // x 1.9..3.7 -> 1..3, y 2.9..1.2 (reversed) -> 1..2: 3 x 2 pixels.
  const absl::StatusOr<cv::Mat> mask =
      ShapeToMask(cv::Size(6, 5), Shape("rectangle", {{3.7, 2.9}, {1.9, 1.2}}));
  ASSERT_THAT(mask, IsOk());
  cv::Mat expected = cv::Mat::zeros(5, 6, CV_8UC1);
  expected(cv::Rect(1, 1, 3, 2)).setTo(1);
  EXPECT_EQ(cv::countNonZero(*mask != expected), 0) << *mask;
}

TEST(ShapeToMaskTest, ValuesAreZeroOrOne) {
  const absl::StatusOr<cv::Mat> mask = ShapeToMask(cv::Size(20, 20), Shape("point", {{10, 10}}));
  ASSERT_THAT(mask, IsOk());
  double lo = 0, hi = 0;
  cv::minMaxLoc(*mask, &lo, &hi);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 1);
  EXPECT_EQ(mask->type(), CV_8UC1);
}

TEST(ShapeToMaskTest, FarAwayCoordinatesAreClampedNotOverflowed) {
  // A triangle reaching 1e12 px away still covers the canvas corner it spans.
  const absl::StatusOr<cv::Mat> mask =
      ShapeToMask(cv::Size(10, 10), Shape("polygon", {{-1e12, -1e12}, {1e12, -1e12}, {0, 1e12}}));
  ASSERT_THAT(mask, IsOk());
  EXPECT_EQ(cv::countNonZero(*mask), 100);
  const absl::StatusOr<cv::Mat> circle =
      ShapeToMask(cv::Size(10, 10), Shape("circle", {{5, 5}, {5, 1e15}}));
  ASSERT_THAT(circle, IsOk());
  EXPECT_EQ(cv::countNonZero(*circle), 100);
}

TEST(ShapeToMaskTest, RejectsUnsupportedShapes) {
  const cv::Size size(8, 8);
  absl::StatusOr<cv::Mat> mask = ShapeToMask(size, Shape("mask", {{0, 0}, {4, 4}}, "blob"));
  EXPECT_EQ(mask.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mask.status().message(),
              HasSubstr("shape \"blob\" (mask): shape type \"mask\" (a bitmap mask) is not "
                        "supported"));
  mask = ShapeToMask(size, Shape("bezier", {{0, 0}, {4, 4}}));
  EXPECT_THAT(mask.status().message(), HasSubstr("unknown shape type \"bezier\""));
  mask = ShapeToMask(size, Shape("polygon", {{0, 0}, {4, 4}}));
  EXPECT_THAT(mask.status().message(),
              HasSubstr("shape \"lesion\" (polygon): a polygon needs at least 3 points, got 2"));
  mask = ShapeToMask(size, Shape("point", {{0, 0}, {4, 4}}));
  EXPECT_THAT(mask.status().message(), HasSubstr("a point needs exactly 1 point, got 2"));
  mask = ShapeToMask(size, Shape("line", {{0, 0}, {std::nan(""), 4}}));
  EXPECT_THAT(mask.status().message(), HasSubstr("points[1] is not a finite number"));
  mask = ShapeToMask(size, Shape("circle", {{0, 0}, {std::numeric_limits<double>::infinity(), 4}}));
  EXPECT_THAT(mask.status().message(), HasSubstr("points[1] is not a finite number"));
  mask = ShapeToMask(cv::Size(0, 8), Shape("point", {{0, 0}}));
  EXPECT_THAT(mask.status().message(), HasSubstr("mask size must be positive, got 0x8"));
}

LabelMeAnnotation TwoShapes() {
  LabelMeAnnotation annotation;
  annotation.image_width = 20;
  annotation.image_height = 10;
  annotation.shapes.push_back(Shape("rectangle", {{0, 0}, {4, 4}}, "tumor"));
  annotation.shapes.push_back(Shape("rectangle", {{3, 3}, {9, 5}}, "bone"));
  return annotation;
}

TEST(RasterizeAnnotationTest, UnionOfShapes) {
  const absl::StatusOr<AnnotationMask> result = RasterizeAnnotation(TwoShapes(), cv::Size(20, 10));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->shape_count, 2);
  // 5x5 + 7x3 - overlap 2x2.
  EXPECT_EQ(cv::countNonZero(result->mask), 25 + 21 - 4);
  EXPECT_EQ(result->mask.size(), cv::Size(20, 10));
}

TEST(RasterizeAnnotationTest, FiltersByLabelAndType) {
  ShapeFilter by_label;
  by_label.labels = {"tumor"};
  absl::StatusOr<AnnotationMask> result =
      RasterizeAnnotation(TwoShapes(), cv::Size(20, 10), by_label);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->shape_count, 1);
  EXPECT_EQ(cv::countNonZero(result->mask), 25);

  ShapeFilter by_type;
  by_type.shape_types = {"polygon"};
  result = RasterizeAnnotation(TwoShapes(), cv::Size(20, 10), by_type);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->shape_count, 0);
  EXPECT_EQ(cv::countNonZero(result->mask), 0);
}

TEST(RasterizeAnnotationTest, UnstatedImageSizeIsAccepted) {
  LabelMeAnnotation annotation = TwoShapes();
  annotation.image_width = 0;
  annotation.image_height = 0;
  EXPECT_THAT(RasterizeAnnotation(annotation, cv::Size(7, 7)), IsOk());
}

TEST(RasterizeAnnotationTest, SizeMismatchNamesBothSizes) {
  const absl::StatusOr<AnnotationMask> result = RasterizeAnnotation(TwoShapes(), cv::Size(10, 20));
  ASSERT_THAT(
      result,
      StatusIs(absl::StatusCode::kInvalidArgument,
               "annotation is for a 20x10 image (imageWidth x imageHeight) but the image is "
               "10x20"));
}

TEST(RasterizeAnnotationTest, BadShapeIsNamedByIndex) {
  LabelMeAnnotation annotation = TwoShapes();
  annotation.shapes.push_back(Shape("circle", {{1, 1}}, "c"));
  const absl::StatusOr<AnnotationMask> result = RasterizeAnnotation(annotation, cv::Size(20, 10));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("shapes[2]: shape \"c\" (circle): a circle needs exactly 2 points"));
}

// The repro: a 16 x 500000 image and a polygon whose edges each span a few
// rows. Pillow's fill (and ours before) visited every edge on every row, 5e10 visits
// for 100,000 points (about 33 s); the active-edge fill visits each edge on its own
// rows only.
TEST(RasterizeAnnotationTest, ManyEdgePolygonOnATallImageIsFast) {
  LabelMeShape polygon = Shape("polygon", {});
  for (int i = 0; i < 100000; ++i) polygon.points.emplace_back(i % 16, i * 5.0);
  LabelMeAnnotation annotation;
  annotation.shapes.push_back(polygon);
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<AnnotationMask> result =
      RasterizeAnnotation(annotation, cv::Size(16, 500000));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_THAT(result, IsOk());
  EXPECT_GT(cv::countNonZero(result->mask), 500000);
  EXPECT_LT(seconds, 5.0) << "rasterising took " << seconds << " s";
}

// Every edge spans every row: the work is rows x edges however the fill is done, so
// it is refused, before anything is drawn, with the estimate and the limit.
TEST(RasterizeAnnotationTest, WorkOverTheLimitIsResourceExhausted) {
  LabelMeShape zigzag = Shape("polygon", {});
  for (int i = 0; i < 2000; ++i) zigzag.points.emplace_back(i % 16, (i % 2) * 499999.0);
  LabelMeAnnotation annotation;
  annotation.shapes.push_back(zigzag);
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<AnnotationMask> result =
      RasterizeAnnotation(annotation, cv::Size(16, 500000));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kResourceExhausted));
  // 2000 edges x 500,000 rows x 32 units per edge-row, plus the rows' pixels.
  EXPECT_THAT(std::string(result.status().message()),
              ::testing::MatchesRegex("rasterising it at 16x500000 costs 320[0-9]{8} work "
                                      "units, over the limit of 1073741824 "
                                      "\\(--max_annotation_raster_work\\)"));
  EXPECT_LT(seconds, 1.0);
}

TEST(RasterizeAnnotationTest, WorkLimitCountsEveryShapeAndIsInclusive) {
  // A 10x10 rectangle: 1 + 10 rows x (1 + 10 columns) = 111 units, twice.
  LabelMeAnnotation annotation;
  annotation.shapes.push_back(Shape("rectangle", {{0, 0}, {9, 9}}));
  annotation.shapes.push_back(Shape("rectangle", {{0, 0}, {9, 9}}));
  AnnotationLimits limits;
  limits.max_raster_work = 222;
  EXPECT_THAT(RasterizeAnnotation(annotation, cv::Size(10, 10), {}, limits), IsOk());
  limits.max_raster_work = 221;
  const absl::StatusOr<AnnotationMask> result =
      RasterizeAnnotation(annotation, cv::Size(10, 10), {}, limits);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(std::string(result.status().message()),
            "rasterising it at 10x10 costs 222 work units, over the limit of 221 "
            "(--max_annotation_raster_work)");
  // Shapes filtered out cost nothing.
  ShapeFilter none;
  none.labels = {"other"};
  EXPECT_THAT(RasterizeAnnotation(annotation, cv::Size(10, 10), none, limits), IsOk());
}

TEST(RasterizeAnnotationTest, HugeCirclesCountTheirOutlineWalk) {
  // Nearly all off the canvas, but the walk still takes a + b steps: coordinates clamp
  // at +-2^20, so a = b = 2^20; + 16 + the one corner pixel's row (1 x (1 + 1)).
  LabelMeAnnotation annotation;
  annotation.shapes.push_back(Shape("circle", {{-1e6, -1e6}, {0, -1e6}}));
  AnnotationLimits limits;
  limits.max_raster_work = 1000000;
  const absl::StatusOr<AnnotationMask> result =
      RasterizeAnnotation(annotation, cv::Size(64, 64), {}, limits);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("rasterising it at 64x64 costs 2097170 work units"));
}

}  // namespace
}  // namespace explainer::common
