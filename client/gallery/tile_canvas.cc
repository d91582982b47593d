// Tile fitting and title text; see tile_canvas.h.
#include "client/gallery/tile_canvas.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "opencv2/imgproc.hpp"

namespace explainer::client::gallery {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kPadding = 6;

int TextWidth(const std::string& text, double scale, int thickness) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &baseline).width;
}

}  // namespace

cv::Size FitSize(cv::Size source, cv::Size box) {
  if (source.width <= 0 || source.height <= 0) return cv::Size(1, 1);
  const double scale = std::min(static_cast<double>(box.width) / source.width,
                                static_cast<double>(box.height) / source.height);
  return cv::Size(std::max(1, static_cast<int>(std::lround(source.width * scale))),
                  std::max(1, static_cast<int>(std::lround(source.height * scale))));
}

cv::Mat FitToBox(const cv::Mat& image, cv::Size box, const cv::Scalar& background) {
  cv::Mat out(box, CV_8UC3, background);
  if (image.empty()) return out;
  cv::Mat bgr;
  if (image.channels() == 1) {
    cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  } else {
    bgr = image;
  }
  const cv::Size fitted = FitSize(bgr.size(), box);
  cv::Mat scaled;
  const bool shrinking = fitted.width < bgr.cols;
  cv::resize(bgr, scaled, fitted, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Rect where((box.width - fitted.width) / 2, (box.height - fitted.height) / 2,
                       fitted.width, fitted.height);
  scaled.copyTo(out(where));
  return out;
}

std::string FitText(const std::string& text, int max_width, double scale, int thickness) {
  if (TextWidth(text, scale, thickness) <= max_width) return text;
  // Keep the ends (a file name's start and extension); drop the middle.
  for (size_t keep = text.size(); keep > 0; --keep) {
    const size_t head = (keep + 1) / 2;
    const size_t tail = keep - head;
    const std::string candidate =
        text.substr(0, head) + "..." + text.substr(text.size() - tail, tail);
    if (TextWidth(candidate, scale, thickness) <= max_width) return candidate;
  }
  return "...";
}

void DrawTextBand(cv::Mat& canvas, const cv::Rect& area, const std::vector<TextLine>& lines,
                  double scale, const cv::Scalar& background) {
  cv::rectangle(canvas, area, background, cv::FILLED);
  int baseline = 0;
  const int line_height = cv::getTextSize("Ag", kFont, scale, 1, &baseline).height + baseline + 4;
  int y = area.y + kPadding;
  for (const TextLine& line : lines) {
    if (y + line_height > area.y + area.height) break;
    const int thickness = line.bold ? 2 : 1;
    const std::string text = FitText(line.text, area.width - 2 * kPadding, scale, thickness);
    cv::putText(canvas, text, cv::Point(area.x + kPadding, y + line_height - baseline - 2), kFont,
                scale, line.color, thickness, cv::LINE_AA);
    y += line_height;
  }
}

void DrawCenteredText(cv::Mat& canvas, const cv::Rect& area, const std::string& text, double scale,
                      const cv::Scalar& color, int thickness) {
  const std::string fitted = FitText(text, area.width - 2 * kPadding, scale, thickness);
  int baseline = 0;
  const cv::Size size = cv::getTextSize(fitted, kFont, scale, thickness, &baseline);
  const cv::Point origin(area.x + (area.width - size.width) / 2,
                         area.y + (area.height + size.height) / 2);
  cv::putText(canvas, fitted, origin, kFont, scale, color, thickness, cv::LINE_AA);
}

}  // namespace explainer::client::gallery
