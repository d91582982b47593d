// Rendering one class's gallery; see gallery_render.h.
#include "client/gallery/gallery_render.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/gallery/tile_canvas.h"
#include "opencv2/imgproc.hpp"

namespace explainer::client::gallery {
namespace {

constexpr double kRowScale = 0.55;
constexpr double kSubtitleScale = 0.45;

std::string CountText(const GalleryRowContent& row, int k) {
  const size_t shown = row.tiles.size();
  if (row.available < static_cast<size_t>(k)) {
    return absl::StrCat(shown, " of k = ", k);
  }
  return absl::StrCat(shown, " shown of ", row.available);
}

}  // namespace

cv::Size GalleryCanvasSize(const GalleryLayout& layout, int k) {
  return cv::Size(k * layout.tile_width,
                  layout.header_height +
                      3 * (layout.row_header_height + layout.title_height + layout.image_height));
}

cv::Scalar OutcomeColor(Outcome outcome) {
  switch (outcome) {
    case Outcome::kTruePositive:
      return colors::kTruePositive;
    case Outcome::kFalsePositive:
      return colors::kFalsePositive;
    case Outcome::kFalseNegative:
      return colors::kFalseNegative;
  }
  return colors::kText;
}

absl::StatusOr<cv::Mat> RenderGallery(const std::string& title, const std::string& subtitle,
                                      const std::vector<GalleryRowContent>& rows, int k,
                                      const GalleryLayout& layout) {
  if (k < 1) return absl::InvalidArgumentError(absl::StrCat("gallery: k is ", k, ", not >= 1"));
  if (rows.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("gallery: ", rows.size(), " rows given, expected 3 (TP, FP, FN)"));
  }
  const cv::Size size = GalleryCanvasSize(layout, k);
  cv::Mat canvas(size, CV_8UC3, colors::kPage);
  const int title_height = std::min(40, layout.header_height);
  DrawTextBand(canvas, cv::Rect(0, 0, size.width, title_height),
               {TextLine{title, colors::kHeaderText, true}}, font_scale::kHeader, colors::kHeaderBand);
  DrawTextBand(canvas, cv::Rect(0, title_height, size.width, layout.header_height - title_height),
               {TextLine{subtitle, colors::kHeaderText}}, kSubtitleScale, colors::kHeaderBand);

  const int row_height = layout.row_header_height + layout.title_height + layout.image_height;
  for (size_t r = 0; r < rows.size(); ++r) {
    const GalleryRowContent& row = rows[r];
    if (row.tiles.size() > static_cast<size_t>(k)) {
      return absl::InvalidArgumentError(absl::StrCat("gallery: row ", OutcomeName(row.outcome),
                                                     " has ", row.tiles.size(),
                                                     " tiles for k = ", k));
    }
    const int top = layout.header_height + static_cast<int>(r) * row_height;
    const cv::Scalar color = OutcomeColor(row.outcome);
    const cv::Rect band(0, top, size.width, layout.row_header_height);
    DrawTextBand(canvas, band,
                 {TextLine{absl::StrCat(OutcomeName(row.outcome), "  ", row.description, "  (",
                                        CountText(row, k), ")"),
                           color, true}},
                 kRowScale, colors::kBand);
    cv::rectangle(canvas, cv::Rect(0, top + layout.row_header_height - 3, size.width, 3), color,
                  cv::FILLED);

    const int tiles_top = top + layout.row_header_height;
    for (int c = 0; c < k; ++c) {
      const cv::Rect tile(c * layout.tile_width, tiles_top, layout.tile_width,
                          layout.title_height + layout.image_height);
      const cv::Rect title_area(tile.x, tile.y, tile.width, layout.title_height);
      const cv::Rect image_area(tile.x, tile.y + layout.title_height, tile.width,
                                layout.image_height);
      if (c < static_cast<int>(row.tiles.size())) {
        const GalleryTile& content = row.tiles[c];
        DrawTextBand(canvas, title_area, content.title, font_scale::kTitle, colors::kPage);
        cv::rectangle(canvas, cv::Rect(tile.x, tile.y, 4, layout.title_height), color, cv::FILLED);
        FitToBox(content.image, image_area.size(), colors::kImageBox).copyTo(canvas(image_area));
        if (content.image.empty()) {
          DrawCenteredText(canvas, image_area, "no image", kRowScale, colors::kHeaderText);
        }
      } else {
        cv::rectangle(canvas, tile, colors::kEmptyTile, cv::FILLED);
      }
      // A thin separator between tiles keeps the grid readable.
      cv::rectangle(canvas, tile, colors::kPage, 1);
    }
    if (row.tiles.empty()) {
      DrawCenteredText(
          canvas, cv::Rect(0, tiles_top, size.width, layout.title_height + layout.image_height),
          "none", 1.0, colors::kMutedText, 2);
    }
  }
  return canvas;
}

}  // namespace explainer::client::gallery
