// Agreement between a CAM heatmap and an annotation mask (the seed's IoU report).
#ifndef EXPLAINER_COMMON_HEATMAP_METRICS_H_
#define EXPLAINER_COMMON_HEATMAP_METRICS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "opencv2/core.hpp"

namespace explainer::common {

inline constexpr float kDefaultIouThresholds[] = {0.3f, 0.5f, 0.7f};

struct ThresholdIou {
  float threshold = 0;
  float iou = 0;
};

struct HeatmapScores {
  std::vector<ThresholdIou> iou;  // one per threshold, in the order given
  bool pointing_game_hit = false;
  float energy_inside = 0;       // heatmap mass inside the mask / total mass
  float mask_area_fraction = 0;  // mask pixels / all pixels, at heatmap size
};

// heatmap: CV_32FC1 in [0, 1] at model resolution. mask: CV_8UC1 0/1 of any size,
// resized to the heatmap with nearest neighbour. IoU at t compares heatmap >= t with
// the mask. Defined cases, never NaN: an empty union gives IoU 0; an all-zero heatmap
// gives energy 0 and no pointing-game hit; an empty mask gives IoU 0 and no hit.
// InvalidArgument for wrong types, empty inputs or thresholds outside [0, 1].
absl::StatusOr<HeatmapScores> ScoreHeatmap(const cv::Mat& heatmap, const cv::Mat& mask,
                                           absl::Span<const float> thresholds);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_HEATMAP_METRICS_H_
