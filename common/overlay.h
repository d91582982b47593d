// Heatmap visualisations, exactly pytorch-grad-cam's show_cam_on_image.
#ifndef EXPLAINER_COMMON_OVERLAY_H_
#define EXPLAINER_COMMON_OVERLAY_H_

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace explainer::common {

// show_cam_on_image(rgb8 / 255, heatmap, use_rgb=True, colormap=COLORMAP_JET,
// image_weight). heatmap is CV_32FC1 in [0, 1]; when its size differs from the
// image it is first resized bilinearly (cv::resize INTER_LINEAR) to the image.
// Returns CV_8UC3 RGB. InvalidArgument for wrong types or image_weight outside [0, 1].
absl::StatusOr<cv::Mat> OverlayHeatmap(const cv::Mat& rgb8, const cv::Mat& heatmap,
                                       float image_weight);

// OverlayHeatmap, then EncodePng at `png_compression` (image_encode.h): the overlay
// file the server sends and the client renders itself, made by this one function on
// both sides so that they are byte-identical for the same image and heatmap.
absl::StatusOr<std::string> OverlayPng(const cv::Mat& rgb8, const cv::Mat& heatmap,
                                       float image_weight, int png_compression);

// JET colouring of the heatmap alone (np.uint8(255 * cam) through COLORMAP_JET), RGB.
absl::StatusOr<cv::Mat> ColorizeHeatmap(const cv::Mat& heatmap);

// np.uint8(255 * cam): the 8-bit grayscale heatmap.
absl::StatusOr<cv::Mat> HeatmapToGray8(const cv::Mat& heatmap);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_OVERLAY_H_
