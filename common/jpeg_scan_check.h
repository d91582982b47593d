// Internal: makes libjpeg's warnings about the entropy-coded data count. OpenCV's
// imdecode ignores them, so a JPEG cut in the middle of its scan (with FF D9 put back
// on the end) or one whose frame header claims far more pixels than its data holds
// decodes "successfully" into gray filler.
#ifndef EXPLAINER_COMMON_JPEG_SCAN_CHECK_H_
#define EXPLAINER_COMMON_JPEG_SCAN_CHECK_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common::internal {

// Decodes every scan of the JPEG at 1/8 scale (the entropy decoder still reads every
// coefficient; only the inverse DCT is cheap) and fails on the first sign that the
// coded data is short or damaged: premature end of a data segment or of the file,
// bad Huffman codes, lost restart markers, inconsistent progression.
// InvalidArgument "truncated or corrupt JPEG: <what libjpeg saw>". Warnings about
// metadata only (e.g. an unknown JFIF version, stray bytes between segments) pass.
absl::Status CheckJpegScan(absl::string_view bytes);

// The check and the decode in one pass, for the JPEGs whose pixels OpenCV's imdecode
// would give exactly: the same libjpeg settings (its defaults: islow DCT, fancy
// upsampling) with RGB out instead of BGR, DCT-scaled by 1/`scale` (1, 2, 4 or 8) as
// IMREAD_REDUCED_COLOR_N. Saves the check's entropy-decoding pass and the colour swap.
// Fails as CheckJpegScan does. nullopt (nothing decoded) for the JPEGs left to the
// check + imdecode path: 4-component (CMYK/YCCK, which OpenCV converts itself), an
// EXIF APP1 segment (imdecode applies its orientation), no Huffman tables at all
// (motion-JPEG frames, for which OpenCV loads the standard tables). `header_size`: the
// size ReadImageHeader found (and the pixel limit was checked on); InvalidArgument,
// before any allocation, when libjpeg reads another.
absl::StatusOr<std::optional<cv::Mat>> DecodeJpegChecked(absl::string_view bytes, int scale,
                                                          cv::Size header_size);

}  // namespace explainer::common::internal

#endif  // EXPLAINER_COMMON_JPEG_SCAN_CHECK_H_
