// Display panels from results and files; see panels.h.
#include "client/gallery/panels.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/gallery/tile_canvas.h"
#include "common/image_decode.h"
#include "common/labelme.h"
#include "common/mask.h"
#include "common/overlay.h"
#include "common/status_macros.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::client::gallery {
namespace {

const cv::Scalar kOutline(0, 255, 0);  // BGR green

cv::Mat Shrink(const cv::Mat& image, cv::Size box) {
  const cv::Size fitted = FitSize(image.size(), box);
  if (fitted == image.size()) return image.clone();
  cv::Mat out;
  cv::resize(image, out, fitted, 0, 0,
             fitted.width < image.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

}  // namespace

absl::StatusOr<cv::Mat> OverlayPanel(absl::string_view overlay_png, cv::Size box) {
  if (overlay_png.empty()) {
    return absl::InvalidArgumentError("the server's answer has no overlay PNG");
  }
  try {
    std::vector<uchar> bytes(overlay_png.begin(), overlay_png.end());
    // imdecode gives BGR, and the PNG holds RGB: BGR is what we draw in.
    cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
    if (bgr.empty()) {
      return absl::InvalidArgumentError("the server's overlay PNG does not decode");
    }
    return Shrink(bgr, box);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("the server's overlay PNG does not decode: ", e.what()));
  }
}

absl::StatusOr<cv::Mat> HeatmapFromResult(const explainer::v1::ExplainResult& result) {
  const explainer::v1::Heatmap& heatmap = result.heatmap();
  if (heatmap.width() <= 0 || heatmap.height() <= 0 ||
      static_cast<int64_t>(heatmap.values_size()) !=
          static_cast<int64_t>(heatmap.width()) * heatmap.height()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the server's heatmap is malformed: ", heatmap.values_size(), " values for ",
                     heatmap.width(), " x ", heatmap.height()));
  }
  cv::Mat values(heatmap.height(), heatmap.width(), CV_32FC1);
  std::copy(heatmap.values().begin(), heatmap.values().end(), values.ptr<float>());
  return values;
}

namespace {

// The panels from the decoded image (RGB), its annotation, the heatmap (CV_32FC1,
// any size) and the overlay (BGR, any size).
absl::StatusOr<ComparisonPanels> DrawPanels(const cv::Mat& rgb, absl::string_view annotation_json,
                                            const cv::Mat& heatmap, cv::Mat overlay,
                                            cv::Size box) {
  EXPLAINER_ASSIGN_OR_RETURN(common::LabelMeAnnotation annotation,
                             common::ParseLabelMe(annotation_json));
  EXPLAINER_ASSIGN_OR_RETURN(common::AnnotationMask mask,
                             common::RasterizeAnnotation(annotation, rgb.size()));
  try {
    const cv::Size fitted = FitSize(rgb.size(), box);
    ComparisonPanels panels;
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    panels.original = Shrink(bgr, box);

    cv::Mat small_mask;
    cv::resize(mask.mask, small_mask, fitted, 0, 0, cv::INTER_NEAREST);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(small_mask.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);

    // Mask panel: the image dimmed, the annotated region bright and outlined.
    cv::Mat dimmed = panels.original * 0.35;
    cv::Mat bright = panels.original * 0.5 + cv::Scalar(0, 110, 0);
    bright.copyTo(dimmed, small_mask);
    cv::drawContours(dimmed, contours, -1, kOutline, 2, cv::LINE_AA);
    panels.mask = dimmed;

    cv::Mat small_heatmap;
    cv::resize(heatmap, small_heatmap, fitted, 0, 0, cv::INTER_LINEAR);
    EXPLAINER_ASSIGN_OR_RETURN(cv::Mat colored, common::ColorizeHeatmap(small_heatmap));
    cv::cvtColor(colored, panels.heatmap, cv::COLOR_RGB2BGR);

    if (overlay.size() != fitted) cv::resize(overlay, overlay, fitted, 0, 0, cv::INTER_AREA);
    cv::drawContours(overlay, contours, -1, cv::Scalar(255, 255, 255), 2, cv::LINE_AA);
    panels.overlay = overlay;
    return panels;
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("drawing the comparison panels: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<ComparisonPanels> BuildComparisonPanels(absl::string_view image_bytes,
                                                       absl::string_view annotation_json,
                                                       const explainer::v1::ExplainResult& result,
                                                       cv::Size box) {
  EXPLAINER_ASSIGN_OR_RETURN(cv::Mat rgb, common::DecodeImage(image_bytes));
  EXPLAINER_ASSIGN_OR_RETURN(cv::Mat heatmap, HeatmapFromResult(result));
  EXPLAINER_ASSIGN_OR_RETURN(cv::Mat overlay, OverlayPanel(result.overlay_png(), box));
  return DrawPanels(rgb, annotation_json, heatmap, overlay, box);
}

absl::StatusOr<ComparisonPanels> BuildComparisonPanelsFromHeatmapPng(
    absl::string_view image_bytes, absl::string_view annotation_json,
    absl::string_view heatmap_png, float image_weight, cv::Size box) {
  EXPLAINER_ASSIGN_OR_RETURN(cv::Mat rgb, common::DecodeImage(image_bytes));
  cv::Mat heatmap;
  try {
    const std::vector<uchar> bytes(heatmap_png.begin(), heatmap_png.end());
    const cv::Mat gray = bytes.empty() ? cv::Mat() : cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
    if (gray.empty()) {
      return absl::InvalidArgumentError("the server's heatmap PNG is missing or does not decode");
    }
    gray.convertTo(heatmap, CV_32FC1, 1.0 / 255.0);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("the server's heatmap PNG does not decode: ", e.what()));
  }
  EXPLAINER_ASSIGN_OR_RETURN(cv::Mat overlay_rgb,
                             common::OverlayHeatmap(rgb, heatmap, image_weight));
  cv::Mat overlay;
  try {
    cv::cvtColor(overlay_rgb, overlay, cv::COLOR_RGB2BGR);
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("drawing the overlay: ", e.what()));
  }
  return DrawPanels(rgb, annotation_json, heatmap, Shrink(overlay, box), box);
}

}  // namespace explainer::client::gallery
