// Client-side overlay rendering; see overlay_render.h.
#include "client/overlay_render.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/file_io.h"
#include "common/overlay.h"
#include "common/status_macros.h"
#include "opencv2/core.hpp"

namespace explainer::client {

absl::Status RenderOverlay(const OverlayRenderRequest& request,
                           explainer::v1::ExplainResult* result) {
  if (!result->has_heatmap()) {
    return absl::InvalidArgumentError("overlay: the answer has no raw heatmap");
  }
  const explainer::v1::Heatmap& heatmap = result->heatmap();
  if (heatmap.width() <= 0 || heatmap.height() <= 0 ||
      heatmap.values_size() != int64_t{heatmap.width()} * heatmap.height()) {
    return absl::InvalidArgumentError(
        absl::StrCat("overlay: the server's raw heatmap is malformed: ", heatmap.values_size(),
                     " values for ", heatmap.width(), "x", heatmap.height()));
  }
  EXPLAINER_ASSIGN_OR_RETURN(const std::string bytes,
                             ReadFileBytes(request.image_path, request.max_file_bytes), "overlay");
  EXPLAINER_ASSIGN_OR_RETURN(const cv::Mat rgb, common::DecodeImage(bytes, request.decode),
                             "overlay: ", request.image_path);
  if (rgb.cols != result->original_width() || rgb.rows != result->original_height()) {
    return absl::InternalError(absl::StrCat(
        "overlay: ", request.image_path, " decodes to ", rgb.cols, "x", rgb.rows,
        " here but the server saw ", result->original_width(), "x", result->original_height()));
  }
  // A view on the proto's storage: OverlayPng only reads it.
  const cv::Mat cam(heatmap.height(), heatmap.width(), CV_32FC1,
                    const_cast<float*>(heatmap.values().data()));
  EXPLAINER_ASSIGN_OR_RETURN(
      std::string png, common::OverlayPng(rgb, cam, request.image_weight, request.png_compression),
      "overlay");
  result->set_overlay_png(std::move(png));
  return absl::OkStatus();
}

}  // namespace explainer::client
