// Drawing helpers for the phantom painters.
#include "tools/phantom/shapes.h"

#include <algorithm>
#include <cmath>

#include "opencv2/imgproc.hpp"

namespace explainer::phantom {
namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int kShift = 4;  // sub-pixel bits for cv::fillPoly / cv::line
constexpr double kOne = 1 << kShift;

cv::Rect Bounds(cv::Size image, const std::vector<cv::Point2d>& points, double pad) {
  if (points.empty()) return {};
  double x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
  for (const cv::Point2d& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  const cv::Rect r(
      cv::Point(static_cast<int>(std::floor(x0 - pad)), static_cast<int>(std::floor(y0 - pad))),
      cv::Point(static_cast<int>(std::ceil(x1 + pad)) + 1,
                static_cast<int>(std::ceil(y1 + pad)) + 1));
  return r & cv::Rect(cv::Point(0, 0), image);
}

std::vector<cv::Point> Fixed(const std::vector<cv::Point2d>& points, cv::Point origin) {
  std::vector<cv::Point> out;
  out.reserve(points.size());
  for (const cv::Point2d& p : points) {
    out.emplace_back(static_cast<int>(std::lround((p.x - origin.x) * kOne)),
                     static_cast<int>(std::lround((p.y - origin.y) * kOne)));
  }
  return out;
}

}  // namespace

cv::Mat NoiseField(cv::Size size, double sigma, Rng& rng) {
  cv::Mat n(size, CV_32FC1);
  for (int y = 0; y < n.rows; ++y) {
    float* row = n.ptr<float>(y);
    for (int x = 0; x < n.cols; ++x) row[x] = rng.FastNormal();
  }
  if (sigma > 0) {
    cv::GaussianBlur(n, n, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
    cv::Scalar mean, sd;
    cv::meanStdDev(n, mean, sd);
    n = (n - mean[0]) / std::max(sd[0], 1e-6);
  }
  return n;
}

Patch PolygonPatch(cv::Size image, const std::vector<cv::Point2d>& polygon, double blur_sigma) {
  Patch p;
  p.roi = Bounds(image, polygon, 3 * blur_sigma + 2);
  if (p.roi.area() == 0) return p;
  cv::Mat hard = cv::Mat::zeros(p.roi.size(), CV_8UC1);
  const std::vector<std::vector<cv::Point>> polys = {Fixed(polygon, p.roi.tl())};
  cv::fillPoly(hard, polys, cv::Scalar(255), cv::LINE_AA, kShift);
  hard.convertTo(p.m, CV_32FC1, 1.0 / 255.0);
  if (blur_sigma > 0.3) {
    cv::GaussianBlur(p.m, p.m, cv::Size(), blur_sigma, blur_sigma, cv::BORDER_CONSTANT);
  }
  return p;
}

Patch EmptyPatch(cv::Size image, const std::vector<cv::Point2d>& points, double pad) {
  Patch p;
  p.roi = Bounds(image, points, pad);
  p.m = cv::Mat::zeros(p.roi.size(), CV_32FC1);
  return p;
}

void DrawPolyline(const std::vector<cv::Point2d>& points, double thickness, Patch* patch) {
  if (patch->empty() || points.size() < 2) return;
  cv::Mat layer = cv::Mat::zeros(patch->roi.size(), CV_8UC1);
  const std::vector<cv::Point> pts = Fixed(points, patch->roi.tl());
  const int t = std::max(1, static_cast<int>(std::lround(thickness)));
  for (size_t i = 1; i < pts.size(); ++i) {
    cv::line(layer, pts[i - 1], pts[i], cv::Scalar(255), t, cv::LINE_AA, kShift);
  }
  cv::Mat f;
  layer.convertTo(f, CV_32FC1, 1.0 / 255.0);
  // Lines thinner than a pixel get fainter instead of thicker.
  if (thickness < 1.0) f *= thickness;
  cv::max(patch->m, f, patch->m);
}

std::vector<cv::Point2d> BlobOutline(const Frame& frame, double u, double v, double a, double b,
                                     double irregularity, int n, Rng& rng) {
  constexpr int kHarmonics = 5;
  double amp[kHarmonics], phase[kHarmonics];
  for (int k = 0; k < kHarmonics; ++k) {
    amp[k] = irregularity * rng.Uniform(0.0, 0.28) / (1.0 + 0.5 * k);
    phase[k] = rng.Uniform(0, kTwoPi);
  }
  std::vector<cv::Point2d> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const double t = kTwoPi * i / n;
    double r = 1.0;
    for (int k = 0; k < kHarmonics; ++k) r += amp[k] * std::cos((k + 2) * t + phase[k]);
    r = std::max(r, 0.35);
    out.push_back(frame.ToImage(u + a * r * std::cos(t), v + b * r * std::sin(t)));
  }
  return out;
}

std::vector<cv::Point2d> Annotate(const std::vector<cv::Point2d>& outline, double jitter,
                                  cv::Size image, Rng& rng) {
  const int m = static_cast<int>(outline.size());
  const int n = std::min(m, rng.UniformInt(12, 40));
  const int start = rng.UniformInt(0, m - 1);
  std::vector<cv::Point2d> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const cv::Point2d& p = outline[(start + i * m / n) % m];
    const double dy = rng.Normal(0, jitter), dx = rng.Normal(0, jitter);
    out.emplace_back(std::clamp(p.x + dx, 0.0, image.width - 1.0),
                     std::clamp(p.y + dy, 0.0, image.height - 1.0));
  }
  return out;
}

void Multiply(cv::Mat* map, const Patch& p, double depth) {
  if (p.empty()) return;
  cv::Mat roi = (*map)(p.roi);
  cv::Mat factor = 1.0 - depth * p.m;
  cv::max(factor, 0.0, factor);
  cv::multiply(roi, factor, roi);
}

void Add(cv::Mat* map, const Patch& p, double amount) {
  if (p.empty()) return;
  cv::Mat roi = (*map)(p.roi);
  cv::scaleAdd(p.m, amount, roi, roi);
}

void Max(cv::Mat* map, const Patch& p, double amount) {
  if (p.empty()) return;
  cv::Mat roi = (*map)(p.roi);
  cv::max(roi, p.m * amount, roi);
}

}  // namespace explainer::phantom
