// Tests of the image rendering: tile_canvas.h, gallery_render.h and
// comparison_render.h (geometry, empty rows, blank tiles, fitted text).
#include <string>
#include <vector>

#include "client/gallery/comparison_render.h"
#include "client/gallery/gallery_render.h"
#include "client/gallery/tile_canvas.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "tests/status_matchers.h"

namespace explainer::client::gallery {
namespace {

using ::explainer::testing::IsOk;
using ::testing::HasSubstr;

cv::Mat Solid(int w, int h, cv::Scalar bgr) { return cv::Mat(h, w, CV_8UC3, bgr); }

// The fraction of pixels in `area` equal to `bgr`.
double Share(const cv::Mat& image, const cv::Rect& area, cv::Scalar bgr) {
  cv::Mat equal;
  cv::inRange(image(area), bgr, bgr, equal);
  return static_cast<double>(cv::countNonZero(equal)) / area.area();
}

TEST(TileCanvasTest, FitSizeKeepsAspect) {
  EXPECT_EQ(FitSize(cv::Size(1600, 800), cv::Size(320, 320)), cv::Size(320, 160));
  EXPECT_EQ(FitSize(cv::Size(600, 1500), cv::Size(320, 320)), cv::Size(128, 320));
  EXPECT_EQ(FitSize(cv::Size(100, 100), cv::Size(320, 200)), cv::Size(200, 200));
  EXPECT_EQ(FitSize(cv::Size(0, 10), cv::Size(320, 320)), cv::Size(1, 1));
}

TEST(TileCanvasTest, FitToBoxLetterboxes) {
  const cv::Mat red = Solid(1600, 800, cv::Scalar(0, 0, 255));
  const cv::Mat box = FitToBox(red, cv::Size(320, 320), cv::Scalar(0, 0, 0));
  ASSERT_EQ(box.size(), cv::Size(320, 320));
  EXPECT_EQ(box.type(), CV_8UC3);
  EXPECT_DOUBLE_EQ(Share(box, cv::Rect(0, 80, 320, 160), cv::Scalar(0, 0, 255)), 1.0);
  EXPECT_DOUBLE_EQ(Share(box, cv::Rect(0, 0, 320, 80), cv::Scalar(0, 0, 0)), 1.0);
  // Gray input becomes BGR.
  const cv::Mat gray(50, 50, CV_8UC1, cv::Scalar(128));
  EXPECT_EQ(FitToBox(gray, cv::Size(10, 10), cv::Scalar(0, 0, 0)).type(), CV_8UC3);
}

TEST(TileCanvasTest, FitTextKeepsBothEnds) {
  const std::string name = "a_very_long_folder_name/with_a_long_file_name_IMG000123.jpeg";
  const std::string fitted = FitText(name, 200, 0.5, 1);
  EXPECT_THAT(fitted, HasSubstr("..."));
  EXPECT_EQ(fitted.substr(0, 3), "a_v");
  EXPECT_EQ(fitted.substr(fitted.size() - 4), "jpeg");
  int baseline = 0;
  EXPECT_LE(cv::getTextSize(fitted, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &baseline).width, 200);
  EXPECT_EQ(FitText("short", 200, 0.5, 1), "short");
}

GalleryRowContent Row(Outcome outcome, int tiles, size_t available) {
  GalleryRowContent row;
  row.outcome = outcome;
  row.description = "description";
  row.available = available;
  for (int i = 0; i < tiles; ++i) {
    GalleryTile tile;
    tile.image = Solid(400, 300, cv::Scalar(255, 0, 0));  // blue
    tile.title = {TextLine{"IMG00000" + std::to_string(i) + ".jpeg"}, TextLine{"true x pred y"},
                  TextLine{"conf 0.9 TP"}};
    row.tiles.push_back(tile);
  }
  return row;
}

TEST(GalleryRenderTest, GridGeometryAndBlankTiles) {
  const GalleryLayout layout;
  const int k = 3;
  absl::StatusOr<cv::Mat> image =
      RenderGallery("Benign", "subtitle",
                    {Row(Outcome::kTruePositive, 3, 10), Row(Outcome::kFalsePositive, 1, 1),
                     Row(Outcome::kFalseNegative, 0, 0)},
                    k, layout);
  ASSERT_THAT(image, IsOk());
  const cv::Size expected(k * layout.tile_width,
                          layout.header_height + 3 * (layout.row_header_height +
                                                      layout.title_height + layout.image_height));
  EXPECT_EQ(image->size(), expected);
  EXPECT_EQ(GalleryCanvasSize(layout, k), expected);
  EXPECT_EQ(image->type(), CV_8UC3);

  const int row_height = layout.row_header_height + layout.title_height + layout.image_height;
  auto image_area = [&](int row, int col) {
    return cv::Rect(col * layout.tile_width + 2,
                    layout.header_height + row * row_height + layout.row_header_height +
                        layout.title_height + 2,
                    layout.tile_width - 4, layout.image_height - 4);
  };
  const cv::Scalar blue(255, 0, 0);
  // Row TP: three overlays (blue, 400x300 fitted into 320x320: 240 high).
  for (int c = 0; c < 3; ++c) EXPECT_GT(Share(*image, image_area(0, c), blue), 0.7) << c;
  // Row FP: one overlay, then two blank tiles.
  EXPECT_GT(Share(*image, image_area(1, 0), blue), 0.7);
  EXPECT_DOUBLE_EQ(Share(*image, image_area(1, 1), colors::kEmptyTile), 1.0);
  EXPECT_DOUBLE_EQ(Share(*image, image_area(1, 2), colors::kEmptyTile), 1.0);
  // Row FN: empty, with "none" written in the middle tile area (not all blank).
  EXPECT_DOUBLE_EQ(Share(*image, image_area(2, 0), colors::kEmptyTile), 1.0);
  EXPECT_LT(Share(*image, image_area(2, 1), colors::kEmptyTile), 1.0);
  EXPECT_EQ(Share(*image, image_area(2, 1), blue), 0.0);
}

TEST(GalleryRenderTest, KOfOneStillDrawsEveryRow) {
  absl::StatusOr<cv::Mat> image =
      RenderGallery("Malignant", "subtitle",
                    {Row(Outcome::kTruePositive, 1, 5), Row(Outcome::kFalsePositive, 0, 0),
                     Row(Outcome::kFalseNegative, 1, 1)},
                    1);
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ(image->cols, GalleryLayout().tile_width);
}

TEST(GalleryRenderTest, BadArgumentsAreNamed) {
  absl::StatusOr<cv::Mat> k0 = RenderGallery("x", "", {}, 0);
  ASSERT_FALSE(k0.ok());
  EXPECT_EQ(k0.status().message(), "gallery: k is 0, not >= 1");
  absl::StatusOr<cv::Mat> rows = RenderGallery("x", "", {Row(Outcome::kTruePositive, 0, 0)}, 3);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().message(), "gallery: 1 rows given, expected 3 (TP, FP, FN)");
  absl::StatusOr<cv::Mat> many =
      RenderGallery("x", "",
                    {Row(Outcome::kTruePositive, 4, 4), Row(Outcome::kFalsePositive, 0, 0),
                     Row(Outcome::kFalseNegative, 0, 0)},
                    3);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().message(), "gallery: row TP has 4 tiles for k = 3");
}

TEST(ComparisonRenderTest, GeometryWithEmptySections) {
  const ComparisonLayout layout;
  ComparisonRow row;
  for (int c = 0; c < kComparisonColumns; ++c) {
    row.panels[c] = Solid(500, 900, cv::Scalar(0, 255, 0));
    row.titles[c] = {TextLine{"title"}};
  }
  ComparisonSection benign{"Benign", "no annotated Benign images", {row, row, row}};
  ComparisonSection malignant{"Malignant", "no annotated Malignant images", {}};
  absl::StatusOr<cv::Mat> image = RenderComparison("comparison", {benign, malignant}, layout);
  ASSERT_THAT(image, IsOk());
  const cv::Size expected(kComparisonColumns * layout.tile_width,
                          layout.header_height + layout.section_height +
                              3 * (layout.title_height + layout.image_height) +
                              layout.section_height + layout.empty_height);
  EXPECT_EQ(image->size(), expected);
  EXPECT_EQ(ComparisonCanvasSize(layout, {3, 0}), expected);
  // Each of the 4 panels of the first row shows the green image.
  for (int c = 0; c < kComparisonColumns; ++c) {
    const cv::Rect panel(c * layout.tile_width + layout.tile_width / 2 - 10,
                         layout.header_height + layout.section_height + layout.title_height +
                             layout.image_height / 2 - 10,
                         20, 20);
    EXPECT_DOUBLE_EQ(Share(*image, panel, cv::Scalar(0, 255, 0)), 1.0) << c;
  }
}

}  // namespace
}  // namespace explainer::client::gallery
