// The pixel formulas behind tests/data/common/images (make_fixtures.py computes the
// same ones), so decoded fixtures are checked against arithmetic.
#ifndef EXPLAINER_TESTS_COMMON_FIXTURE_PATTERNS_H_
#define EXPLAINER_TESTS_COMMON_FIXTURE_PATTERNS_H_

#include <cstdint>

#include "opencv2/core.hpp"

namespace explainer::testing {

inline constexpr int kPatternWidth = 12;
inline constexpr int kPatternHeight = 9;

// pattern_rgb(): CV_8UC3 in RGB order.
inline cv::Mat PatternRgb() {
  cv::Mat img(kPatternHeight, kPatternWidth, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b((x * 37 + y * 11) % 256, (x * 5 + y * 71 + 13) % 256, (x * y * 3 + 7) % 256);
    }
  }
  return img;
}

// gray_value() as RGB (gray decodes to three equal channels).
inline cv::Mat GrayPatternAsRgb() {
  cv::Mat img(kPatternHeight, kPatternWidth, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      const uint8_t v = (x * 20 + y * 7) % 256;
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
    }
  }
  return img;
}

// gray16_value() reduced to 8 bits as IMREAD_COLOR does (high byte), as RGB.
inline cv::Mat Gray16PatternAsRgb() {
  cv::Mat img(kPatternHeight, kPatternWidth, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      const uint8_t v = ((x * 4099 + y * 997 + 5) % 65536) >> 8;
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
    }
  }
  return img;
}

// rgb16.png holds (pattern * 257 + 100) mod 2^16 (uint16 arithmetic in NumPy);
// 8-bit decoding keeps the high byte.
inline cv::Mat Rgb16PatternAsRgb() {
  const cv::Mat base = PatternRgb();
  cv::Mat img(base.size(), CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int v16 = (base.at<cv::Vec3b>(y, x)[c] * 257 + 100) % 65536;
        img.at<cv::Vec3b>(y, x)[c] = static_cast<uint8_t>(v16 >> 8);
      }
    }
  }
  return img;
}

// EXIF orientation 1-8 as explicit coordinate maps (independent of cv::rotate):
// output pixel (x, y) is input pixel (sx, sy).
inline cv::Mat OrientedByFormula(const cv::Mat& img, int orientation) {
  const int w = img.cols;
  const int h = img.rows;
  const bool swaps = orientation >= 5;
  cv::Mat out(swaps ? w : h, swaps ? h : w, img.type());
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2:
          sx = w - 1 - x;
          break;
        case 3:
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;
        case 4:
          sy = h - 1 - y;
          break;
        case 5:
          sx = y;
          sy = x;
          break;
        case 6:
          sx = y;
          sy = h - 1 - x;
          break;
        case 7:
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;
        case 8:
          sx = w - 1 - y;
          sy = x;
          break;
        default:
          break;
      }
      out.at<cv::Vec3b>(y, x) = img.at<cv::Vec3b>(sy, sx);
    }
  }
  return out;
}

// quadrant_rgb(): 48x32, 2 rows x 3 columns of flat 16x16 blocks.
inline const cv::Vec3b kBlockColours[6] = {{230, 30, 30},   {30, 200, 40}, {40, 40, 220},
                                           {240, 240, 240}, {250, 220, 0}, {0, 0, 0}};

inline cv::Mat BlocksRgb() {
  cv::Mat img(32, 48, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x)
      img.at<cv::Vec3b>(y, x) = kBlockColours[(y / 16) * 3 + x / 16];
  }
  return img;
}

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_COMMON_FIXTURE_PATTERNS_H_
