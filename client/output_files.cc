// Overlay / heatmap PNGs and the .npy CAM of one result; see output_files.h.
#include "client/output_files.h"

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/file_io.h"
#include "common/image_encode.h"
#include "common/status_macros.h"
#include "opencv2/core.hpp"

namespace explainer::client {
namespace {

absl::Status WriteRelative(const OutputRequest& request, const std::string& relative,
                           const std::string& bytes) {
  return WriteFileBytes((std::filesystem::path(request.out_dir) / relative).string(), bytes);
}

}  // namespace

absl::StatusOr<OutputFiles> WriteOutputs(const explainer::v1::ExplainResult& result,
                                         const OutputRequest& request) {
  OutputFiles files;
  if (!result.overlay_png().empty()) {
    const std::string path = request.output_stem + "_overlay.png";
    EXPLAINER_RETURN_IF_ERROR(WriteRelative(request, path, result.overlay_png()));
    files.overlay = path;
  }
  if (request.heatmap && !result.heatmap_png().empty()) {
    const std::string path = request.output_stem + "_heatmap.png";
    EXPLAINER_RETURN_IF_ERROR(WriteRelative(request, path, result.heatmap_png()));
    files.heatmap = path;
  }
  if (request.cam && result.has_heatmap()) {
    const auto& heatmap = result.heatmap();
    const int64_t expected = int64_t{heatmap.width()} * heatmap.height();
    if (heatmap.width() <= 0 || heatmap.height() <= 0 || heatmap.values_size() != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("the server's raw heatmap is malformed: ", heatmap.values_size(),
                       " values for ", heatmap.width(), "x", heatmap.height()));
    }
    // A view on the proto's storage: EncodeNpyFloat32 only reads it.
    const cv::Mat values(heatmap.height(), heatmap.width(), CV_32FC1,
                         const_cast<float*>(heatmap.values().data()));
    EXPLAINER_ASSIGN_OR_RETURN(std::string npy, common::EncodeNpyFloat32(values));
    const std::string path = request.output_stem + "_cam.npy";
    EXPLAINER_RETURN_IF_ERROR(WriteRelative(request, path, npy));
    files.cam = path;
  }
  return files;
}

}  // namespace explainer::client
