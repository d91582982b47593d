// PNG and .npy encoders for results.
#include "common/image_encode.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::common {

absl::StatusOr<std::string> EncodePng(const cv::Mat& image, int compression) {
  if (compression != kPngFast && (compression < 0 || compression > 9)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PNG compression must be %d (fast) or a zlib level 0..9, got %d", kPngFast, compression));
  }
  if (image.empty() || (image.type() != CV_8UC1 && image.type() != CV_8UC3)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PNG encoding needs a non-empty CV_8UC1 or CV_8UC3 image, got %dx%d of type %d", image.cols,
        image.rows, image.type()));
  }
  // imencode wants BGR. Into a new Mat: converting into a copy of `image`'s header
  // would swap the caller's channels in place (they share the pixels).
  cv::Mat for_opencv;
  if (image.channels() == 3) {
    cv::cvtColor(image, for_opencv, cv::COLOR_RGB2BGR);
  } else {
    for_opencv = image;
  }
  std::vector<uint8_t> buffer;
  try {
    // No parameter at all selects OpenCV's speed-tuned setting; naming a level also
    // switches libpng to its adaptive filters.
    std::vector<int> params;
    if (compression != kPngFast) params = {cv::IMWRITE_PNG_COMPRESSION, compression};
    if (!cv::imencode(".png", for_opencv, buffer, params)) {
      return absl::InternalError("cv::imencode(.png) failed");
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrFormat("cv::imencode(.png) failed: %s", e.err));
  }
  return std::string(buffer.begin(), buffer.end());
}

absl::StatusOr<std::string> EncodeNpyFloat32(const cv::Mat& values) {
  if (values.empty() || values.type() != CV_32FC1) {
    return absl::InvalidArgumentError(
        absl::StrFormat(".npy encoding needs a non-empty CV_32FC1 matrix, got %dx%d of type %d",
                        values.cols, values.rows, values.type()));
  }
  // The header NumPy 1.24's np.save writes: the dict, room for the first axis to grow
  // to 21 digits, spaces so that magic + length + header is a multiple of 64 (NumPy
  // adds a full 64 when it already is one), and a newline.
  std::string dict = absl::StrFormat(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", values.rows, values.cols);
  const std::string first_axis = std::to_string(values.rows);
  dict.append(21 - first_axis.size(), ' ');
  constexpr size_t kPrefix = 10;  // magic (6), version (2), header length (2)
  const size_t padding = 64 - (kPrefix + dict.size() + 1) % 64;
  dict.append(padding, ' ');
  dict += '\n';

  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  out += dict;
  const size_t header_size = out.size();
  out.resize(header_size + values.total() * sizeof(float));
  char* data = out.data() + header_size;
  const size_t row_bytes = static_cast<size_t>(values.cols) * sizeof(float);
  for (int y = 0; y < values.rows; ++y) {
    // x86 and ARM are little-endian, as '<f4' says.
    std::memcpy(data + y * row_bytes, values.ptr<float>(y), row_bytes);
  }
  return out;
}

}  // namespace explainer::common
