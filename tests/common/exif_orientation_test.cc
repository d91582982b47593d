// Internal EXIF helpers: Orientation tag parsing and the eight transforms.
#include "common/exif_orientation.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "tests/common/fixture_patterns.h"

namespace explainer::common::internal {
namespace {

// A TIFF-structured block with one IFD0 entry (tag, type, value).
std::string Block(bool big_endian, uint16_t tag, uint16_t type, uint16_t value) {
  auto u16 = [&](uint16_t v) {
    return big_endian ? std::string{char(v >> 8), char(v & 0xFF)}
                      : std::string{char(v & 0xFF), char(v >> 8)};
  };
  auto u32 = [&](uint32_t v) {
    return big_endian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16);
  };
  const std::string magic = big_endian ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  return magic + u32(8) + u16(1) + u16(tag) + u16(type) + u32(1) + u16(value) + u16(0) + u32(0);
}

TEST(ExifOrientationTest, ReadsTheTagInBothByteOrders) {
  EXPECT_EQ(ExifOrientation(Block(false, 0x0112, 3, 6)), 6);
  EXPECT_EQ(ExifOrientation(Block(true, 0x0112, 3, 8)), 8);
}

TEST(ExifOrientationTest, BrokenOrMissingMetadataMeansUpright) {
  EXPECT_EQ(ExifOrientation(""), 1);
  EXPECT_EQ(ExifOrientation("not exif at all"), 1);
  EXPECT_EQ(ExifOrientation(Block(false, 0x0110, 3, 6)), 1);                // another tag
  EXPECT_EQ(ExifOrientation(Block(false, 0x0112, 4, 6)), 1);                // not SHORT
  EXPECT_EQ(ExifOrientation(Block(false, 0x0112, 3, 9)), 1);                // out of range
  EXPECT_EQ(ExifOrientation(Block(false, 0x0112, 3, 6).substr(0, 15)), 1);  // cut
}

TEST(ExifOrientationTest, TransformsMatchTheCoordinateMaps) {
  const cv::Mat image = testing::PatternRgb();
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const cv::Mat actual = ApplyExifOrientation(image, orientation);
    const cv::Mat expected = testing::OrientedByFormula(image, orientation);
    ASSERT_EQ(actual.size(), expected.size()) << orientation;
    EXPECT_EQ(cv::countNonZero(actual.reshape(1) != expected.reshape(1)), 0) << orientation;
  }
}

}  // namespace
}  // namespace explainer::common::internal
