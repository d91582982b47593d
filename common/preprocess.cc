// Resize + normalise + HWC->CHW, as albumentations Resize + Normalize + ToTensorV2.
#include "common/preprocess.h"

#include <array>
#include <cmath>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::common {

cv::Mat ResizeForModel(const cv::Mat& rgb8, cv::Size size) {
  if (rgb8.empty() || size.width <= 0 || size.height <= 0) return cv::Mat();
  cv::Mat resized;
  try {
    cv::resize(rgb8, resized, size, 0, 0, cv::INTER_LINEAR);
  } catch (const cv::Exception&) {
    return cv::Mat();  // only reachable for invalid inputs, which Preprocess rejects first
  }
  return resized;
}

absl::StatusOr<ModelInput> Preprocess(const cv::Mat& rgb8, cv::Size size,
                                      const Normalization& norm) {
  if (rgb8.empty() || rgb8.type() != CV_8UC3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "preprocess needs a non-empty 8-bit RGB image (CV_8UC3), got %dx%d of type %d", rgb8.cols,
        rgb8.rows, rgb8.type()));
  }
  if (size.width <= 0 || size.height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("preprocess size must be positive, got %dx%d", size.width, size.height));
  }
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(norm.mean[c]) || !std::isfinite(norm.std[c]) || norm.std[c] == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "normalisation channel %d has mean %g and std %g: both must be finite, std non-zero", c,
          norm.mean[c], norm.std[c]));
    }
  }
  const cv::Mat resized = ResizeForModel(rgb8, size);
  if (resized.empty()) return absl::InternalError("cv::resize failed");

  // Every input byte maps to one of 256 values per channel; the table keeps the
  // float32 arithmetic order of (x / 255 - mean) / std.
  std::array<std::array<float, 256>, 3> table;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      table[c][v] = (static_cast<float>(v) / 255.0f - norm.mean[c]) / norm.std[c];
    }
  }
  ModelInput input;
  input.width = size.width;
  input.height = size.height;
  const size_t plane = static_cast<size_t>(size.width) * size.height;
  input.chw.resize(3 * plane);
  for (int y = 0; y < resized.rows; ++y) {
    const uint8_t* row = resized.ptr<uint8_t>(y);
    const size_t base = static_cast<size_t>(y) * size.width;
    for (int x = 0; x < resized.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        input.chw[c * plane + base + x] = table[c][row[3 * x + c]];
      }
    }
  }
  return input;
}

}  // namespace explainer::common
