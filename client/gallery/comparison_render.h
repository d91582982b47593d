// annotation_comparison.png: per annotated class, the best, median and worst
// images by IoU, each as original | annotation mask | heatmap | overlay.
#ifndef EXPLAINER_CLIENT_GALLERY_COMPARISON_RENDER_H_
#define EXPLAINER_CLIENT_GALLERY_COMPARISON_RENDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/gallery/tile_canvas.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

inline constexpr int kComparisonColumns = 4;  // original, mask, heatmap, overlay

// The image is kComparisonColumns * tile_width wide and header_height + per class
// section_height + (rows ? rows * (title_height + image_height) : empty_height)
// high.
struct ComparisonLayout {
  int tile_width = 280;
  int image_height = 280;
  int title_height = 70;
  int section_height = 34;
  int empty_height = 60;
  int header_height = 44;
};

// Panels of one image, all CV_8UC3 BGR (any size; each is fitted to its tile).
struct ComparisonRow {
  cv::Mat panels[kComparisonColumns];
  std::vector<TextLine> titles[kComparisonColumns];
};

struct ComparisonSection {
  std::string heading;     // "Benign: best, median and worst IoU@0.5 of 12 images"
  std::string empty_text;  // shown when rows is empty
  std::vector<ComparisonRow> rows;
};

cv::Size ComparisonCanvasSize(const ComparisonLayout& layout,
                              const std::vector<int>& rows_per_section);

absl::StatusOr<cv::Mat> RenderComparison(const std::string& title,
                                         const std::vector<ComparisonSection>& sections,
                                         const ComparisonLayout& layout = {});

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_COMPARISON_RENDER_H_
