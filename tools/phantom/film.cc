// Imaging chain of the phantom generator.
#include "tools/phantom/film.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "opencv2/imgproc.hpp"
#include "tools/phantom/shapes.h"

namespace explainer::phantom {
namespace {

// Unexposed film under the collimator blades is bright, with a soft edge.
void Collimate(Rng& rng, cv::Mat* img) {
  const cv::Size size = img->size();
  cv::Mat m = cv::Mat::zeros(size, CV_32FC1);
  const int sides = rng.UniformInt(1, 2);
  for (int i = 0; i < sides; ++i) {
    const int side = rng.UniformInt(0, 3);
    const int w =
        static_cast<int>((side % 2 == 0 ? size.width : size.height) * rng.Uniform(0.02, 0.09));
    cv::Rect r;
    switch (side) {
      case 0:
        r = cv::Rect(0, 0, w, size.height);
        break;
      case 1:
        r = cv::Rect(0, 0, size.width, w);
        break;
      case 2:
        r = cv::Rect(size.width - w, 0, w, size.height);
        break;
      default:
        r = cv::Rect(0, size.height - w, size.width, w);
        break;
    }
    m(r).setTo(1.0);
  }
  cv::GaussianBlur(m, m, cv::Size(), 1.5);
  const double level = rng.Uniform(0.75, 0.97);
  *img = img->mul(1.0 - m) + m * level;
}

// A lead letter (L/R) in a square frame, as radiographers tape to the cassette.
void Marker(Rng& rng, cv::Mat* img) {
  static const char* kLetters[] = {"L", "R", "L", "R", "A", "P"};
  const std::string text = kLetters[rng.UniformInt(0, 5)];
  const cv::Size size = img->size();
  const double scale = std::min(size.width, size.height) * rng.Uniform(0.0015, 0.003);
  const int thick = std::max(1, static_cast<int>(scale * 2.2));
  int baseline = 0;
  const cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thick, &baseline);
  const int pad = ts.height / 3 + 2;
  const int mx = pad + 4, my = ts.height + pad + 4;
  const int x = rng.Bernoulli(0.5)
                    ? mx + rng.UniformInt(0, size.width / 12)
                    : size.width - ts.width - mx - rng.UniformInt(0, size.width / 12);
  const int y = rng.Bernoulli(0.5) ? my + rng.UniformInt(0, size.height / 12)
                                   : size.height - pad - 4 - rng.UniformInt(0, size.height / 12);
  cv::Mat m = cv::Mat::zeros(size, CV_8UC1);
  cv::putText(m, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255), thick,
              cv::LINE_AA);
  if (rng.Bernoulli(0.6)) {
    cv::rectangle(m, cv::Point(x - pad, y - ts.height - pad),
                  cv::Point(x + ts.width + pad, y + baseline + pad / 2), cv::Scalar(255),
                  std::max(1, thick / 2), cv::LINE_AA);
  }
  cv::Mat f;
  m.convertTo(f, CV_32FC1, 1.0 / 255.0);
  const double level = rng.Uniform(0.85, 1.0);
  *img = img->mul(1.0 - f) + f * level;
}

}  // namespace

cv::Mat Expose(const Scene& sc, const Canvas& canvas, Rng& rng) {
  const cv::Size size = sc.size;
  const double r0 = sc.scale;
  // Attenuation per pixel of projected thickness, relative to the scene scale so that
  // contrast does not depend on the image size.
  const double mu_soft = rng.Uniform(0.06, 0.1) / r0;
  const double mu_bone = rng.Uniform(0.5, 0.75) / r0;
  cv::Mat att = canvas.soft * mu_soft + canvas.bone * mu_bone;
  cv::Mat img;
  cv::exp(-att, img);
  img = 1.0 - img;

  // Display window and gamma (different equipment, different processing).
  const double lo = rng.Uniform(-0.12, 0.04), hi = rng.Uniform(0.8, 1.0);
  img = (img - lo) / (hi - lo);
  cv::max(img, 0.0, img);
  cv::min(img, 1.0, img);
  cv::pow(img, rng.Uniform(0.8, 1.3), img);

  // Heel effect: a gentle exposure ramp across the film.
  const double ga = rng.Uniform(0, 6.283185307179586), gs = rng.Uniform(-0.08, 0.08);
  cv::Mat ramp(size, CV_32FC1);
  for (int y = 0; y < size.height; ++y) {
    float* row = ramp.ptr<float>(y);
    for (int x = 0; x < size.width; ++x) {
      const double t =
          ((x - size.width / 2.0) * std::cos(ga) + (y - size.height / 2.0) * std::sin(ga)) /
          std::max(size.width, size.height);
      row[x] = static_cast<float>(1 + gs * t);
    }
  }
  img = img.mul(ramp);

  // Unsharp masking, as most digital radiography processing applies.
  if (rng.Bernoulli(0.6)) {
    cv::Mat low;
    cv::GaussianBlur(img, low, cv::Size(), std::max(2.0, r0 * rng.Uniform(0.15, 0.4)));
    img += (img - low) * rng.Uniform(0.2, 0.7);
  }
  if (rng.Bernoulli(0.35)) Collimate(rng, &img);
  if (rng.Bernoulli(0.6)) Marker(rng, &img);

  // Detector blur, then quantum noise (stronger where fewer photons arrive, i.e. in
  // bright bone) and film grain.
  const double blur =
      rng.Uniform(0.5, 1.4) * std::max(1.0, std::min(size.width, size.height) / 900.0);
  cv::GaussianBlur(img, img, cv::Size(), blur);
  cv::Mat q = NoiseField(size, 0, rng);
  cv::Mat amp;
  cv::sqrt(cv::max(img, 0.0) + 0.05, amp);
  img += q.mul(amp) * rng.Uniform(0.008, 0.03);
  const double grain = rng.Uniform(0.004, 0.015), grain_sigma = rng.Uniform(0.8, 1.6);
  img += NoiseField(size, grain_sigma, rng) * grain;

  cv::Mat out;
  img.convertTo(out, CV_8UC1, 255.0);  // saturating, rounds to nearest
  return out;
}

}  // namespace explainer::phantom
