// Decoding untrusted image bytes into the RGB 8-bit frame every later stage uses.
#ifndef EXPLAINER_COMMON_IMAGE_DECODE_H_
#define EXPLAINER_COMMON_IMAGE_DECODE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/dicom_voi.h"
#include "opencv2/core.hpp"

namespace explainer::common {

struct DecodeOptions {
  // Largest width * height accepted. Checked from the file header before the
  // pixels are allocated, so a hostile header cannot make us allocate gigabytes.
  int64_t max_pixels = 64LL * 1024 * 1024;
  // DICOM only: the VOI transform (common/dicom_voi.h); default: the file's own.
  DicomVoi dicom_voi;
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

// A decoded image and the size DecodeImage would have given it (EXIF-oriented).
struct DecodedImage {
  cv::Mat rgb;          // CV_8UC3 RGB, full_size / scale (rounded up)
  cv::Size full_size;
  int scale = 1;        // 1, 2, 4 or 8
};

// DecodeImage for a consumer that needs only `min_side` pixels on the shorter side
// (the model input): a JPEG is decoded by libjpeg's DCT scaling at 1/2, 1/4 or 1/8
// (OpenCV's IMREAD_REDUCED_COLOR_*), the smallest scale whose shorter side is still
// >= min_side. Other formats, smaller JPEGs and min_side <= 0 decode at full size.
// The pixels differ from a full decode followed by a resize (DCT scaling averages
// blocks; see docs/BENCHMARKS.md for what that does to heatmaps). Same errors as
// DecodeImage.
absl::StatusOr<DecodedImage> DecodeImageReduced(absl::string_view bytes, int min_side,
                                                const DecodeOptions& options = {});

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_IMAGE_DECODE_H_
