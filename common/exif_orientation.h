// Internal: EXIF orientation for containers whose orientation OpenCV 4.6's imdecode
// ignores (WebP). JPEG, PNG (eXIf) and TIFF are oriented by imdecode itself.
#ifndef EXPLAINER_COMMON_EXIF_ORIENTATION_H_
#define EXPLAINER_COMMON_EXIF_ORIENTATION_H_

#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common::internal {

// The Orientation tag (0x0112, 1-8) of IFD0 in a TIFF-structured EXIF block
// ("II*\0..." or "MM\0*..."). 1 (as stored) when absent, out of range or unreadable:
// broken metadata never fails a decode, as in PIL's exif_transpose.
int ExifOrientation(absl::string_view tiff_block);

// Turns an image stored with `orientation` upright, as PIL's ImageOps.exif_transpose
// does (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
// 7 transverse, 8 rotate 90 counter-clockwise). Other values return the input.
cv::Mat ApplyExifOrientation(const cv::Mat& image, int orientation);

}  // namespace explainer::common::internal

#endif  // EXPLAINER_COMMON_EXIF_ORIENTATION_H_
