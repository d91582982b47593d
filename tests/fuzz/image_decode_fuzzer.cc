// Fuzz target: untrusted image bytes -> ReadImageHeader and DecodeImage (common/),
// the first thing the server does with a request's image. The pixel limit is small
// so that every execution stays fast; the checks are the header's contract.
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/image_decode.h"
#include "opencv2/core.hpp"
#include "opencv2/core/utils/logger.hpp"
#include "tests/fuzz/fuzz_check.h"

namespace {

// 256 x 256: bigger headers must come back ResourceExhausted before any pixels are
// allocated, smaller images decode in well under a millisecond.
constexpr int64_t kMaxPixels = 256 * 256;

void InitOnce() {
  static const bool done = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    cv::setNumThreads(0);  // no pool threads: one input, one thread
    return true;
  }();
  (void)done;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  InitOnce();
  namespace common = explainer::common;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);

  const absl::StatusOr<common::ImageHeader> header = common::ReadImageHeader(bytes);
  if (!header.ok()) {
    EXPLAINER_FUZZ_CHECK(header.status().code() == absl::StatusCode::kInvalidArgument,
                         "ReadImageHeader fails only with InvalidArgument");
  }

  common::DecodeOptions options;
  options.max_pixels = kMaxPixels;
  const absl::StatusOr<cv::Mat> image = common::DecodeImage(bytes, options);
  if (!image.ok()) {
    const absl::StatusCode code = image.status().code();
    EXPLAINER_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                             code == absl::StatusCode::kResourceExhausted,
                         "DecodeImage fails only with InvalidArgument/ResourceExhausted");
    EXPLAINER_FUZZ_CHECK(!image.status().message().empty(), "errors say what was wrong");
    return 0;
  }
  EXPLAINER_FUZZ_CHECK(!image->empty() && image->type() == CV_8UC3,
                       "a decoded image is non-empty CV_8UC3");
  EXPLAINER_FUZZ_CHECK(static_cast<int64_t>(image->total()) <= kMaxPixels,
                       "a decoded image is within max_pixels");
  // Decoding an image whose header cannot be read would bypass the pixel limit,
  // which is checked on the header; EXIF orientation may swap width and height.
  EXPLAINER_FUZZ_CHECK(header.ok(), "what decodes has a readable header");
  const bool same = image->cols == header->width && image->rows == header->height;
  const bool swapped = image->cols == header->height && image->rows == header->width;
  EXPLAINER_FUZZ_CHECK(same || swapped, "the decoded size is the header's size");
  return 0;
}
