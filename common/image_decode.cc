// Untrusted image bytes -> CV_8UC3 RGB, with the size limit checked from the header.
#include "common/image_decode.h"

#include <cstdint>
#include <limits>
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

absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, const DecodeOptions& options) {
  if (options.max_pixels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DecodeOptions.max_pixels must be positive, got %d", options.max_pixels));
  }
  ASSIGN_OR_RETURN(const ImageHeader header, ReadImageHeader(bytes));
  const char* name = internal::FormatName(header.format);
  const int64_t pixels = int64_t{header.width} * header.height;
  if (pixels > options.max_pixels) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("image is %dx%d = %d pixels, over the limit of %d", header.width,
                        header.height, pixels, options.max_pixels));
  }
  if (header.format == ImageFormat::kDicom) return DecodeDicom(bytes, options);
  RETURN_IF_ERROR(internal::CheckContainerComplete(header.format, bytes));
  if (header.format == ImageFormat::kJpeg) RETURN_IF_ERROR(internal::CheckJpegScan(bytes));

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
    bgr = cv::imdecode(encoded, cv::IMREAD_COLOR);
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
  const bool as_header = bgr.cols == header.width && bgr.rows == header.height;
  const bool transposed = bgr.cols == header.height && bgr.rows == header.width;
  if (bgr.type() != CV_8UC3 || (!as_header && !transposed)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("corrupt %s: decoded %dx%d with %d channels, header says %dx%d", name,
                        bgr.cols, bgr.rows, bgr.channels(), header.width, header.height));
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace explainer::common
