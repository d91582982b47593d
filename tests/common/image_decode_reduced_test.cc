// DecodeImageReduced (--decode=fast): which JPEGs are reduced and by how much, the full
// size it reports (EXIF orientation included), and how close the reduced pixels stay to
// a full decode averaged down to the same size. Other formats decode exactly.
#include <string>
#include <vector>

#include "common/image_decode.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadFileOrFail;

// A smooth radiograph-like gray film with grain, as a quality-95 JPEG.
std::string FilmJpeg(int width, int height) {
  cv::Mat film(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      film.at<uint8_t>(y, x) = static_cast<uint8_t>(60 + 120 * x / width + 40 * y / height);
    }
  }
  cv::Mat grain(height, width, CV_8UC1);
  cv::RNG(7).fill(grain, cv::RNG::NORMAL, 0, 6);
  film += grain;
  std::vector<uchar> bytes;
  cv::imencode(".jpeg", film, bytes, {cv::IMWRITE_JPEG_QUALITY, 95});
  return std::string(bytes.begin(), bytes.end());
}

TEST(DecodeImageReducedTest, BigJpegIsReducedToTheSmallestScaleThatCoversMinSide) {
  const std::string jpeg = FilmJpeg(1001, 1800);
  for (const auto& [min_side, scale] :
       {std::pair{224, 4}, std::pair{100, 8}, std::pair{300, 2}, std::pair{600, 1},
        std::pair{0, 1}}) {
    absl::StatusOr<DecodedImage> decoded = DecodeImageReduced(jpeg, min_side);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(decoded->scale, scale) << min_side;
    EXPECT_EQ(decoded->full_size, cv::Size(1001, 1800));
    // libjpeg rounds up: 1001 / 4 -> 251.
    EXPECT_EQ(decoded->rgb.size(), cv::Size((1001 + scale - 1) / scale, (1800 + scale - 1) / scale));
    EXPECT_EQ(decoded->rgb.type(), CV_8UC3);
  }
}

TEST(DecodeImageReducedTest, ReducedPixelsStayCloseToAFullDecodeAveragedDown) {
  const std::string jpeg = FilmJpeg(1600, 1200);
  absl::StatusOr<cv::Mat> full = DecodeImage(jpeg);
  absl::StatusOr<DecodedImage> reduced = DecodeImageReduced(jpeg, 224);
  ASSERT_TRUE(full.ok() && reduced.ok());
  ASSERT_EQ(reduced->scale, 4);
  cv::Mat averaged;
  cv::resize(*full, averaged, reduced->rgb.size(), 0, 0, cv::INTER_AREA);
  cv::Mat diff;
  cv::absdiff(averaged, reduced->rgb, diff);
  // DCT scaling is a block average up to rounding and the JPEG's own loss.
  EXPECT_LT(cv::mean(diff)[0], 1.0);
  double worst = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
  EXPECT_LE(worst, 8);
}

TEST(DecodeImageReducedTest, ExifOrientationAndFullSizeFollowTheOrientedFrame) {
  // quad_exif6.jpg is stored 48x32 and shown 32x48.
  const std::string jpeg = ReadFileOrFail(CommonData("images/quad_exif6.jpg"));
  absl::StatusOr<DecodedImage> reduced = DecodeImageReduced(jpeg, 8);
  ASSERT_THAT(reduced, IsOk());
  EXPECT_EQ(reduced->scale, 4);
  EXPECT_EQ(reduced->full_size, cv::Size(32, 48));
  EXPECT_EQ(reduced->rgb.size(), cv::Size(8, 12));
}

TEST(DecodeImageReducedTest, OtherFormatsAndSmallJpegsDecodeExactly) {
  for (const char* name : {"rgb.png", "rgb16.png", "gray.png", "rgb.tif", "rgb_lossless.webp",
                           "quad.jpg"}) {
    SCOPED_TRACE(name);
    const std::string bytes = ReadFileOrFail(CommonData(std::string("images/") + name));
    absl::StatusOr<cv::Mat> exact = DecodeImage(bytes);
    // quad.jpg is 48x32: a min_side of 20 leaves no room for even 1/2.
    absl::StatusOr<DecodedImage> reduced = DecodeImageReduced(bytes, 20);
    ASSERT_TRUE(exact.ok() && reduced.ok());
    EXPECT_EQ(reduced->scale, 1);
    EXPECT_EQ(reduced->full_size, exact->size());
    EXPECT_EQ(cv::norm(reduced->rgb, *exact, cv::NORM_INF), 0);
  }
}

TEST(DecodeImageReducedTest, ErrorsAreDecodeImagesErrors) {
  const std::string jpeg = FilmJpeg(800, 800);
  absl::StatusOr<DecodedImage> cut = DecodeImageReduced(jpeg.substr(0, jpeg.size() / 2), 100);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cut.status().message(), DecodeImage(jpeg.substr(0, jpeg.size() / 2)).status().message());
  DecodeOptions small;
  small.max_pixels = 1000;
  EXPECT_EQ(DecodeImageReduced(jpeg, 100, small).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace explainer::common
