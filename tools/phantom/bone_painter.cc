// Normal limb anatomy for the phantom: five joint templates, painted as projected
// hollow cylinders (cortex + medulla) inside a two-layer soft-tissue envelope.
#include "tools/phantom/bone_painter.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "opencv2/imgproc.hpp"
#include "tools/phantom/shapes.h"

namespace explainer::phantom {

double Bone::Radius(double e) const {
  if (e < 0 || e > length) return 0;
  if (length < 1e8) {  // closed blob: an ellipse along u
    const double t = 2 * e / length - 1;
    return end_radius * std::sqrt(std::max(0.0, 1 - t * t));
  }
  if (e < cap) {
    const double t = (cap - e) / cap;
    return end_radius * std::sqrt(std::max(0.0, 1 - t * t));
  }
  return end_radius + (shaft_radius - end_radius) * Smoothstep((e - cap) / flare);
}

double Bone::InnerRadius(double e) const {
  const double thin = 0.06 * shaft_radius;
  double c = thin;
  if (length >= 1e8) {
    c += (cortex * shaft_radius - thin) * Smoothstep((e - cap - 0.3 * flare) / flare);
  }
  return std::max(0.0, Radius(e) - c);
}

double Bone::MedullaDensity(double e) const {
  if (length < 1e8) return 0.6;
  return 0.14 + 0.44 * (1 - Smoothstep((e - cap) / (1.3 * flare)));
}

namespace {

constexpr double kPi = 3.141592653589793;

Bone Long(const char* site, double joint_end, int dir, double v, double rs, double re, double cap,
          double flare, double cortex, double r0) {
  Bone b;
  b.site = site;
  b.joint_end = joint_end;
  b.dir = dir;
  b.v_axis = v * r0;
  b.shaft_radius = rs * r0;
  b.end_radius = re * r0;
  b.cap = cap * r0;
  b.flare = flare * r0;
  b.cortex = cortex;
  return b;
}

Bone Blob(double u_start, int dir, double v, double length, double radius, double r0) {
  Bone b;
  b.joint_end = u_start;
  b.dir = dir;
  b.v_axis = v * r0;
  b.length = length * r0;
  b.end_radius = radius * r0;
  b.shaft_radius = radius * r0;
  b.cap = length * r0 / 2;
  b.flare = 1;
  return b;
}

// Bones of one anatomy around a joint at u = ju; s mirrors medial/lateral.
void AddBones(Scene* scene, Rng& rng) {
  const double r = scene->scale, ju = scene->joint_u, s = rng.Sign();
  const double gap = rng.Uniform(0.22, 0.38) * r;
  const bool lateral = scene->view == "lateral";
  const double spread = lateral ? 0.45 : (scene->view == "oblique" ? 0.75 : 1.0);
  std::vector<Bone>& b = scene->bones;
  const std::string& a = scene->anatomy;
  if (a == "knee") {
    b.push_back(Long("femur", ju - gap / 2, -1, 0, 1.0, 1.85, 1.0, 2.4, 0.3, r));
    b.push_back(Long("tibia", ju + gap / 2, +1, 0.05 * s, 0.85, 1.7, 0.35, 2.6, 0.32, r));
    b.push_back(Long("fibula", ju + gap / 2 + 0.9 * r, +1, 1.3 * s * spread, 0.28, 0.45, 0.45, 0.9,
                     0.35, r));
    const double pv = lateral ? -2.1 * s : rng.Uniform(-0.3, 0.3);
    if (lateral || rng.Bernoulli(0.5)) {
      b.push_back(Blob(ju - 2.0 * r, +1, pv, rng.Uniform(1.7, 2.2), 0.55, r));
    }
  } else if (a == "ankle") {
    b.push_back(Long("tibia", ju - gap / 2, -1, 0, 0.85, 1.35, 0.35, 2.0, 0.32, r));
    b.push_back(Long("fibula", ju + 0.5 * r, -1, 1.25 * s * spread, 0.3, 0.5, 0.6, 1.2, 0.35, r));
    b.push_back(Blob(ju + gap / 2, +1, 0.1 * s, 1.6, 1.1, r));  // talus
    b.push_back(Blob(ju + gap + 1.5 * r, +1, -0.6 * s, 1.8, 0.9, r));
  } else if (a == "shoulder") {
    b.push_back(Long("humerus", ju + gap / 2, +1, 0, 0.8, 1.45, 1.3, 1.6, 0.3, r));
    b.push_back(Blob(ju - gap / 2 - 0.7 * r, +1, 0.2 * s, 0.7, 1.1, r));  // glenoid
    b.push_back(Blob(ju - gap - 1.8 * r, +1, 1.4 * s, 1.2, 1.6, r));      // acromion
  } else if (a == "elbow") {
    b.push_back(Long("humerus", ju - gap / 2, -1, 0, 0.75, 1.5, 0.6, 2.0, 0.3, r));
    b.push_back(Long("radius", ju + gap / 2, +1, 0.75 * s * spread, 0.38, 0.5, 0.3, 1.2, 0.32, r));
    b.push_back(Long("ulna", ju - 0.5 * r, +1, -0.5 * s * spread, 0.42, 0.7, 0.7, 1.5, 0.32, r));
  } else {  // wrist
    b.push_back(Long("radius", ju - gap / 2, -1, 0.55 * s * spread, 0.55, 0.95, 0.35, 1.5, 0.3, r));
    b.push_back(Long("ulna", ju - gap / 2 - 0.3 * r, -1, -0.95 * s * spread, 0.38, 0.45, 0.4, 1.0,
                     0.32, r));
    for (int i = 0; i < 4; ++i) {
      const double radius = rng.Uniform(0.3, 0.42), length = rng.Uniform(0.6, 0.9);
      const double jitter = rng.Uniform(-0.1, 0.1), offset = rng.Uniform(0.0, 0.5);
      b.push_back(
          Blob(ju + gap / 2 + offset * r, +1, (-1.2 + 0.8 * i) * s + jitter, length, radius, r));
    }
  }
  for (Bone& bone : b) bone.bow = rng.Normal(0, 0.25) * r;
}

}  // namespace

Scene BuildScene(cv::Size size, const SceneRequest& request, Rng& rng) {
  Scene sc;
  sc.size = size;
  static const std::vector<std::string> kAnatomies = {"knee", "ankle", "shoulder", "elbow",
                                                      "wrist"};
  sc.anatomy = request.anatomy.empty() ? kAnatomies[rng.Choose({0.5, 0.12, 0.16, 0.12, 0.10})]
                                       : request.anatomy;
  const bool upper = sc.anatomy == "shoulder" || sc.anatomy == "elbow" || sc.anatomy == "wrist";
  sc.region = upper ? "upper limb" : "lower limb";
  sc.joint_site = sc.anatomy + "-joint";
  static const std::vector<std::string> kViews = {"frontal", "lateral", "oblique"};
  sc.view = kViews[rng.Choose({0.58, 0.34, 0.08})];
  sc.physis_open = request.physis_open;

  const double short_side = std::min(size.width, size.height);
  const double zoom = (sc.anatomy == "elbow" || sc.anatomy == "wrist") ? 1.25 : 1.0;
  sc.scale = short_side * rng.Uniform(0.075, 0.12) * zoom;

  // The limb runs roughly along the long side of the film, either way up.
  double angle = size.height >= size.width ? kPi / 2 : 0;
  if (rng.Bernoulli(0.15)) angle += kPi / 2;
  const double tilt = rng.Normal(0, 0.18);
  angle += tilt + (rng.Bernoulli(0.5) ? kPi : 0);
  sc.frame.angle = angle;
  sc.frame.origin = {size.width * rng.Uniform(0.4, 0.6), size.height * rng.Uniform(0.4, 0.6)};

  // Half the extent of the field along the limb axis.
  const double half =
      0.5 * (std::abs(size.width * std::cos(angle)) + std::abs(size.height * std::sin(angle)));
  const bool joint_in = request.need_joint || rng.Bernoulli(0.8);
  if (joint_in) {
    sc.joint_u = rng.Uniform(-0.4, 0.4) * half;
  } else {
    const double sign = rng.Sign();
    sc.joint_u = sign * rng.Uniform(0.75, 1.3) * half;
  }
  sc.joint_visible = sc.Inside(sc.frame.ToImage(sc.joint_u, 0), 0.05 * short_side);

  sc.tissue_v = rng.Normal(0, 0.3) * sc.scale;
  sc.tissue_radius = sc.scale * rng.Uniform(2.5, 3.5) * (upper ? 0.85 : 1.0);
  AddBones(&sc, rng);
  return sc;
}

void PaintAnatomy(const Scene& sc, Rng& rng, Canvas* canvas) {
  const cv::Size size = sc.size;
  canvas->soft = cv::Mat::zeros(size, CV_32FC1);
  canvas->bone = cv::Mat::zeros(size, CV_32FC1);
  const double r0 = sc.scale;

  // Trabecular texture: band-limited noise, coarser in bigger bones.
  const cv::Mat texture = NoiseField(size, std::max(0.8, r0 / 30.0), rng);
  const double tex_amp = rng.Uniform(0.12, 0.25);

  // Envelope undulation and a muscle belly offset.
  const double wave_phase = rng.Uniform(0, 2 * kPi), wave_len = rng.Uniform(3, 6) * r0;
  const double muscle_v = rng.Normal(0, 0.15) * sc.tissue_radius;
  const double muscle = rng.Uniform(0.25, 0.45);

  // Physis: a wavy lucent band between epiphysis and metaphysis.
  const double physis_w = rng.Uniform(0.04, 0.07) * r0;
  const double physis_depth = rng.Uniform(0.45, 0.7);

  const double c = std::cos(sc.frame.angle), s = std::sin(sc.frame.angle);
  for (int y = 0; y < size.height; ++y) {
    float* soft = canvas->soft.ptr<float>(y);
    float* bone = canvas->bone.ptr<float>(y);
    const float* tex = texture.ptr<float>(y);
    for (int x = 0; x < size.width; ++x) {
      const double dx = x - sc.frame.origin.x, dy = y - sc.frame.origin.y;
      const double u = dx * c + dy * s, v = -dx * s + dy * c;
      const double near_joint = std::exp(-std::pow((u - sc.joint_u) / (2.5 * r0), 2));
      const double rt =
          sc.tissue_radius * (1 + 0.08 * std::sin(u / wave_len + wave_phase) + 0.1 * near_joint);
      soft[x] = static_cast<float>(Chord(rt, v - sc.tissue_v) +
                                   muscle * Chord(0.75 * rt, v - sc.tissue_v - muscle_v));
      double total = 0;
      for (const Bone& b : sc.bones) {
        const double e = (u - b.joint_end) * b.dir;
        const double radius = b.Radius(e);
        if (radius <= 0) continue;
        const double d = v - b.AxisV(e);
        if (std::abs(d) >= radius) continue;
        const double inner = Chord(b.InnerRadius(e), d);
        double val =
            (Chord(radius, d) - inner) + inner * b.MedullaDensity(e) * (1 + tex_amp * tex[x]);
        if (sc.physis_open && b.length >= 1e8) {
          const double ep = b.cap + 0.1 * b.flare + 0.06 * r0 * std::sin(3 * d / radius);
          val *= 1 - physis_depth * std::exp(-std::pow((e - ep) / physis_w, 2));
        }
        total += val;
      }
      bone[x] = static_cast<float>(total);
    }
  }

  // Normal variants, drawn on the long bones only.
  std::vector<const Bone*> longs;
  for (const Bone& b : sc.bones) {
    if (!b.site.empty()) longs.push_back(&b);
  }
  const Frame& f = sc.frame;
  if (rng.Bernoulli(0.2)) {  // growth-arrest (Harris) lines: thin sclerotic bands
    const Bone& b = *longs[rng.UniformInt(0, static_cast<int>(longs.size()) - 1)];
    const int lines = rng.UniformInt(1, 3);
    for (int i = 0; i < lines; ++i) {
      const double e = b.cap + b.flare * rng.Uniform(0.6, 1.6);
      const double rad = b.InnerRadius(e) * 0.95;
      Patch p = EmptyPatch(
          size, {f.ToImage(b.U(e), b.AxisV(e) - rad), f.ToImage(b.U(e), b.AxisV(e) + rad)}, 4);
      DrawPolyline({f.ToImage(b.U(e), b.AxisV(e) - rad), f.ToImage(b.U(e), b.AxisV(e) + rad)},
                   std::max(1.0, 0.03 * r0), &p);
      Add(&canvas->bone, p, rng.Uniform(0.1, 0.25) * r0);
    }
  }
  if (rng.Bernoulli(0.12)) {  // bone island: small dense focus in cancellous bone
    const Bone& b = *longs[rng.UniformInt(0, static_cast<int>(longs.size()) - 1)];
    const double e = b.cap + b.flare * rng.Uniform(0.0, 1.5);
    const double rad = rng.Uniform(0.06, 0.16) * r0;
    const double minor = rad * rng.Uniform(0.6, 1.0);
    const double dv = rng.Uniform(-0.5, 0.5) * b.InnerRadius(e);
    const Patch p = PolygonPatch(
        size, BlobOutline(f, b.U(e), b.AxisV(e) + dv, rad, minor, 0.6, 24, rng), 0.4 + rad * 0.15);
    Add(&canvas->bone, p, rng.Uniform(0.3, 0.6) * r0);
  }
  if (rng.Bernoulli(0.25)) {  // nutrient canal: oblique lucent line through the cortex
    const Bone& b = *longs[0];
    const double e = b.cap + b.flare * rng.Uniform(1.5, 4.0);
    const double side = rng.Sign(), rad = b.Radius(e);
    const std::vector<cv::Point2d> line = {
        f.ToImage(b.U(e), b.AxisV(e) + side * rad * 1.02),
        f.ToImage(b.U(e + b.dir * 0.6 * r0), b.AxisV(e) + side * rad * 0.6)};
    Patch p = EmptyPatch(size, line, 4);
    DrawPolyline(line, std::max(1.0, 0.04 * r0), &p);
    Multiply(&canvas->bone, p, rng.Uniform(0.15, 0.3));
  }
  if (rng.Bernoulli(0.12)) {  // vascular calcification: a faint wavy line in soft tissue
    std::vector<cv::Point2d> line;
    const double side = rng.Sign();
    const double v0 = sc.tissue_v + side * rng.Uniform(1.2, 2.0) * r0;
    const double u0 = rng.Uniform(-0.8, 0.2) * std::max(size.width, size.height);
    const double len = rng.Uniform(3, 8) * r0;
    for (int i = 0; i <= 20; ++i) {
      const double u = u0 + len * i / 20.0;
      line.push_back(f.ToImage(u, v0 + 0.1 * r0 * std::sin(u / r0 * 1.7)));
    }
    Patch p = EmptyPatch(size, line, 4);
    DrawPolyline(line, std::max(1.0, 0.03 * r0), &p);
    Add(&canvas->bone, p, rng.Uniform(0.05, 0.15) * r0);
  }
}

}  // namespace explainer::phantom
