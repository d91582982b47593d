// method_comparison.png: per annotated class, the best / median / worst images
// (by the run's method) as the annotation mask, then one overlay per method, so
// that the methods' heatmaps of the same image sit side by side.
#ifndef EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_RENDER_H_
#define EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_RENDER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/gallery/method_comparison.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// The image is (1 + methods) * tile_width wide and header_height + per class
// section_height + column_height + (rows ? rows * (title_height + image_height)
// : empty_height) high.
struct MethodComparisonLayout {
  int tile_width = 240;
  int image_height = 240;
  int title_height = 70;   // three lines above each panel
  int column_height = 70;  // per section: each method's class mean IoU and pointing game
  int section_height = 34;
  int empty_height = 60;
  int header_height = 44;
};

cv::Size MethodComparisonCanvasSize(const MethodComparisonLayout& layout, size_t methods,
                                    const std::vector<int>& rows_per_section);

// InvalidArgument when the comparison has no method or its parts disagree in
// size (reports, overlays and errors per method).
absl::StatusOr<cv::Mat> RenderMethodComparison(const MethodComparison& comparison,
                                               const MethodComparisonLayout& layout = {});

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_RENDER_H_
