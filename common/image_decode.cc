// Untrusted image bytes -> CV_8UC3 RGB, with the size limit checked from the header.
#include "common/image_decode.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/dicom_decode.h"
#include "common/exif_orientation.h"
#include "common/image_container.h"
#include "common/jpeg_scan_check.h"
#include "common/status_macros.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::common {
namespace {

// libjpeg's DCT scale for a JPEG whose shorter side must stay >= min_side: 8, 4, 2 or 1.
int JpegScale(const ImageHeader& header, int min_side) {
  if (header.format != ImageFormat::kJpeg || min_side <= 0) return 1;
  const int shorter = std::min(header.width, header.height);
  for (const int scale : {8, 4, 2}) {
    if (shorter / scale >= min_side) return scale;
  }
  return 1;
}

int ReducedFlag(int scale) {
  switch (scale) {
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    default: return cv::IMREAD_COLOR;
  }
}

int CeilDiv(int a, int b) { return (a + b - 1) / b; }

// imdecode, BGR out; WebP's EXIF orientation applied (OpenCV 4.6 ignores it there).
absl::StatusOr<cv::Mat> DecodeWithOpenCv(absl::string_view bytes, const ImageHeader& header,
                                         int scale) {
  const char* name = internal::FormatName(header.format);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("image is %d bytes, over the 2 GiB decoder limit", bytes.size()));
  }
  // imdecode only reads the buffer; the Mat header merely wraps it without a copy.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                        const_cast<char*>(bytes.data()));
  cv::Mat bgr;
  try {
    // IMREAD_COLOR: gray -> 3 channels, 16-bit -> 8-bit, alpha dropped, and EXIF
    // orientation applied for JPEG, PNG and TIFF.
    // IMREAD_REDUCED_COLOR_N: the same, with libjpeg's DCT scaling by 1/N.
    bgr = cv::imdecode(encoded, ReducedFlag(scale));
  } catch (const cv::Exception& e) {
    // e.err only: what() adds OpenCV's version and source path.
    return absl::InvalidArgumentError(
        absl::StrFormat("truncated or corrupt %s: decoder failed (%s)", name, e.err));
  }
  if (bgr.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("truncated or corrupt %s: decoder failed", name));
  }
  if (header.format == ImageFormat::kWebp) {
    bgr = internal::ApplyExifOrientation(
        bgr, internal::ExifOrientation(internal::WebpExifPayload(bytes)));
  }
  return bgr;
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, const DecodeOptions& options) {
  EXPLAINER_ASSIGN_OR_RETURN(DecodedImage decoded, DecodeImageReduced(bytes, 0, options));
  return std::move(decoded.rgb);
}

absl::StatusOr<DecodedImage> DecodeImageReduced(absl::string_view bytes, int min_side,
                                                const DecodeOptions& options) {
  if (options.max_pixels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DecodeOptions.max_pixels must be positive, got %d", options.max_pixels));
  }
  EXPLAINER_ASSIGN_OR_RETURN(const ImageHeader header, ReadImageHeader(bytes));
  const char* name = internal::FormatName(header.format);
  const int64_t pixels = int64_t{header.width} * header.height;
  if (pixels > options.max_pixels) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("image is %dx%d = %d pixels, over the limit of %d", header.width,
                        header.height, pixels, options.max_pixels));
  }
  if (header.format == ImageFormat::kDicom) {
    EXPLAINER_ASSIGN_OR_RETURN(cv::Mat rgb, DecodeDicom(bytes, options));
    const cv::Size size = rgb.size();
    return DecodedImage{std::move(rgb), size};
  }
  EXPLAINER_RETURN_IF_ERROR(internal::CheckContainerComplete(header.format, bytes));
  const int scale = JpegScale(header, min_side);
  // Most JPEGs: checked and decoded in one libjpeg pass, RGB out (jpeg_scan_check.h).
  std::optional<cv::Mat> rgb;
  if (header.format == ImageFormat::kJpeg) {
    EXPLAINER_ASSIGN_OR_RETURN(rgb, internal::DecodeJpegChecked(bytes, scale, cv::Size(header.width, header.height)));
    if (!rgb) EXPLAINER_RETURN_IF_ERROR(internal::CheckJpegScan(bytes));
  }
  cv::Mat bgr;
  if (!rgb) {
    EXPLAINER_ASSIGN_OR_RETURN(bgr, DecodeWithOpenCv(bytes, header, scale));
  }
  const cv::Mat& decoded_pixels = rgb ? *rgb : bgr;
  // libjpeg rounds scaled sizes up.
  const int width = CeilDiv(header.width, scale);
  const int height = CeilDiv(header.height, scale);
  const bool as_header = decoded_pixels.cols == width && decoded_pixels.rows == height;
  const bool transposed = decoded_pixels.cols == height && decoded_pixels.rows == width;
  if (decoded_pixels.type() != CV_8UC3 || (!as_header && !transposed)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "corrupt %s: decoded %dx%d with %d channels, header says %dx%d", name,
        decoded_pixels.cols * scale,
        decoded_pixels.rows * scale, decoded_pixels.channels(), header.width, header.height));
  }
  DecodedImage decoded;
  if (rgb) {
    decoded.rgb = *std::move(rgb);
  } else {
    cv::cvtColor(bgr, decoded.rgb, cv::COLOR_BGR2RGB);
  }
  decoded.full_size = as_header ? cv::Size(header.width, header.height)
                                : cv::Size(header.height, header.width);
  decoded.scale = scale;
  return decoded;
}

}  // namespace explainer::common
