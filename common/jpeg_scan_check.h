// Internal: makes libjpeg's warnings about the entropy-coded data count. OpenCV's
// imdecode ignores them, so a JPEG cut in the middle of its scan (with FF D9 put back
// on the end) or one whose frame header claims far more pixels than its data holds
// decodes "successfully" into gray filler.
#ifndef EXPLAINER_COMMON_JPEG_SCAN_CHECK_H_
#define EXPLAINER_COMMON_JPEG_SCAN_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace explainer::common::internal {

// Decodes every scan of the JPEG at 1/8 scale (the entropy decoder still reads every
// coefficient; only the inverse DCT is cheap) and fails on the first sign that the
// coded data is short or damaged: premature end of a data segment or of the file,
// bad Huffman codes, lost restart markers, inconsistent progression.
// InvalidArgument "truncated or corrupt JPEG: <what libjpeg saw>". Warnings about
// metadata only (e.g. an unknown JFIF version, stray bytes between segments) pass.
absl::Status CheckJpegScan(absl::string_view bytes);

}  // namespace explainer::common::internal

#endif  // EXPLAINER_COMMON_JPEG_SCAN_CHECK_H_
