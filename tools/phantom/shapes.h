// Drawing helpers shared by the anatomy and lesion painters: soft-edged masks on a
// region of interest, band-limited noise and irregular outlines in limb coordinates.
#ifndef EXPLAINER_TOOLS_PHANTOM_SHAPES_H_
#define EXPLAINER_TOOLS_PHANTOM_SHAPES_H_

#include <vector>

#include "opencv2/core.hpp"
#include "tools/phantom/random.h"
#include "tools/phantom/scene.h"

namespace explainer::phantom {

// A float mask in [0, 1] over `roi` (a rectangle inside the image).
struct Patch {
  cv::Rect roi;
  cv::Mat m;  // CV_32FC1, roi.size()
  bool empty() const { return roi.area() == 0; }
};

// Band-limited noise with zero mean and unit standard deviation: white noise blurred
// with `sigma` pixels (sigma <= 0: white).
cv::Mat NoiseField(cv::Size size, double sigma, Rng& rng);

// Filled polygon (image pixels), edge softened by a Gaussian of `blur_sigma`; the ROI
// is grown to hold the blur and clipped to the image.
Patch PolygonPatch(cv::Size image, const std::vector<cv::Point2d>& polygon, double blur_sigma);

// Empty patch over the bounding box of `points` grown by `pad`, for line drawings.
Patch EmptyPatch(cv::Size image, const std::vector<cv::Point2d>& points, double pad);

// Draws an anti-aliased polyline of value 1 into the patch (max-combined).
void DrawPolyline(const std::vector<cv::Point2d>& points, double thickness, Patch* patch);

// Closed outline around limb point (u, v) with half-axes a (along u) and b (across),
// `irregularity` in [0, 1] adds low-order lobes, `n` points, in image pixels.
std::vector<cv::Point2d> BlobOutline(const Frame& frame, double u, double v, double a, double b,
                                     double irregularity, int n, Rng& rng);

// The same outline with `n` points, each moved by N(0, jitter) pixels: how a human
// annotator traces a lesion. Clipped to the image.
std::vector<cv::Point2d> Annotate(const std::vector<cv::Point2d>& outline, double jitter,
                                  cv::Size image, Rng& rng);

// Mask operations on the thickness maps.
void Multiply(cv::Mat* map, const Patch& p, double depth);  // map *= 1 - depth * m
void Add(cv::Mat* map, const Patch& p, double amount);      // map += amount * m
void Max(cv::Mat* map, const Patch& p, double amount);      // map = max(map, amount * m)

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_SHAPES_H_
