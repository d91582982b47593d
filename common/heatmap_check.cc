#include "common/heatmap_check.h"

#include "absl/strings/str_format.h"

namespace explainer::common {

absl::Status CheckHeatmap(const cv::Mat& heatmap) {
  if (heatmap.empty() || heatmap.type() != CV_32FC1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("heatmap must be a non-empty CV_32FC1 matrix, got %dx%d of type %d",
                        heatmap.cols, heatmap.rows, heatmap.type()));
  }
  for (int y = 0; y < heatmap.rows; ++y) {
    const float* row = heatmap.ptr<float>(y);
    for (int x = 0; x < heatmap.cols; ++x) {
      if (!(row[x] >= 0.0f && row[x] <= 1.0f)) {  // written so that NaN fails too
        return absl::InvalidArgumentError(absl::StrFormat(
            "heatmap values must be in [0, 1], found %g at (x=%d, y=%d)", row[x], x, y));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace explainer::common
