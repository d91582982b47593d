// Turning the server's outputs and the local files into the pictures the gallery
// and the comparison show, scaled down as soon as they arrive so that a run holds
// only tile-sized images.
#ifndef EXPLAINER_CLIENT_GALLERY_PANELS_H_
#define EXPLAINER_CLIENT_GALLERY_PANELS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "explainer/v1/explainer.pb.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// The server's overlay PNG (RGB at original resolution) as BGR, scaled to fit
// `box` keeping aspect ratio. InvalidArgument when the bytes are not an image.
absl::StatusOr<cv::Mat> OverlayPanel(absl::string_view overlay_png, cv::Size box);

// The raw heatmap of a result as CV_32FC1. InvalidArgument when values != w * h.
absl::StatusOr<cv::Mat> HeatmapFromResult(const explainer::v1::ExplainResult& result);

struct ComparisonPanels {
  cv::Mat original;  // BGR, fitted to the box
  cv::Mat mask;      // the original dimmed, the annotation filled and outlined
  cv::Mat heatmap;   // the JET heatmap at the original's aspect ratio
  cv::Mat overlay;   // the server's overlay with the annotation outlined
};

// The four comparison panels of one image: the image file's bytes (decoded with
// EXIF orientation, as the server does), its LabelMe JSON (rasterised client-side
// with labelme's rules at the decoded size) and the server's result with
// overlay_png and the raw heatmap. Errors name what could not be read.
absl::StatusOr<ComparisonPanels> BuildComparisonPanels(absl::string_view image_bytes,
                                                       absl::string_view annotation_json,
                                                       const explainer::v1::ExplainResult& result,
                                                       cv::Size box);

// The same panels without the server's overlay: from the 8-bit heatmap PNG the
// server sends with return_heatmap_png (model resolution), the overlay drawn here
// with the server's code (common::OverlayHeatmap at image_weight). Rounding the
// heatmap to 8 bits moves some JET colours by a few levels, invisible at panel size.
absl::StatusOr<ComparisonPanels> BuildComparisonPanelsFromHeatmapPng(
    absl::string_view image_bytes, absl::string_view annotation_json,
    absl::string_view heatmap_png, float image_weight, cv::Size box);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_PANELS_H_
