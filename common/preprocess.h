// Model input preparation, bit-for-bit what the Python training pipeline did:
// albumentations Resize (cv2 INTER_LINEAR) then Normalize ((x/255 - mean) / std).
#ifndef EXPLAINER_COMMON_PREPROCESS_H_
#define EXPLAINER_COMMON_PREPROCESS_H_

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace explainer::common {

struct Normalization {
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

// One normalised image, channel-major (CHW) float32, ready to be batched.
struct ModelInput {
  int width = 0;
  int height = 0;
  std::vector<float> chw;  // 3 * height * width values
};

// Resizes an RGB8 image to `size` with cv::resize INTER_LINEAR.
cv::Mat ResizeForModel(const cv::Mat& rgb8, cv::Size size);

// Resize + normalise + HWC->CHW. InvalidArgument unless rgb8 is a non-empty
// CV_8UC3 image and size is positive.
absl::StatusOr<ModelInput> Preprocess(const cv::Mat& rgb8, cv::Size size,
                                      const Normalization& norm);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_PREPROCESS_H_
