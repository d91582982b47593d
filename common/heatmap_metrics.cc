// IoU per threshold, pointing game, energy inside and mask area for one heatmap.
#include "common/heatmap_metrics.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/heatmap_check.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::common {

absl::StatusOr<HeatmapScores> ScoreHeatmap(const cv::Mat& heatmap, const cv::Mat& mask,
                                           absl::Span<const float> thresholds) {
  if (absl::Status s = CheckHeatmap(heatmap); !s.ok()) return s;
  if (mask.empty() || mask.type() != CV_8UC1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("mask must be a non-empty CV_8UC1 matrix, got %dx%d of type %d", mask.cols,
                        mask.rows, mask.type()));
  }
  for (const float t : thresholds) {
    if (!(t >= 0.0f && t <= 1.0f)) {
      return absl::InvalidArgumentError(absl::StrFormat("IoU threshold %g is outside [0, 1]", t));
    }
  }

  cv::Mat resized;
  if (mask.size() == heatmap.size()) {
    resized = mask;
  } else {
    cv::resize(mask, resized, heatmap.size(), 0, 0, cv::INTER_NEAREST);
  }

  // One pass: mask statistics, heatmap mass and, per threshold, the counts of
  // hot pixels and of hot pixels inside the mask.
  const size_t n = thresholds.size();
  std::vector<int64_t> hot(n, 0), hot_inside(n, 0);
  int64_t mask_pixels = 0;
  double total = 0, inside = 0;
  float best = -1.0f;
  bool best_inside = false;
  for (int y = 0; y < heatmap.rows; ++y) {
    const float* h = heatmap.ptr<float>(y);
    const uint8_t* m = resized.ptr<uint8_t>(y);
    for (int x = 0; x < heatmap.cols; ++x) {
      const bool in = m[x] != 0;
      mask_pixels += in;
      total += h[x];
      if (in) inside += h[x];
      if (h[x] > best) {  // strict: the first maximum in row-major order, as np.argmax
        best = h[x];
        best_inside = in;
      }
      for (size_t t = 0; t < n; ++t) {
        if (h[x] >= thresholds[t]) {
          ++hot[t];
          hot_inside[t] += in;
        }
      }
    }
  }

  HeatmapScores scores;
  for (size_t t = 0; t < n; ++t) {
    const int64_t union_count = hot[t] + mask_pixels - hot_inside[t];
    ThresholdIou iou;
    iou.threshold = thresholds[t];
    iou.iou = union_count > 0 ? static_cast<float>(static_cast<double>(hot_inside[t]) /
                                                   static_cast<double>(union_count))
                              : 0.0f;
    scores.iou.push_back(iou);
  }
  scores.pointing_game_hit = total > 0 && best_inside;
  scores.energy_inside = total > 0 ? static_cast<float>(inside / total) : 0.0f;
  scores.mask_area_fraction =
      static_cast<float>(static_cast<double>(mask_pixels) / (static_cast<double>(heatmap.total())));
  return scores;
}

}  // namespace explainer::common
