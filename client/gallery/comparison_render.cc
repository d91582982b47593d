// Rendering the annotation comparison; see comparison_render.h.
#include "client/gallery/comparison_render.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/gallery/tile_canvas.h"
#include "opencv2/imgproc.hpp"

namespace explainer::client::gallery {
namespace {

int SectionHeight(const ComparisonLayout& layout, int rows) {
  return layout.section_height +
         (rows > 0 ? rows * (layout.title_height + layout.image_height) : layout.empty_height);
}

}  // namespace

cv::Size ComparisonCanvasSize(const ComparisonLayout& layout,
                              const std::vector<int>& rows_per_section) {
  int height = layout.header_height;
  for (int rows : rows_per_section) height += SectionHeight(layout, rows);
  return cv::Size(kComparisonColumns * layout.tile_width, height);
}

absl::StatusOr<cv::Mat> RenderComparison(const std::string& title,
                                         const std::vector<ComparisonSection>& sections,
                                         const ComparisonLayout& layout) {
  std::vector<int> rows_per_section;
  for (const ComparisonSection& section : sections) {
    rows_per_section.push_back(static_cast<int>(section.rows.size()));
  }
  const cv::Size size = ComparisonCanvasSize(layout, rows_per_section);
  cv::Mat canvas(size, CV_8UC3, colors::kPage);
  DrawTextBand(canvas, cv::Rect(0, 0, size.width, layout.header_height),
               {TextLine{title, colors::kHeaderText, true}}, font_scale::kHeader, colors::kHeaderBand);
  int top = layout.header_height;
  for (const ComparisonSection& section : sections) {
    DrawTextBand(canvas, cv::Rect(0, top, size.width, layout.section_height),
                 {TextLine{section.heading, colors::kText, true}}, font_scale::kSection, colors::kBand);
    top += layout.section_height;
    if (section.rows.empty()) {
      DrawCenteredText(canvas, cv::Rect(0, top, size.width, layout.empty_height),
                       section.empty_text, font_scale::kSection, colors::kMutedText, 1);
      top += layout.empty_height;
      continue;
    }
    for (const ComparisonRow& row : section.rows) {
      for (int c = 0; c < kComparisonColumns; ++c) {
        const int x = c * layout.tile_width;
        DrawTextBand(canvas, cv::Rect(x, top, layout.tile_width, layout.title_height),
                     row.titles[c], font_scale::kTitle, colors::kPage);
        const cv::Rect image_area(x, top + layout.title_height, layout.tile_width,
                                  layout.image_height);
        FitToBox(row.panels[c], image_area.size(), colors::kImageBox).copyTo(canvas(image_area));
        cv::rectangle(
            canvas, cv::Rect(x, top, layout.tile_width, layout.title_height + layout.image_height),
            colors::kPage, 1);
      }
      top += layout.title_height + layout.image_height;
    }
  }
  if (top != size.height) {
    return absl::InternalError("comparison: layout height mismatch");
  }
  return canvas;
}

}  // namespace explainer::client::gallery
