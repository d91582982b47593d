// The one definition of a valid heatmap, shared by the metrics and the overlay.
#ifndef EXPLAINER_COMMON_HEATMAP_CHECK_H_
#define EXPLAINER_COMMON_HEATMAP_CHECK_H_

#include "absl/status/status.h"
#include "opencv2/core.hpp"

namespace explainer::common {

// OK when `heatmap` is a non-empty CV_32FC1 matrix with every value in [0, 1]
// (NaN fails); otherwise InvalidArgument naming the type or the first bad value.
// Out-of-range values would wrap in np.uint8(255 * cam) and skew thresholds.
absl::Status CheckHeatmap(const cv::Mat& heatmap);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_HEATMAP_CHECK_H_
