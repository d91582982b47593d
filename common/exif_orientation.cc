// EXIF Orientation tag reading and the matching flips and rotations.
#include "common/exif_orientation.h"

#include <cstdint>

#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common::internal {

int ExifOrientation(absl::string_view b) {
  if (b.size() < 8) return 1;
  const bool big_endian = b.substr(0, 4) == absl::string_view("MM\0*", 4);
  if (!big_endian && b.substr(0, 4) != absl::string_view("II*\0", 4)) return 1;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(b[i])); };
  auto u16 = [&](size_t i) {
    return big_endian ? (byte(i) << 8) | byte(i + 1) : byte(i) | (byte(i + 1) << 8);
  };
  auto u32 = [&](size_t i) {
    return big_endian ? (u16(i) << 16) | u16(i + 2) : u16(i) | (u16(i + 2) << 16);
  };
  const uint64_t ifd = u32(4);
  if (ifd + 2 > b.size()) return 1;
  const uint32_t count = u16(ifd);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t entry = ifd + 2 + 12ULL * i;
    if (entry + 12 > b.size()) return 1;
    if (u16(entry) != 0x0112) continue;
    if (u16(entry + 2) != 3) return 1;  // must be SHORT
    const int value = static_cast<int>(u16(entry + 8));
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

cv::Mat ApplyExifOrientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      break;
    case 3:
      cv::rotate(image, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(image, out, 0);
      break;
    case 5:
      cv::transpose(image, out);
      break;
    case 6:
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(image, out);
      cv::rotate(out, out, cv::ROTATE_180);
      break;
    case 8:
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      return image;
  }
  return out;
}

}  // namespace explainer::common::internal
