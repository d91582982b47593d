// Drawing helpers shared by the gallery and comparison images: fitting a picture
// into a tile and writing titles that stay inside their band.
#ifndef EXPLAINER_CLIENT_GALLERY_TILE_CANVAS_H_
#define EXPLAINER_CLIENT_GALLERY_TILE_CANVAS_H_

#include <string>
#include <vector>

#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// BGR colours of the rendered images.
namespace colors {
inline const cv::Scalar kPage(255, 255, 255);
inline const cv::Scalar kBand(238, 238, 238);
inline const cv::Scalar kEmptyTile(248, 248, 248);
inline const cv::Scalar kImageBox(40, 40, 40);
inline const cv::Scalar kText(30, 30, 30);
inline const cv::Scalar kMutedText(120, 120, 120);
inline const cv::Scalar kHeaderBand(60, 48, 40);
inline const cv::Scalar kHeaderText(255, 255, 255);
inline const cv::Scalar kTruePositive(60, 150, 40);   // green
inline const cv::Scalar kFalsePositive(0, 130, 230);  // orange
inline const cv::Scalar kFalseNegative(40, 40, 200);  // red
}  // namespace colors

// Font scales (OpenCV's Hershey simplex) of the text every gallery picture shares.
namespace font_scale {
inline constexpr double kTitle = 0.5;     // a tile's title
inline constexpr double kSection = 0.6;   // a class section's band
inline constexpr double kHeader = 0.75;   // the picture's header
}  // namespace font_scale

// The size `source` takes when scaled to fit inside `box`, keeping its aspect
// ratio (at least 1 x 1).
cv::Size FitSize(cv::Size source, cv::Size box);

// `image` (CV_8UC3 BGR or CV_8UC1) scaled to fit `box` keeping aspect ratio
// (INTER_AREA when shrinking, INTER_LINEAR when enlarging), centred on a box of
// `background`. Returns a CV_8UC3 image of exactly box.
cv::Mat FitToBox(const cv::Mat& image, cv::Size box, const cv::Scalar& background);

struct TextLine {
  std::string text;
  cv::Scalar color = colors::kText;
  bool bold = false;
};

// `text` shortened with "..." in the middle until it fits `max_width` pixels at
// `scale` (FONT_HERSHEY_SIMPLEX), so that a long file name keeps its start and end.
std::string FitText(const std::string& text, int max_width, double scale, int thickness);

// Fills `area` with `background` and writes the lines top-down, left-aligned, each
// fitted to the width. Lines that do not fit the height are dropped.
void DrawTextBand(cv::Mat& canvas, const cv::Rect& area, const std::vector<TextLine>& lines,
                  double scale, const cv::Scalar& background);

// Writes `text` centred in `area` (no background).
void DrawCenteredText(cv::Mat& canvas, const cv::Rect& area, const std::string& text, double scale,
                      const cv::Scalar& color, int thickness = 1);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_TILE_CANVAS_H_
