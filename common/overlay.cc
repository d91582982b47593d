// pytorch-grad-cam's show_cam_on_image in float32, step for step.
#include "common/overlay.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "common/heatmap_check.h"
#include "common/image_encode.h"
#include "common/status_macros.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::common {
namespace {

// np.uint8(255 * cam) on a validated heatmap: float32 product, truncated.
cv::Mat ToGray8(const cv::Mat& heatmap) {
  cv::Mat gray(heatmap.size(), CV_8UC1);
  for (int y = 0; y < heatmap.rows; ++y) {
    const float* in = heatmap.ptr<float>(y);
    uint8_t* out = gray.ptr<uint8_t>(y);
    for (int x = 0; x < heatmap.cols; ++x) out[x] = static_cast<uint8_t>(255.0f * in[x]);
  }
  return gray;
}

// applyColorMap(gray, JET) -> RGB.
cv::Mat JetRgb(const cv::Mat& gray8) {
  cv::Mat bgr, rgb;
  cv::applyColorMap(gray8, bgr, cv::COLORMAP_JET);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace

absl::StatusOr<cv::Mat> HeatmapToGray8(const cv::Mat& heatmap) {
  EXPLAINER_RETURN_IF_ERROR(CheckHeatmap(heatmap));
  return ToGray8(heatmap);
}

absl::StatusOr<cv::Mat> ColorizeHeatmap(const cv::Mat& heatmap) {
  EXPLAINER_RETURN_IF_ERROR(CheckHeatmap(heatmap));
  return JetRgb(ToGray8(heatmap));
}

absl::StatusOr<cv::Mat> OverlayHeatmap(const cv::Mat& rgb8, const cv::Mat& heatmap,
                                       float image_weight) {
  if (rgb8.empty() || rgb8.type() != CV_8UC3) {
    return absl::InvalidArgumentError(
        absl::StrFormat("overlay needs a non-empty 8-bit RGB image (CV_8UC3), got %dx%d of type %d",
                        rgb8.cols, rgb8.rows, rgb8.type()));
  }
  if (!(image_weight >= 0.0f && image_weight <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("image_weight must be in [0, 1], got %g", image_weight));
  }
  EXPLAINER_RETURN_IF_ERROR(CheckHeatmap(heatmap));
  cv::Mat cam = heatmap;
  if (heatmap.size() != rgb8.size()) {
    cv::resize(heatmap, cam, rgb8.size(), 0, 0, cv::INTER_LINEAR);
    // Bilinear weights are convex, but float rounding may step a hair past 1.
    cv::min(cam, 1.0f, cam);
    cv::max(cam, 0.0f, cam);
  }
  const cv::Mat colour = JetRgb(ToGray8(cam));

  // cam = (1 - w) * heatmap / 255 + w * img / 255, in float32 as NumPy does with a
  // Python float scalar and float32 arrays; then cam / max(cam), uint8(255 * cam).
  const float heat_weight = static_cast<float>(1.0 - static_cast<double>(image_weight));
  cv::Mat mixed(rgb8.size(), CV_32FC3);
  float peak = 0.0f;
  for (int y = 0; y < rgb8.rows; ++y) {
    const uint8_t* img = rgb8.ptr<uint8_t>(y);
    const uint8_t* jet = colour.ptr<uint8_t>(y);
    float* out = mixed.ptr<float>(y);
    for (int i = 0; i < 3 * rgb8.cols; ++i) {
      const float h = static_cast<float>(jet[i]) / 255.0f;
      const float v = static_cast<float>(img[i]) / 255.0f;
      const float a = heat_weight * h;
      const float b = image_weight * v;
      out[i] = a + b;
      peak = std::max(peak, out[i]);
    }
  }
  cv::Mat result(rgb8.size(), CV_8UC3);
  for (int y = 0; y < rgb8.rows; ++y) {
    const float* in = mixed.ptr<float>(y);
    uint8_t* out = result.ptr<uint8_t>(y);
    for (int i = 0; i < 3 * rgb8.cols; ++i) {
      // peak > 0: JET never maps to black, so the heatmap term is positive when w < 1,
      // and with w == 1 an all-black image gives 0 / 0 in NumPy (we return black).
      const float scaled = peak > 0.0f ? in[i] / peak : 0.0f;
      out[i] = static_cast<uint8_t>(255.0f * scaled);
    }
  }
  return result;
}

absl::StatusOr<std::string> OverlayPng(const cv::Mat& rgb8, const cv::Mat& heatmap,
                                       float image_weight, int png_compression) {
  EXPLAINER_ASSIGN_OR_RETURN(const cv::Mat overlay, OverlayHeatmap(rgb8, heatmap, image_weight));
  return EncodePng(overlay, png_compression);
}

}  // namespace explainer::common
