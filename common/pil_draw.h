// Internal: filled shapes drawn pixel-for-pixel as Pillow 9.4's ImageDraw draws
// them on an "L" image (the rules labelme's shape_to_mask relies on).
//
// Pillow turns every float coordinate into an int by C truncation toward zero,
// fills polygons with its own scan-line rule (float edge intersections, rounded
// half away from zero, horizontal edges drawn whole), fills ellipses with an
// integer midpoint walk and draws wide lines as 4-vertex polygons. Re-deriving
// those rules exactly keeps our masks identical to labelme's instead of "close".
// Coordinates beyond +-2^20 are clamped first (Pillow's int arithmetic would
// overflow there); anything drawn outside the canvas is clipped per pixel.
#ifndef EXPLAINER_COMMON_PIL_DRAW_H_
#define EXPLAINER_COMMON_PIL_DRAW_H_

#include <cstdint>
#include <vector>

#include "opencv2/core.hpp"

namespace explainer::common::internal {

// ImageDraw.polygon(points, fill=1, outline=1). With outline == fill Pillow 9.4
// draws no separate outline, so this is its fill rule alone.
void PilPolygon(cv::Mat& canvas, const std::vector<cv::Point2d>& points);

// ImageDraw.rectangle([a, b], fill=1): all pixels between the truncated corners,
// both ends included, in any corner order.
void PilRectangle(cv::Mat& canvas, cv::Point2d a, cv::Point2d b);

// ImageDraw.ellipse([x0, y0, x1, y1], fill=1). Nothing when x1 < x0 or y1 < y0
// after truncation, or when both extents are 0.
void PilEllipse(cv::Mat& canvas, double x0, double y0, double x1, double y1);

// ImageDraw.line(points, fill=1, width=width) for width > 1: one 4-vertex polygon
// per segment, no joints; a zero-length segment sets one pixel.
void PilWideLine(cv::Mat& canvas, const std::vector<cv::Point2d>& points, int width);

// Upper bounds of what the calls above cost on a canvas of `canvas` size, in work
// units of about one pixel written (an edge visited on a scan row counts as a few
// pixels). Cheap to compute (linear in the points), so the cost of a hostile shape
// can be refused before it is drawn.
int64_t PilPolygonWork(cv::Size canvas, const std::vector<cv::Point2d>& points);
int64_t PilRectangleWork(cv::Size canvas, cv::Point2d a, cv::Point2d b);
int64_t PilEllipseWork(cv::Size canvas, double x0, double y0, double x1, double y1);
int64_t PilWideLineWork(cv::Size canvas, const std::vector<cv::Point2d>& points, int width);

}  // namespace explainer::common::internal

#endif  // EXPLAINER_COMMON_PIL_DRAW_H_
