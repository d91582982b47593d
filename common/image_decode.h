// Decoding untrusted image bytes into the RGB 8-bit frame every later stage uses.
#ifndef EXPLAINER_COMMON_IMAGE_DECODE_H_
#define EXPLAINER_COMMON_IMAGE_DECODE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common {

struct DecodeOptions {
  // Largest width * height accepted. Checked from the file header before the
  // pixels are allocated, so a hostile header cannot make us allocate gigabytes.
  int64_t max_pixels = 64LL * 1024 * 1024;
  // DICOM only: a VOI window (centre and width, in modality units) that replaces the
  // file's own VOI LUT and windows; width <= 0 keeps the file's choice.
  double dicom_window_center = 0;
  double dicom_window_width = 0;
};

// Image container formats recognised from their magic bytes.
enum class ImageFormat { kJpeg, kPng, kBmp, kTiff, kWebp, kDicom };

struct ImageHeader {
  ImageFormat format;
  int width = 0;
  int height = 0;
};

// Reads format and size from the header alone. InvalidArgument for empty, unknown
// or truncated headers.
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

// Decodes JPEG, PNG (8/16-bit), BMP, TIFF, WebP or DICOM (common/dicom_decode.h) into
// CV_8UC3 RGB. Gray becomes
// RGB, 16-bit becomes 8-bit (as cv::imread does), EXIF orientation is applied
// (LabelMe annotates in the oriented frame).
// Errors: InvalidArgument (empty, not an image, truncated or corrupt),
// ResourceExhausted (over options.max_pixels). Messages say what was wrong.
absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes,
                                    const DecodeOptions& options = {});

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_IMAGE_DECODE_H_
