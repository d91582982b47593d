// ReadImageHeader: sizes from headers alone, in every format and byte order.
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "common/image_decode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadFileOrFail;
using ::explainer::testing::StatusIs;
using ::testing::HasSubstr;

std::string Le16(uint32_t v) { return {char(v & 0xFF), char((v >> 8) & 0xFF)}; }
std::string Le32(uint32_t v) { return Le16(v & 0xFFFF) + Le16(v >> 16); }
std::string Be16(uint32_t v) { return {char((v >> 8) & 0xFF), char(v & 0xFF)}; }
std::string Be32(uint32_t v) { return Be16(v >> 16) + Be16(v & 0xFFFF); }

std::string PngHeader(uint32_t width, uint32_t height) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + Be32(13) + "IHDR" + Be32(width) + Be32(height) +
         std::string("\x08\x02\x00\x00\x00", 5) + Be32(0);
}

// BITMAPFILEHEADER + BITMAPINFOHEADER prefix with a signed height.
std::string BmpInfoHeader(int32_t width, int32_t height) {
  return "BM" + Le32(0) + Le32(0) + Le32(54) + Le32(40) + Le32(static_cast<uint32_t>(width)) +
         Le32(static_cast<uint32_t>(height)) + Le16(1) + Le16(24);
}

struct HeaderCase {
  const char* file;
  ImageFormat format;
  int width;
  int height;
};

void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.file; }

class FixtureHeaderTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(FixtureHeaderTest, ReadsFormatAndSize) {
  const HeaderCase& c = GetParam();
  const absl::StatusOr<ImageHeader> header =
      ReadImageHeader(ReadFileOrFail(CommonData(std::string("images/") + c.file)));
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->format, c.format);
  EXPECT_EQ(header->width, c.width);
  EXPECT_EQ(header->height, c.height);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, FixtureHeaderTest,
    ::testing::Values(HeaderCase{"rgb.png", ImageFormat::kPng, 12, 9},
                      HeaderCase{"gray16.png", ImageFormat::kPng, 12, 9},
                      HeaderCase{"quad.jpg", ImageFormat::kJpeg, 48, 32},
                      HeaderCase{"quad_progressive.jpg", ImageFormat::kJpeg, 48, 32},
                      // Stored size: EXIF orientation is not applied to the header.
                      HeaderCase{"quad_exif6.jpg", ImageFormat::kJpeg, 48, 32},
                      HeaderCase{"rgb.bmp", ImageFormat::kBmp, 12, 9},
                      HeaderCase{"rgb.tif", ImageFormat::kTiff, 12, 9},
                      HeaderCase{"rgb_big_endian.tif", ImageFormat::kTiff, 12, 9},
                      HeaderCase{"rgb_lossless.webp", ImageFormat::kWebp, 12, 9},
                      HeaderCase{"quad_lossy.webp", ImageFormat::kWebp, 48, 32},
                      HeaderCase{"rgb_exif6.webp", ImageFormat::kWebp, 12, 9},
                      HeaderCase{"huge_header.png", ImageFormat::kPng, 100000, 100000}));

TEST(ImageHeaderTest, BmpTopDownHeightIsPositive) {
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(BmpInfoHeader(640, -480));
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->width, 640);
  EXPECT_EQ(header->height, 480);
}

TEST(ImageHeaderTest, BmpCoreHeader) {
  const std::string bytes =
      "BM" + Le32(0) + Le32(0) + Le32(26) + Le32(12) + Le16(300) + Le16(200) + Le16(1) + Le16(24);
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->width, 300);
  EXPECT_EQ(header->height, 200);
}

TEST(ImageHeaderTest, LittleEndianTiffWithShortAndLongTags) {
  // Two entries: ImageWidth LONG 70000, ImageLength SHORT 3.
  const std::string bytes = std::string("II*\0", 4) + Le32(8) + Le16(2) + Le16(256) + Le16(4) +
                            Le32(1) + Le32(70000) + Le16(257) + Le16(3) + Le32(1) + Le16(3) +
                            Le16(0) + Le32(0);
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->width, 70000);
  EXPECT_EQ(header->height, 3);
}

TEST(ImageHeaderTest, BigEndianTiffShortValueIsLeftJustified) {
  const std::string bytes = std::string("MM\0*", 4) + Be32(8) + Be16(2) + Be16(256) + Be16(3) +
                            Be32(1) + Be16(513) + Be16(0) + Be16(257) + Be16(4) + Be32(1) +
                            Be32(77) + Be32(0);
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->width, 513);
  EXPECT_EQ(header->height, 77);
}

void ExpectInvalid(const std::string& bytes, const std::string& message) {
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_THAT(header, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)));
}

TEST(ImageHeaderTest, RejectsEmptyUnknownAndTruncatedHeaders) {
  ExpectInvalid("", "image is empty (0 bytes)");
  ExpectInvalid("GIF89a....",
                "not a supported image (10 bytes, no JPEG, PNG, BMP, TIFF, WebP or DICOM signature)");
  ExpectInvalid(std::string("\xFF\xD8\xFF\xE0\x00", 5),
                "truncated or corrupt JPEG: header incomplete (5 bytes)");
  ExpectInvalid(PngHeader(10, 10).substr(0, 20),
                "truncated or corrupt PNG: header incomplete (20 bytes)");
  ExpectInvalid("BMW is a car", "truncated or corrupt BMP: header incomplete (12 bytes)");
  ExpectInvalid(std::string("II*\0", 4) + Le32(4000),
                "truncated or corrupt TIFF: header incomplete (8 bytes)");
  ExpectInvalid("RIFF" + Le32(100) + "WEBPVP8 ", "truncated or corrupt WebP: header incomplete");
}

TEST(ImageHeaderTest, RejectsInvalidSizesAndVariants) {
  ExpectInvalid(PngHeader(0, 5), "PNG header declares an invalid size 0x5");
  ExpectInvalid(PngHeader(0x80000000u, 5), "PNG header declares an invalid size 2147483648x5");
  ExpectInvalid(std::string("II+\0", 4) + Le32(8), "BigTIFF is not supported");
  // A baseline frame header with height 0 (size announced later by DNL).
  ExpectInvalid(std::string("\xFF\xD8\xFF\xC0", 4) + Be16(11) + "\x08" + Be16(0) + Be16(64) +
                    std::string("\x01\x01\x11\x00", 4),
                "height 0");
  ExpectInvalid(std::string("\xFF\xD8\xFF\xE0\x00\x01", 6) + std::string(10, 'x'),
                "truncated or corrupt JPEG: segment length 1 at byte 4");
  ExpectInvalid("RIFF" + Le32(100) + "WEBPVP9 " + std::string(20, '\0'),
                "truncated or corrupt WebP: unknown first chunk \"VP9 \"");
  ExpectInvalid(std::string("MM\0*", 4) + Be32(8) + Be16(1) + Be16(256) + Be16(3) + Be32(1) +
                    Be32(0) + Be32(0),
                "truncated or corrupt TIFF: first IFD lacks ImageWidth or ImageLength");
}

}  // namespace
}  // namespace explainer::common
