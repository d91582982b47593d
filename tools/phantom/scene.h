// Geometry of one synthetic radiograph: the limb frame, its bones and the two
// projected-thickness maps that anatomy and lesions are painted into.
#ifndef EXPLAINER_TOOLS_PHANTOM_SCENE_H_
#define EXPLAINER_TOOLS_PHANTOM_SCENE_H_

#include <cmath>
#include <string>
#include <vector>

#include "opencv2/core.hpp"

namespace explainer::phantom {

// Limb coordinates: u runs along the limb, v across it (pixels, origin in the image).
struct Frame {
  cv::Point2d origin;
  double angle = 0;  // direction of +u in the image, radians

  cv::Point2d ToImage(double u, double v) const {
    const double c = std::cos(angle), s = std::sin(angle);
    return {origin.x + u * c - v * s, origin.y + u * s + v * c};
  }
  void ToLocal(double x, double y, double* u, double* v) const {
    const double c = std::cos(angle), s = std::sin(angle);
    const double dx = x - origin.x, dy = y - origin.y;
    *u = dx * c + dy * s;
    *v = -dx * s + dy * c;
  }
};

// A long bone seen as a projected hollow cylinder whose articular end sits at
// u = joint_end and whose shaft runs off towards `dir` (+1 or -1) along u. Positions
// inside the bone are measured by e = (u - joint_end) * dir, the distance from the
// articular surface.
struct Bone {
  std::string site;  // BTXRD site column ("femur", "tibia", ...); empty: not a site
  double joint_end = 0;
  int dir = 1;
  double v_axis = 0;        // lateral offset of the axis
  double bow = 0;           // lateral offset gained per (e / 1000 px)^2
  double shaft_radius = 0;  // Rs
  double end_radius = 0;    // Re, epiphysis
  double cap = 0;           // length of the rounded articular cap
  double flare = 0;         // length of the metaphyseal flare
  double cortex = 0.3;      // diaphyseal cortex as a fraction of Rs
  double length = 1e9;      // blobs (carpals, patella) are short closed bones

  double AxisV(double e) const { return v_axis + bow * (e / 1000.0) * (e / 1000.0); }
  double Radius(double e) const;
  double InnerRadius(double e) const;
  // Density of the medullary content relative to cortex: cancellous bone near the
  // joint, fatty marrow in the diaphysis.
  double MedullaDensity(double e) const;
  double U(double e) const { return joint_end + dir * e; }
  // Metaphysis: where the flare is, the usual home of primary bone tumours.
  double MetaphysisE() const { return cap + 0.6 * flare; }
};

struct Scene {
  cv::Size size;
  Frame frame;
  double scale = 0;  // R0, the reference shaft radius in pixels
  std::vector<Bone> bones;
  std::string anatomy;     // "knee", "ankle", "shoulder", "elbow", "wrist"
  std::string joint_site;  // BTXRD joint column, e.g. "knee-joint"
  std::string region;      // "upper limb" / "lower limb"
  std::string view;        // "frontal" / "lateral" / "oblique"
  double joint_u = 0;
  bool joint_visible = false;
  bool physis_open = false;  // growth plates visible (children)
  double tissue_v = 0;       // soft-tissue envelope centre and radius
  double tissue_radius = 0;

  bool Inside(cv::Point2d p, double margin) const {
    return p.x >= margin && p.y >= margin && p.x < size.width - margin &&
           p.y < size.height - margin;
  }
};

// Projected thickness maps (CV_32FC1, pixels of material along the ray). The film
// model turns them into a radiograph: bone is ~10x more attenuating than soft tissue.
struct Canvas {
  cv::Mat soft;
  cv::Mat bone;
};

inline double Smoothstep(double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return x * x * (3 - 2 * x);
}

// Chord length of a disc of radius r at distance d from its centre.
inline double Chord(double r, double d) {
  const double q = r * r - d * d;
  return q > 0 ? 2.0 * std::sqrt(q) : 0.0;
}

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_SCENE_H_
