// DecodeImage: every format to RGB8, EXIF orientation, limits and bad inputs.
#include "common/image_decode.h"

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/common/fixture_patterns.h"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::BlocksRgb;
using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::OrientedByFormula;
using ::explainer::testing::PatternRgb;
using ::explainer::testing::ReadFileOrFail;
using ::explainer::testing::StatusIs;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return ReadFileOrFail(CommonData("images/" + name));
}

absl::StatusOr<cv::Mat> DecodeFixture(const std::string& name, const DecodeOptions& options = {}) {
  return DecodeImage(Fixture(name), options);
}

// Exact equality of two CV_8UC3 images, with the first differing pixel on failure.
::testing::AssertionResult SameImage(const cv::Mat& actual, const cv::Mat& expected) {
  if (actual.type() != CV_8UC3 || actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "got " << actual.cols << "x" << actual.rows << " type " << actual.type()
           << ", expected " << expected.cols << "x" << expected.rows;
  }
  for (int y = 0; y < actual.rows; ++y) {
    for (int x = 0; x < actual.cols; ++x) {
      if (actual.at<cv::Vec3b>(y, x) != expected.at<cv::Vec3b>(y, x)) {
        return ::testing::AssertionFailure()
               << "pixel (" << x << ", " << y << ") is " << actual.at<cv::Vec3b>(y, x)
               << ", expected " << expected.at<cv::Vec3b>(y, x);
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Lossy files: the centre of every flat 16x16 block within `tolerance` per channel.
::testing::AssertionResult SameBlocks(const cv::Mat& actual, const cv::Mat& expected,
                                      int tolerance) {
  if (actual.type() != CV_8UC3 || actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << "got " << actual.cols << "x" << actual.rows
                                         << ", expected " << expected.cols << "x" << expected.rows;
  }
  for (int y = 8; y < actual.rows; y += 16) {
    for (int x = 8; x < actual.cols; x += 16) {
      const cv::Vec3b a = actual.at<cv::Vec3b>(y, x);
      const cv::Vec3b e = expected.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {
        if (std::abs(a[c] - e[c]) > tolerance) {
          return ::testing::AssertionFailure()
                 << "block centre (" << x << ", " << y << ") is " << a << ", expected " << e;
        }
      }
    }
  }
  return ::testing::AssertionSuccess();
}

class LosslessDecodeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LosslessDecodeTest, DecodesThePatternExactly) {
  const absl::StatusOr<cv::Mat> image = DecodeFixture(GetParam());
  ASSERT_THAT(image, IsOk());
  EXPECT_TRUE(SameImage(*image, PatternRgb()));
}

INSTANTIATE_TEST_SUITE_P(Formats, LosslessDecodeTest,
                         ::testing::Values("rgb.png", "rgba.png", "rgb.bmp", "rgb.tif",
                                           "rgb_lzw.tif", "rgb_big_endian.tif",
                                           "rgb_lossless.webp"));

TEST(DecodeImageTest, GrayBecomesThreeEqualChannels) {
  const absl::StatusOr<cv::Mat> image = DecodeFixture("gray.png");
  ASSERT_THAT(image, IsOk());
  EXPECT_TRUE(SameImage(*image, testing::GrayPatternAsRgb()));
}

TEST(DecodeImageTest, SixteenBitKeepsTheHighByte) {
  const absl::StatusOr<cv::Mat> gray = DecodeFixture("gray16.png");
  ASSERT_THAT(gray, IsOk());
  EXPECT_TRUE(SameImage(*gray, testing::Gray16PatternAsRgb()));
  const absl::StatusOr<cv::Mat> rgb = DecodeFixture("rgb16.png");
  ASSERT_THAT(rgb, IsOk());
  EXPECT_TRUE(SameImage(*rgb, testing::Rgb16PatternAsRgb()));
}

TEST(DecodeImageTest, LossyFormatsKeepBlockColoursInRgbOrder) {
  for (const char* name : {"quad.jpg", "quad_progressive.jpg", "quad_lossy.webp"}) {
    const absl::StatusOr<cv::Mat> image = DecodeFixture(name);
    ASSERT_THAT(image, IsOk()) << name;
    EXPECT_TRUE(SameBlocks(*image, BlocksRgb(), 12)) << name;
  }
}

TEST(DecodeImageTest, JpegExifOrientationIsApplied) {
  // OpenCV 4.6's imdecode applies it itself; this pins that behaviour down.
  for (const int orientation : {6, 8}) {
    const std::string name = "quad_exif" + std::to_string(orientation) + ".jpg";
    const absl::StatusOr<cv::Mat> image = DecodeFixture(name);
    ASSERT_THAT(image, IsOk()) << name;
    EXPECT_EQ(image->cols, 32) << name;
    EXPECT_EQ(image->rows, 48) << name;
    EXPECT_TRUE(SameBlocks(*image, OrientedByFormula(BlocksRgb(), orientation), 12)) << name;
  }
}

TEST(DecodeImageTest, PngExifOrientationIsApplied) {
  const absl::StatusOr<cv::Mat> image = DecodeFixture("rgb_exif6.png");
  ASSERT_THAT(image, IsOk());
  EXPECT_TRUE(SameImage(*image, OrientedByFormula(PatternRgb(), 6)));
}

class WebpOrientationTest : public ::testing::TestWithParam<int> {};

TEST_P(WebpOrientationTest, MatchesPilExifTranspose) {
  // imdecode ignores WebP EXIF; we apply it (make_fixtures.py checked these files
  // against PIL's ImageOps.exif_transpose, which labelme uses).
  const int orientation = GetParam();
  const absl::StatusOr<cv::Mat> image =
      DecodeFixture("rgb_exif" + std::to_string(orientation) + ".webp");
  ASSERT_THAT(image, IsOk());
  EXPECT_TRUE(SameImage(*image, OrientedByFormula(PatternRgb(), orientation)));
}

INSTANTIATE_TEST_SUITE_P(Orientations, WebpOrientationTest, ::testing::Range(2, 9));

TEST(DecodeImageTest, BytesAfterJpegEndAreAllowed) {
  const absl::StatusOr<cv::Mat> image = DecodeFixture("trailing_data.jpg");
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ(image->size(), cv::Size(64, 48));
}

TEST(DecodeImageTest, PixelLimitIsInclusive) {
  DecodeOptions options;
  options.max_pixels = 12 * 9;
  EXPECT_THAT(DecodeFixture("rgb.png", options), IsOk());
  options.max_pixels = 12 * 9 - 1;
  const absl::StatusOr<cv::Mat> image = DecodeFixture("rgb.png", options);
  ASSERT_THAT(image, StatusIs(absl::StatusCode::kResourceExhausted,
                              "image is 12x9 = 108 pixels, over the limit of 107"));
}

struct BadInput {
  const char* name;
  absl::StatusCode code;
  const char* message;
};

void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, FailsWithAClearMessage) {
  const BadInput& c = GetParam();
  const absl::StatusOr<cv::Mat> image = DecodeFixture(c.name);
  ASSERT_FALSE(image.ok()) << c.name;
  EXPECT_EQ(image.status().code(), c.code) << image.status();
  EXPECT_THAT(image.status().message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BadInputTest,
    ::testing::Values(
        BadInput{"huge_header.png", absl::StatusCode::kResourceExhausted,
                 "image is 100000x100000 = 10000000000 pixels, over the limit of 67108864"},
        BadInput{"text_as.png", absl::StatusCode::kInvalidArgument,
                 "not a supported image (43 bytes, no JPEG, PNG, BMP, TIFF, WebP or DICOM "
                 "signature)"},
        BadInput{"truncated.jpg", absl::StatusCode::kInvalidArgument,
                 "truncated or corrupt JPEG: no end-of-image marker (FF D9)"},
        BadInput{"truncated_eoi_in_comment.jpg", absl::StatusCode::kInvalidArgument,
                 "truncated or corrupt JPEG: no end-of-image marker (FF D9)"},
        BadInput{"truncated.png", absl::StatusCode::kInvalidArgument,
                 "truncated or corrupt PNG: no IEND chunk"},
        BadInput{"truncated.webp", absl::StatusCode::kInvalidArgument,
                 "truncated or corrupt WebP: RIFF size says"},
        BadInput{"truncated.bmp", absl::StatusCode::kInvalidArgument,
                 "truncated or corrupt BMP: decoder failed"},
        BadInput{"truncated.tif", absl::StatusCode::kInvalidArgument,
                 "truncated or corrupt TIFF: decoder failed"}));

// Little-endian TIFF whose only IFD lists `entries` (tag, type, value), then 100
// bytes of 8-bit gray strip data.
std::string TiffWithEntries(const std::vector<std::array<uint32_t, 3>>& entries) {
  auto le16 = [](uint32_t v) { return std::string{char(v & 0xFF), char((v >> 8) & 0xFF)}; };
  auto le32 = [&](uint32_t v) { return le16(v & 0xFFFF) + le16(v >> 16); };
  const uint32_t data_offset = 8 + 2 + 12 * static_cast<uint32_t>(entries.size()) + 4;
  std::string tiff = std::string("II*\0", 4) + le32(8) + le16(entries.size());
  for (const auto& [tag, type, value] : entries) {
    const uint32_t v = tag == 273 ? data_offset : value;  // StripOffsets
    tiff += le16(tag) + le16(type) + le32(1) + (type == 3 ? le16(v) + le16(0) : le32(v));
  }
  return tiff + le32(0) + std::string(100, '\x80');
}

// The bypass: ImageWidth/ImageLength twice, 20000 first, then 10. The header
// check kept the last (10x10, under the limit) while libtiff decodes with the first.
TEST(DecodeImageTest, TiffWithARepeatedSizeTagIsCorrupt) {
  constexpr uint32_t kShort = 3, kLong = 4;
  const std::vector<std::array<uint32_t, 3>> common_tags = {
      {258, kShort, 8}, {259, kShort, 1}, {262, kShort, 1}, {273, kLong, 0},
      {277, kShort, 1}, {278, kLong, 10}, {279, kLong, 100}};
  std::vector<std::array<uint32_t, 3>> twice = {
      {256, kLong, 20000}, {257, kLong, 20000}, {256, kShort, 10}, {257, kShort, 10}};
  twice.insert(twice.end(), common_tags.begin(), common_tags.end());
  const absl::StatusOr<cv::Mat> image = DecodeImage(TiffWithEntries(twice));
  ASSERT_THAT(image,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "truncated or corrupt TIFF: first IFD holds ImageWidth (tag 256) twice"));

  // The same file with each size once decodes (so the builder above is a real TIFF).
  std::vector<std::array<uint32_t, 3>> once = {{256, kShort, 10}, {257, kShort, 10}};
  once.insert(once.end(), common_tags.begin(), common_tags.end());
  const absl::StatusOr<cv::Mat> good = DecodeImage(TiffWithEntries(once));
  ASSERT_THAT(good, IsOk());
  EXPECT_EQ(good->size(), cv::Size(10, 10));
}

TEST(DecodeImageTest, EmptyBytes) {
  const absl::StatusOr<cv::Mat> image = DecodeImage("");
  ASSERT_THAT(image, StatusIs(absl::StatusCode::kInvalidArgument, "image is empty (0 bytes)"));
}

TEST(DecodeImageTest, OversizedHeaderIsRejectedBeforeDecoding) {
  // The example: a 20000x20000 PNG header followed by nothing at all.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x4e\x20\0\0\x4e\x20\x08\x02\0\0\0", 29);
  const absl::StatusOr<cv::Mat> image = DecodeImage(png);
  ASSERT_THAT(image,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "image is 20000x20000 = 400000000 pixels, over the limit of 67108864"));
}

TEST(DecodeImageTest, StructurallyCompleteButCorruptJpeg) {
  // SOI, a frame header, a scan header and garbage, then EOI: the walk passes and
  // libjpeg must refuse (no quantisation or Huffman tables).
  std::string jpeg("\xFF\xD8", 2);
  jpeg += std::string("\xFF\xC0\x00\x0B\x08\x00\x10\x00\x10\x01\x01\x11\x00", 13);
  jpeg += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  jpeg += std::string(64, '\x5A');
  jpeg += std::string("\xFF\xD9", 2);
  const absl::StatusOr<cv::Mat> image = DecodeImage(jpeg);
  ASSERT_THAT(image,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "truncated or corrupt JPEG: Quantization table 0x00 was not defined"));
}

// A JPEG of noise (so that its scan is long), as OpenCV encodes it.
std::string NoiseJpeg(int width, int height) {
  cv::Mat noise(height, width, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(256));
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(".jpg", noise, bytes));
  return std::string(bytes.begin(), bytes.end());
}

// Where the first scan's entropy-coded data starts (after the SOS segment).
size_t ScanDataStart(const std::string& jpeg) {
  const size_t sos = jpeg.find("\xFF\xDA");
  EXPECT_NE(sos, std::string::npos);
  return sos + 2 +
         ((static_cast<uint8_t>(jpeg[sos + 2]) << 8) | static_cast<uint8_t>(jpeg[sos + 3]));
}

// The first file: cut in the middle of its scan, FF D9 put back on the end.
// Every marker is in place, and OpenCV's imdecode (libjpeg only warns) returned the
// image with its lower half gray.
TEST(DecodeImageTest, JpegCutInTheMiddleOfItsScanIsTruncated) {
  const std::string whole = NoiseJpeg(256, 256);
  ASSERT_THAT(DecodeImage(whole), IsOk());
  const size_t data = ScanDataStart(whole);
  std::string cut = whole.substr(0, data + (whole.size() - data) / 2);
  if (cut.back() == '\xFF') cut.pop_back();  // not half a stuffed byte
  cut += std::string("\xFF\xD9", 2);
  const absl::StatusOr<cv::Mat> image = DecodeImage(cut);
  ASSERT_THAT(image, StatusIs(absl::StatusCode::kInvalidArgument,
                              "truncated or corrupt JPEG: premature end of data segment"));
}

// The second file: a few hundred bytes whose frame header says 8192 x 8192
// (within the pixel limit) decoded into 200 MB of gray.
TEST(DecodeImageTest, JpegWhoseFrameIsFarLargerThanItsDataIsCorrupt) {
  std::string jpeg = NoiseJpeg(8, 8);
  ASSERT_LT(jpeg.size(), 1000u);
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg.replace(sof + 5, 4, std::string("\x20\x00\x20\x00", 4));  // height, width 8192
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(jpeg);
  ASSERT_THAT(header, IsOk());
  ASSERT_EQ(header->width, 8192);
  const absl::StatusOr<cv::Mat> image = DecodeImage(jpeg);
  ASSERT_THAT(image, StatusIs(absl::StatusCode::kInvalidArgument,
                              "truncated or corrupt JPEG: premature end of data segment"));
}

TEST(DecodeImageTest, CorruptPngDataWithCompleteStructure) {
  // Every chunk is present (the IEND walk passes), but IDAT's bytes are damaged.
  std::string png = Fixture("rgb.png");
  const size_t idat = png.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  png[idat + 6] ^= 0x5A;
  png[idat + 7] ^= 0xA5;
  const absl::StatusOr<cv::Mat> image = DecodeImage(png);
  ASSERT_THAT(image, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("truncated or corrupt PNG: decoder failed")));
}

TEST(DecodeImageTest, NonPositiveLimitIsAnError) {
  DecodeOptions options;
  options.max_pixels = 0;
  const absl::StatusOr<cv::Mat> image = DecodeFixture("rgb.png", options);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.status().message(), HasSubstr("DecodeOptions.max_pixels must be positive"));
}

}  // namespace
}  // namespace explainer::common
