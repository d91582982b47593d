// Bone tumours for the phantom generator. Sizes are relative to the local bone
// radius; every lesion has a visibility factor so that some are subtle, and the
// malignant and aggressive-benign looks deliberately overlap.
#include "tools/phantom/lesion_painter.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "opencv2/imgproc.hpp"
#include "tools/phantom/shapes.h"

namespace explainer::phantom {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr int kOutlinePoints = 72;

// Where on which bone a lesion sits.
struct Spot {
  const Bone* bone = nullptr;
  double e = 0;      // distance from the articular end
  double side = 1;   // +1 / -1: which cortex (v direction)
  double floor = 0;  // lesions on thin bones (fibula, ulna) still reach a visible size
  double R() const { return std::max(bone->Radius(e), 1.2 * floor); }
  double Rs() const { return std::max(bone->shaft_radius, floor); }
  double U() const { return bone->U(e); }
  double V() const { return bone->AxisV(e); }
};

// Most lesions are plainly visible (a model at 224 px must be able to see them),
// about one in six is subtle.
double Visibility(Rng& rng) {
  return rng.Bernoulli(0.15) ? rng.Uniform(0.45, 0.7) : rng.Uniform(0.75, 1.0);
}

// Picks a bone (weighted by how often BTXRD has the subtype there) and a position
// from `pick_e`, such that the spot is inside the image; falls back to any visible
// spot on any long bone.
Spot Place(const Scene& sc, Rng& rng, const std::map<std::string, double>& site_weights,
           const std::function<double(const Bone&)>& pick_e) {
  std::vector<const Bone*> bones;
  std::vector<double> weights;
  for (const Bone& b : sc.bones) {
    if (b.site.empty()) continue;
    const auto it = site_weights.find(b.site);
    bones.push_back(&b);
    weights.push_back(it == site_weights.end() ? 0.02 : it->second);
  }
  const double margin = 0.07 * std::min(sc.size.width, sc.size.height);
  Spot spot;
  spot.side = rng.Sign();
  spot.floor = 0.55 * sc.scale;
  for (int attempt = 0; attempt < 60; ++attempt) {
    spot.bone = bones[rng.Choose(weights)];
    spot.e = pick_e(*spot.bone);
    if (sc.Inside(sc.frame.ToImage(spot.U(), spot.V()), margin)) return spot;
  }
  std::vector<Spot> visible;
  for (const Bone* b : bones) {
    for (double e = b->cap; e < 60 * sc.scale; e += 0.25 * sc.scale) {
      Spot s{b, e, spot.side, spot.floor};
      if (sc.Inside(sc.frame.ToImage(s.U(), s.V()), margin)) visible.push_back(s);
    }
  }
  if (visible.empty()) return {bones[0], bones[0]->cap, spot.side, spot.floor};
  return visible[rng.UniformInt(0, static_cast<int>(visible.size()) - 1)];
}

// Annotation for a painted outline: a traced polygon and a rectangle a little larger.
Lesion Annotation(const std::string& label, const std::string& site,
                  std::vector<cv::Point2d> outline, const Scene& sc, Rng& rng) {
  if (outline.size() < 8) {  // degenerate (lesion clipped away): a small circle instead
    const cv::Point2d c =
        outline.empty() ? cv::Point2d(sc.size.width / 2.0, sc.size.height / 2.0) : outline[0];
    outline.clear();
    for (int i = 0; i < 16; ++i) {
      outline.push_back(c +
                        0.3 * sc.scale * cv::Point2d(std::cos(i * kPi / 8), std::sin(i * kPi / 8)));
    }
  }
  Lesion l;
  l.label = label;
  l.site = site;
  double w = 0, h = 0;
  for (const cv::Point2d& p : outline) {
    w = std::max(w, std::abs(p.x - outline[0].x)), h = std::max(h, std::abs(p.y - outline[0].y));
  }
  const double jitter = 0.01 * std::max(w, h);
  l.polygon = Annotate(outline, jitter, sc.size, rng);
  double x0 = sc.size.width, y0 = sc.size.height, x1 = 0, y1 = 0;
  for (const cv::Point2d& p : l.polygon) {
    x0 = std::min(x0, p.x), y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  }
  const double pad = 0.03 * std::max(x1 - x0, y1 - y0);
  x0 = std::max(0.0, x0 - rng.Uniform(0, pad)), y0 = std::max(0.0, y0 - rng.Uniform(0, pad));
  x1 = std::min(sc.size.width - 1.0, x1 + rng.Uniform(0, pad));
  y1 = std::min(sc.size.height - 1.0, y1 + rng.Uniform(0, pad));
  l.box = cv::Rect2d(x0, y0, x1 - x0, y1 - y0);
  return l;
}

// Thin band along the inside of a polygon's edge: a sclerotic rim.
Patch Rim(const Scene& sc, const std::vector<cv::Point2d>& outline, double width) {
  Patch hard = PolygonPatch(sc.size, outline, 0);
  if (hard.empty()) return hard;
  cv::Mat eroded;
  const int k = std::max(1, static_cast<int>(std::lround(width)));
  cv::erode(hard.m, eroded, cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * k + 1, 2 * k + 1}));
  hard.m -= eroded;
  cv::GaussianBlur(hard.m, hard.m, cv::Size(), 0.5 + 0.3 * width);
  return hard;
}

// Noise-modulated copy of a mask: moth-eaten destruction, cloudy osteoid.
Patch Modulate(const Patch& p, double sigma, double bias, double gain, Rng& rng) {
  Patch out = p;
  if (p.empty()) return out;
  cv::Mat n = NoiseField(p.roi.size(), sigma, rng) * gain + bias;
  cv::max(n, 0.0, n);
  cv::min(n, 1.0, n);
  out.m = p.m.mul(n);
  return out;
}

// Outer contour of a binary mask as about kOutlinePoints image points.
std::vector<cv::Point2d> Contour(const cv::Mat& hard, cv::Point offset) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(hard, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  if (contours.empty()) return {};
  size_t best = 0;
  for (size_t i = 1; i < contours.size(); ++i) {
    if (cv::contourArea(contours[i]) > cv::contourArea(contours[best])) best = i;
  }
  std::vector<cv::Point2d> outline;
  const auto& cont = contours[best];
  const size_t step = std::max<size_t>(1, cont.size() / kOutlinePoints);
  for (size_t i = 0; i < cont.size(); i += step) outline.push_back(cv::Point2d(cont[i] + offset));
  return outline;
}

std::vector<cv::Point2d> Outline(const Scene& sc, const Spot& s, double dv, double a, double b,
                                 double irregularity, Rng& rng) {
  return BlobOutline(sc.frame, s.U(), s.V() + dv, a, b, irregularity, kOutlinePoints, rng);
}

// --- Benign -----------------------------------------------------------------------

Lesion Osteochondroma(const Scene& sc, const std::string& label, Rng& rng, Canvas* c) {
  const Spot s = Place(sc, rng,
                       {{"tibia", 328},
                        {"femur", 159},
                        {"fibula", 76},
                        {"humerus", 55},
                        {"ulna", 16},
                        {"radius", 16}},
                       [&](const Bone& b) { return b.cap + b.flare * rng.Uniform(0.4, 1.8); });
  const Bone& b = *s.bone;
  const double R = s.R(), rs = s.Rs(), vis = Visibility(rng);
  // Grows from the metaphyseal cortex, pointing away from the joint.
  const double alpha = rng.Uniform(0.25, 1.0);
  const double du = b.dir * std::sin(alpha), dv = s.side * std::cos(alpha);
  const bool sessile = rng.Bernoulli(0.35);
  const double len = (sessile ? rng.Uniform(0.35, 0.8) : rng.Uniform(0.9, 2.4)) * rs;
  const double w = (sessile ? rng.Uniform(0.6, 1.1) : rng.Uniform(0.2, 0.38)) * rs;
  const double cap = sessile ? 0.7 * w : rng.Uniform(1.1, 1.9) * w;
  const double u0 = s.U(), v0 = s.V() + s.side * 0.85 * R;
  const double u1 = u0 + len * du, v1 = v0 + len * dv;
  const Frame& f = sc.frame;
  std::vector<cv::Point2d> stalk = {
      f.ToImage(u0 - 1.4 * w * dv, v0 + 1.4 * w * du), f.ToImage(u1 - w * dv, v1 + w * du),
      f.ToImage(u1 + w * dv, v1 - w * du), f.ToImage(u0 + 1.4 * w * dv, v0 - 1.4 * w * du)};
  for (int i = 0; i < 24; ++i) {  // cap
    const double t = 2 * kPi * i / 24;
    stalk.push_back(f.ToImage(u1 + cap * std::cos(t), v1 + cap * std::sin(t)));
  }
  Patch region = EmptyPatch(sc.size, stalk, 4);
  if (region.empty()) return Annotation(label, b.site, {}, sc, rng);
  cv::Mat hard = cv::Mat::zeros(region.roi.size(), CV_8UC1);
  std::vector<cv::Point> quad;
  for (int i = 0; i < 4; ++i) quad.emplace_back(cv::Point(stalk[i] - cv::Point2d(region.roi.tl())));
  cv::fillConvexPoly(hard, quad, cv::Scalar(255));
  const cv::Point2d tip = f.ToImage(u1, v1) - cv::Point2d(region.roi.tl());
  cv::circle(hard, cv::Point(tip), static_cast<int>(std::lround(cap)), cv::Scalar(255), cv::FILLED);
  // Projected thickness from the distance to the edge, with a cortical shell.
  cv::Mat dist;
  cv::distanceTransform(hard, dist, cv::DIST_L2, 3);
  double rmax = 1;
  cv::minMaxLoc(dist, nullptr, &rmax);
  const double shell = std::max(1.0, 0.18 * rmax);
  cv::Mat thick(dist.size(), CV_32FC1);
  for (int y = 0; y < dist.rows; ++y) {
    const float* d = dist.ptr<float>(y);
    float* t = thick.ptr<float>(y);
    for (int x = 0; x < dist.cols; ++x) {
      const double dd = std::min<double>(d[x], rmax);
      const double outer = Chord(rmax, rmax - dd);
      const double inner = dd > shell ? Chord(rmax - shell, rmax - dd) : 0;
      t[x] = static_cast<float>((outer - inner) + 0.55 * inner);
    }
  }
  cv::GaussianBlur(thick, thick, cv::Size(), 0.7);
  cv::Mat roi = c->bone(region.roi);
  // Denser than a plain cylinder of its width: the exostosis is cortical bone seen
  // partly end-on, about as bright as the host cortex.
  cv::max(roi, thick * (0.6 + 1.0 * vis), roi);

  // The annotator outlines what protrudes, plus its base at the host cortex.
  for (int y = 0; y < hard.rows; ++y) {
    uint8_t* h = hard.ptr<uint8_t>(y);
    for (int x = 0; x < hard.cols; ++x) {
      double u, v;
      f.ToLocal(x + region.roi.x, y + region.roi.y, &u, &v);
      const double e = (u - b.joint_end) * b.dir;
      if (std::abs(v - b.AxisV(e)) < b.Radius(e) - 0.12 * R) h[x] = 0;
    }
  }
  return Annotation(label, b.site, Contour(hard, region.roi.tl()), sc, rng);
}

Lesion BoneCyst(const Scene& sc, Rng& rng, Canvas* c) {
  const Spot s =
      Place(sc, rng, {{"humerus", 61}, {"femur", 41}, {"tibia", 20}, {"fibula", 6}, {"radius", 5}},
            [&](const Bone& b) { return b.cap + b.flare * rng.Uniform(0.4, 2.0); });
  const double R = s.R(), vis = Visibility(rng);
  const double a = rng.Uniform(0.8, 2.2) * s.Rs();
  const double b = s.bone->InnerRadius(s.e) * rng.Uniform(0.75, 1.05);
  const auto outline = Outline(sc, s, rng.Normal(0, 0.06) * R, a, b, 0.25, rng);
  Multiply(&c->bone, PolygonPatch(sc.size, outline, 0.5 + 0.02 * R), vis * rng.Uniform(0.5, 0.8));
  Add(&c->bone, Rim(sc, outline, 0.05 * R), vis * rng.Uniform(0.2, 0.4) * R);
  if (rng.Bernoulli(0.4)) {  // faint septa
    for (int i = rng.UniformInt(1, 2); i > 0; --i) {
      const int k = rng.UniformInt(0, kOutlinePoints - 1);
      const std::vector<cv::Point2d> line = {
          outline[k], outline[(k + kOutlinePoints / 2 + rng.UniformInt(-8, 8)) % kOutlinePoints]};
      Patch p = EmptyPatch(sc.size, line, 3);
      DrawPolyline(line, std::max(1.0, 0.025 * R), &p);
      Add(&c->bone, p, vis * 0.1 * R);
    }
  }
  return Annotation("simple bone cyst", s.bone->site, outline, sc, rng);
}

Lesion GiantCellTumor(const Scene& sc, Rng& rng, Canvas* c) {
  const Spot s = Place(
      sc, rng,
      {{"femur", 36}, {"tibia", 16}, {"radius", 12}, {"fibula", 7}, {"humerus", 5}, {"ulna", 3}},
      [&](const Bone& b) { return b.cap * rng.Uniform(0.6, 1.2) + 0.3 * b.flare; });
  const double R = s.R(), vis = Visibility(rng);
  const double a = rng.Uniform(1.2, 2.0) * s.Rs();
  const double b = rng.Uniform(0.6, 0.9) * R;
  const auto outline = Outline(sc, s, s.side * rng.Uniform(0.15, 0.45) * R, a, b, 0.4, rng);
  // Eccentric, expansile, lytic; fairly well defined but without a sclerotic rim:
  // the benign look closest to a malignant one.
  const Patch p = PolygonPatch(sc.size, outline, 1 + rng.Uniform(0.03, 0.1) * R);
  const double depth = vis * rng.Uniform(0.6, 0.9);
  Multiply(&c->bone, Modulate(p, 0.08 * R + 1, 0.8, 0.25, rng), depth);
  for (int i = rng.UniformInt(2, 4); i > 0; --i) {  // soap-bubble septa
    const int k = rng.UniformInt(0, kOutlinePoints - 1);
    const int k2 =
        (k + kOutlinePoints / 3 + rng.UniformInt(0, kOutlinePoints / 3)) % kOutlinePoints;
    const cv::Point2d mid = (outline[k] + outline[k2]) * 0.5;
    const cv::Point2d bend = (mid - outline[k]) * 0.2;
    const std::vector<cv::Point2d> line = {outline[k], mid + cv::Point2d(-bend.y, bend.x),
                                           outline[k2]};
    Patch q = EmptyPatch(sc.size, line, 3);
    DrawPolyline(line, std::max(1.0, 0.02 * R), &q);
    Add(&c->bone, q, vis * rng.Uniform(0.06, 0.14) * R);
  }
  return Annotation("giant cell tumor", s.bone->site, outline, sc, rng);
}

// Cortical lucency with sclerotic margins: osteofibrous dysplasia or, in the
// metaphysis, a non-ossifying fibroma.
Lesion CorticalLucency(const Scene& sc, const std::string& label, bool diaphysis, Rng& rng,
                       Canvas* c) {
  const Spot s =
      Place(sc, rng, {{"tibia", 29}, {"femur", 6}, {"humerus", 3}, {"radius", 2}, {"fibula", 2}},
            [&](const Bone& b) {
              return b.cap + b.flare * (diaphysis ? rng.Uniform(1.2, 3.5) : rng.Uniform(0.5, 1.5));
            });
  const double R = s.R(), vis = Visibility(rng);
  const double b = rng.Uniform(0.25, 0.45) * R;
  const double a = rng.Uniform(1.0, 2.6) * s.Rs();
  const auto outline = Outline(sc, s, s.side * (R - 0.8 * b), a, b, 0.55, rng);
  const Patch p = PolygonPatch(sc.size, outline, 0.5 + 0.02 * R);
  const double depth = vis * rng.Uniform(0.45, 0.75);
  Multiply(&c->bone, Modulate(p, 0.1 * R + 1, 0.7, 0.35, rng), depth);
  const double rim = vis * rng.Uniform(0.25, 0.45) * R;
  Add(&c->bone, Rim(sc, outline, rng.Uniform(0.05, 0.1) * R), rim);
  return Annotation(label, s.bone->site, outline, sc, rng);
}

// Central lucency with stippled (ring-and-arc) calcification: enchondroma.
Lesion Enchondroma(const Scene& sc, Rng& rng, Canvas* c) {
  const Spot s =
      Place(sc, rng, {{"femur", 43}, {"tibia", 21}, {"humerus", 17}, {"fibula", 4}, {"radius", 2}},
            [&](const Bone& b) { return b.cap + b.flare * rng.Uniform(0.5, 3.0); });
  const double R = s.R(), vis = Visibility(rng);
  const double a = rng.Uniform(0.8, 2.0) * s.Rs();
  const double b = s.bone->InnerRadius(s.e) * rng.Uniform(0.6, 0.85);
  const auto outline = Outline(sc, s, 0, a, b, 0.35, rng);
  Multiply(&c->bone, PolygonPatch(sc.size, outline, 1 + 0.04 * R), vis * rng.Uniform(0.3, 0.55));
  Patch dots = EmptyPatch(sc.size, outline, 3);
  for (int i = rng.UniformInt(8, 25); i > 0; --i) {
    const double t = rng.Uniform(0, 2 * kPi), r = std::sqrt(rng.Uniform()) * 0.8;
    const cv::Point2d p =
        sc.frame.ToImage(s.U() + a * r * std::cos(t), s.V() + b * r * std::sin(t));
    const double rad = rng.Uniform(0.03, 0.07) * R;
    std::vector<cv::Point2d> ring;
    for (int k = 0; k <= 10; ++k) {
      ring.push_back(p + cv::Point2d(rad * std::cos(k * 0.5), rad * std::sin(k * 0.5)));
    }
    DrawPolyline(ring, std::max(1.0, 0.3 * rad), &dots);
  }
  Add(&c->bone, dots, vis * rng.Uniform(0.35, 0.6) * R);
  return Annotation("other bt", s.bone->site, outline, sc, rng);
}

// Calcified loose bodies in the joint (synovial chondromatosis).
Lesion LooseBodies(const Scene& sc, Rng& rng, Canvas* c) {
  const double r0 = sc.scale, vis = Visibility(rng);
  double ju = sc.joint_u, jv = sc.tissue_v + rng.Normal(0, 0.5) * r0;
  const double margin = 0.1 * std::min(sc.size.width, sc.size.height);
  // Pull the cluster into the field if the joint sits at its edge.
  for (int i = 0; i < 20 && !sc.Inside(sc.frame.ToImage(ju, jv), margin); ++i) {
    double u, v;
    sc.frame.ToLocal(sc.size.width / 2.0, sc.size.height / 2.0, &u, &v);
    ju += 0.2 * (u - ju), jv += 0.2 * (v - jv);
  }
  std::vector<cv::Point2d> edge;
  Patch bodies = EmptyPatch(sc.size, {sc.frame.ToImage(ju, jv)}, 3.5 * r0);
  for (int i = rng.UniformInt(6, 20); i > 0; --i) {
    const double bu = ju + rng.Normal(0, 0.8) * r0, bv = jv + rng.Normal(0, 0.9) * r0;
    const double rad = rng.Uniform(0.1, 0.25) * r0;
    std::vector<cv::Point2d> ring;
    for (int k = 0; k <= 16; ++k) {
      ring.push_back(
          sc.frame.ToImage(bu + rad * std::cos(k * kPi / 8), bv + rad * std::sin(k * kPi / 8)));
    }
    const cv::Point2d centre = sc.frame.ToImage(bu, bv) - cv::Point2d(bodies.roi.tl());
    cv::circle(bodies.m, cv::Point(centre), static_cast<int>(rad), cv::Scalar(0.6), cv::FILLED,
               cv::LINE_AA);
    DrawPolyline(ring, std::max(1.0, 0.35 * rad), &bodies);  // brighter calcified rim
    edge.insert(edge.end(), ring.begin(), ring.end());
  }
  cv::GaussianBlur(bodies.m, bodies.m, cv::Size(), 0.8);
  Add(&c->bone, bodies, vis * rng.Uniform(0.4, 0.8) * r0);
  // The annotator circles the cluster: its convex hull, rounded by a margin.
  std::vector<cv::Point> pts, hull;
  for (const cv::Point2d& p : edge) pts.push_back(cv::Point(p - cv::Point2d(bodies.roi.tl())));
  cv::convexHull(pts, hull);
  cv::Mat hard = cv::Mat::zeros(bodies.roi.size(), CV_8UC1);
  cv::fillConvexPoly(hard, hull, cv::Scalar(255));
  const int k = std::max(1, static_cast<int>(0.15 * r0));
  cv::dilate(hard, hard, cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * k + 1, 2 * k + 1}));
  return Annotation("synovial osteochondroma", sc.joint_site, Contour(hard, bodies.roi.tl()), sc,
                    rng);
}

// --- Malignant --------------------------------------------------------------------

// Spicules radiating from the cortex into the soft-tissue mass.
void Sunburst(const Scene& sc, const Spot& s, double a, double reach, double amount, Rng& rng,
              Canvas* c) {
  const Bone& b = *s.bone;
  const Frame& f = sc.frame;
  std::vector<cv::Point2d> all;
  std::vector<std::vector<cv::Point2d>> lines;
  for (int i = rng.UniformInt(20, 60); i > 0; --i) {
    const double e = s.e + rng.Uniform(-0.8, 0.8) * a;
    const double u = b.U(e), v = b.AxisV(e) + s.side * b.Radius(e) * 0.95;
    double du = 0.6 * (u - s.U()) / a, dv = s.side;
    const double n = std::hypot(du, dv);
    du /= n, dv /= n;
    const double len = reach * rng.Uniform(0.3, 1.0);
    lines.push_back({f.ToImage(u, v), f.ToImage(u + du * len, v + dv * len)});
    all.insert(all.end(), lines.back().begin(), lines.back().end());
  }
  Patch p = EmptyPatch(sc.size, all, 3);
  for (const auto& l : lines) DrawPolyline(l, std::max(0.7, 0.025 * s.R()), &p);
  Add(&c->bone, p, amount);
}

// Codman triangle: periosteum lifted off the cortex at the lesion's shaft-side edge.
void Codman(const Scene& sc, const Spot& s, double a, double amount, Rng& rng, Canvas* c) {
  const Bone& b = *s.bone;
  const Frame& f = sc.frame;
  const double toward = rng.Bernoulli(0.7) ? 1.0 : -1.0;  // mostly on the shaft side
  const double e_edge = s.e + toward * 0.9 * a, R = b.Radius(e_edge);
  const double u = b.U(e_edge), v = b.AxisV(e_edge) + s.side * R;
  const double back = -toward * b.dir * rng.Uniform(0.4, 0.8) * R;  // towards the centre
  const double lift = s.side * rng.Uniform(0.2, 0.45) * R;
  const std::vector<cv::Point2d> tri = {f.ToImage(u, v), f.ToImage(u + back, v),
                                        f.ToImage(u + back, v + lift)};
  Patch p = PolygonPatch(sc.size, tri, 0.7);
  Add(&c->bone, p, 0.3 * amount);
  Patch line = EmptyPatch(sc.size, tri, 3);
  DrawPolyline({tri[0], tri[2]}, std::max(1.0, 0.03 * R), &line);
  Add(&c->bone, line, amount);
}

// Lamellated ("onion skin") periosteal reaction along the shaft.
void OnionSkin(const Scene& sc, const Spot& s, double a, double amount, Rng& rng, Canvas* c) {
  const Bone& b = *s.bone;
  const int layers = rng.UniformInt(2, 4);
  const bool both = rng.Bernoulli(0.5);
  for (int side = -1; side <= 1; side += 2) {
    if (!both && side != s.side) continue;
    for (int k = 1; k <= layers; ++k) {
      std::vector<cv::Point2d> line;
      const double half = a * (1.0 - 0.15 * k);
      for (int i = 0; i <= 16; ++i) {
        const double e = s.e - half + 2 * half * i / 16.0;
        line.push_back(
            sc.frame.ToImage(b.U(e), b.AxisV(e) + side * (b.Radius(e) + 0.09 * k * s.R())));
      }
      Patch p = EmptyPatch(sc.size, line, 3);
      DrawPolyline(line, std::max(0.8, 0.025 * s.R()), &p);
      Add(&c->bone, p, amount);
    }
  }
}

Lesion Osteosarcoma(const Scene& sc, Rng& rng, Canvas* c) {
  const Spot s = Place(
      sc, rng,
      {{"femur", 148}, {"humerus", 58}, {"tibia", 41}, {"fibula", 16}, {"ulna", 8}, {"radius", 4}},
      [&](const Bone& b) { return b.cap + b.flare * rng.Uniform(0.3, 1.8); });
  const double R = s.R(), vis = Visibility(rng);
  const double a = rng.Uniform(1.3, 2.8) * s.Rs();
  // Telangiectatic-like variant: purely lytic, no mass, no periosteal reaction; looks
  // like a giant cell tumour or a cyst.
  const bool lytic_only = rng.Bernoulli(0.15);
  const double ext = lytic_only ? 0 : rng.Uniform(0.4, 1.5) * R;  // soft-tissue extension
  const double ext_other = rng.Uniform(0.0, 0.4) * R;
  const double half = (2 * R + ext + ext_other) / 2;
  const double dv = s.side * (ext - ext_other) / 2;
  const auto outline = Outline(sc, s, dv, a, half, 0.6, rng);
  const Patch region = PolygonPatch(sc.size, outline, 1 + rng.Uniform(0.08, 0.18) * R);
  const double depth = vis * rng.Uniform(0.35, 0.75);
  Multiply(&c->bone, Modulate(region, 0.05 * R + 0.7, 0.5, 0.5, rng), depth);
  if (!lytic_only) {
    const double sclerosis = rng.Uniform();  // osteoid matrix, cloud-like
    const double osteoid = vis * sclerosis * rng.Uniform(0.25, 0.6) * R;
    Add(&c->bone, Modulate(region, 0.12 * R + 1, -0.1, 0.6, rng), osteoid);
    Add(&c->soft, PolygonPatch(sc.size, outline, 0.15 * R + 1), vis * rng.Uniform(1.5, 3.0) * R);
    if (rng.Bernoulli(0.75))
      Sunburst(sc, s, a, ext + 0.2 * R, vis * rng.Uniform(0.2, 0.45) * R, rng, c);
    if (rng.Bernoulli(0.5)) Codman(sc, s, a, vis * rng.Uniform(0.2, 0.4) * R, rng, c);
  }
  return Annotation("osteosarcoma", s.bone->site, outline, sc, rng);
}

Lesion OtherMalignant(const Scene& sc, Rng& rng, Canvas* c) {
  const bool permeative = rng.Bernoulli(0.5);  // Ewing-like shaft lesion
  const Spot s =
      Place(sc, rng, {{"tibia", 13}, {"femur", 8}, {"humerus", 7}, {"fibula", 4}, {"radius", 2}},
            [&](const Bone& b) {
              return b.cap + b.flare * (permeative ? rng.Uniform(1.0, 3.5) : rng.Uniform(0.2, 2.0));
            });
  const double R = s.R(), vis = Visibility(rng);
  if (permeative) {
    const double a = rng.Uniform(1.5, 3.2) * s.Rs();
    const double ext = rng.Uniform(0.15, 0.9) * R;
    const auto outline = Outline(sc, s, 0, a, R + ext, 0.3, rng);
    const Patch region = PolygonPatch(sc.size, outline, 1 + 0.1 * R);
    Patch holes = region;  // same ROI, so the two masks multiply pixel for pixel
    holes.m = cv::Mat::zeros(region.roi.size(), CV_32FC1);
    for (int i = rng.UniformInt(40, 110); i > 0; --i) {
      const double t = rng.Uniform(0, 2 * kPi), r = std::sqrt(rng.Uniform()) * 0.9;
      const cv::Point2d p =
          sc.frame.ToImage(s.U() + a * r * std::cos(t), s.V() + R * r * std::sin(t));
      const double rad = rng.Uniform(0.03, 0.08) * R;
      cv::circle(holes.m, cv::Point(p - cv::Point2d(holes.roi.tl())),
                 std::max(1, static_cast<int>(std::lround(rad))), cv::Scalar(1.0), cv::FILLED,
                 cv::LINE_AA);
    }
    if (!holes.empty()) {
      cv::GaussianBlur(holes.m, holes.m, cv::Size(), 0.5 + 0.03 * R);
      holes.m = holes.m.mul(region.m);
    }
    Multiply(&c->bone, holes, vis * rng.Uniform(0.4, 0.8));
    Add(&c->soft, region, vis * rng.Uniform(1.0, 2.5) * R);
    if (rng.Bernoulli(0.7)) OnionSkin(sc, s, a, vis * rng.Uniform(0.12, 0.3) * R, rng, c);
    return Annotation("other mt", s.bone->site, outline, sc, rng);
  }
  // Geographic destruction with a cortical breach and a small mass (metastasis,
  // chondrosarcoma): ill-defined, otherwise much like a giant cell tumour.
  const double a = rng.Uniform(0.8, 1.8) * s.Rs();
  const double b = rng.Uniform(0.6, 1.1) * R;
  const auto outline = Outline(sc, s, s.side * rng.Uniform(0.1, 0.5) * R, a, b, 0.5, rng);
  const Patch region = PolygonPatch(sc.size, outline, 1 + rng.Uniform(0.1, 0.2) * R);
  const double depth = vis * rng.Uniform(0.4, 0.75);
  Multiply(&c->bone, Modulate(region, 0.06 * R + 0.7, 0.6, 0.5, rng), depth);
  Add(&c->soft, region, vis * rng.Uniform(0.5, 2.0) * R);
  return Annotation("other mt", s.bone->site, outline, sc, rng);
}

}  // namespace

bool NeedsJoint(const std::string& subtype) {
  return subtype != "osteofibroma" && subtype != "other mt";
}

std::vector<Lesion> PaintLesions(const std::string& subtype, const Scene& sc, Rng& rng, Canvas* c) {
  if (subtype == "osteochondroma") return {Osteochondroma(sc, subtype, rng, c)};
  if (subtype == "multiple osteochondromas") {
    std::vector<Lesion> out;
    for (int i = rng.UniformInt(2, 4); i > 0; --i)
      out.push_back(Osteochondroma(sc, subtype, rng, c));
    return out;
  }
  if (subtype == "simple bone cyst") return {BoneCyst(sc, rng, c)};
  if (subtype == "giant cell tumor") return {GiantCellTumor(sc, rng, c)};
  if (subtype == "osteofibroma") return {CorticalLucency(sc, subtype, true, rng, c)};
  if (subtype == "synovial osteochondroma") return {LooseBodies(sc, rng, c)};
  if (subtype == "other bt") {
    if (rng.Bernoulli(0.5)) return {Enchondroma(sc, rng, c)};
    return {CorticalLucency(sc, subtype, false, rng, c)};
  }
  if (subtype == "osteosarcoma") return {Osteosarcoma(sc, rng, c)};
  return {OtherMalignant(sc, rng, c)};
}

}  // namespace explainer::phantom
