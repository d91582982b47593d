// Encoding results for the wire and for files: PNG images and NumPy .npy arrays.
#ifndef EXPLAINER_COMMON_IMAGE_ENCODE_H_
#define EXPLAINER_COMMON_IMAGE_ENCODE_H_

#include <string>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace explainer::common {

// PNG compression. kPngFast is OpenCV's speed-tuned setting (SUB filter, zlib level
// 1, RLE strategy): the fastest encode that still compresses. 0..9 are zlib levels with
// libpng's adaptive filters: 0 stores (fast, about twice the size), 9 is smallest and
// several times slower.
inline constexpr int kPngFast = -1;

// PNG bytes of a CV_8UC1 (gray) or CV_8UC3 (RGB, not BGR) image. InvalidArgument for
// another type or a compression outside kPngFast, 0..9.
absl::StatusOr<std::string> EncodePng(const cv::Mat& image, int compression = kPngFast);

// NumPy .npy (format 1.0, little-endian '<f4', C order) of a CV_32FC1 matrix.
absl::StatusOr<std::string> EncodeNpyFloat32(const cv::Mat& values);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_IMAGE_ENCODE_H_
