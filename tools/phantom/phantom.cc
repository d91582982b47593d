// Case generation for the phantom: demographics, subtype, anatomy, painting, film.
#include "tools/phantom/phantom.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_format.h"
#include "tools/phantom/bone_painter.h"
#include "tools/phantom/film.h"
#include "tools/phantom/random.h"

namespace explainer::phantom {
namespace {

constexpr int kBlock = 10;

struct SubtypeProfile {
  const char* name;
  double weight;                     // share within its class
  double age_q10, age_q50, age_q90;  // BTXRD's age deciles for the subtype
  std::vector<double> anatomy;       // knee, ankle, shoulder, elbow, wrist
};

// Shares follow BTXRD, with the rare subtypes a little more frequent so that a small
// demo set still shows them.
const std::vector<SubtypeProfile>& Profiles(Diagnosis d) {
  static const std::vector<SubtypeProfile> kBenign = {
      {"osteochondroma", 0.38, 11, 38, 65, {0.65, 0.1, 0.12, 0.05, 0.08}},
      {"multiple osteochondromas", 0.13, 9, 12, 40, {0.7, 0.1, 0.08, 0.04, 0.08}},
      {"simple bone cyst", 0.15, 7, 17, 60, {0.4, 0.05, 0.45, 0.05, 0.05}},
      {"giant cell tumor", 0.10, 13, 30, 61, {0.65, 0.0, 0.1, 0.05, 0.2}},
      {"osteofibroma", 0.06, 4, 19, 58, {0.7, 0.2, 0.05, 0.05, 0.0}},
      {"synovial osteochondroma", 0.06, 28, 62, 75, {0.8, 0.08, 0.0, 0.12, 0.0}},
      {"other bt", 0.12, 10, 30, 60, {0.6, 0.1, 0.2, 0.05, 0.05}}};
  static const std::vector<SubtypeProfile> kMalignant = {
      {"osteosarcoma", 0.8, 10, 17, 65, {0.65, 0.05, 0.25, 0.03, 0.02}},
      {"other mt", 0.2, 9, 25, 60, {0.55, 0.15, 0.2, 0.05, 0.05}}};
  return d == Diagnosis::kBenign ? kBenign : kMalignant;
}

// Piecewise-uniform over BTXRD's deciles: 10% below q10, 40% to the median, 40% to
// q90, 10% above.
int DrawAge(double q10, double q50, double q90, Rng& rng) {
  const double x = rng.Uniform();
  double age;
  if (x < 0.1) {
    age = rng.Uniform(std::max(2.0, q10 - 8), q10);
  } else if (x < 0.5) {
    age = rng.Uniform(q10, q50);
  } else if (x < 0.9) {
    age = rng.Uniform(q50, q90);
  } else {
    age = rng.Uniform(q90, std::min(88.0, q90 + 15));
  }
  return static_cast<int>(std::lround(age));
}

}  // namespace

std::string Stem(int id) { return absl::StrFormat("IMG%06d", id); }

Diagnosis DiagnosisFor(uint64_t seed, int id, const std::array<double, 3>& mix) {
  // Largest-remainder rounding of the mix to kBlock slots.
  const double total = mix[0] + mix[1] + mix[2];
  int counts[3], used = 0;
  double rem[3];
  for (int i = 0; i < 3; ++i) {
    const double exact = kBlock * mix[i] / total;
    counts[i] = static_cast<int>(std::floor(exact));
    rem[i] = exact - counts[i];
    used += counts[i];
  }
  while (used < kBlock) {
    const int i = static_cast<int>(std::max_element(rem, rem + 3) - rem);
    ++counts[i], ++used;
    rem[i] = -1;
  }
  std::vector<int> slots;
  for (int i = 0; i < 3; ++i) slots.insert(slots.end(), counts[i], i);
  const int block = (id - 1) / kBlock, pos = ((id - 1) % kBlock + kBlock) % kBlock;
  Rng rng(MixSeed(seed ^ 0x5ca1ab1e5eedULL, static_cast<uint64_t>(block)));
  for (int i = kBlock - 1; i > 0; --i) std::swap(slots[i], slots[rng.UniformInt(0, i)]);
  return static_cast<Diagnosis>(slots[pos]);
}

PhantomCase GenerateCase(uint64_t seed, int id, Diagnosis diagnosis, bool with_twin) {
  Rng rng(MixSeed(seed, static_cast<uint64_t>(id)));
  PhantomCase out;
  out.stem = Stem(id);
  CaseRecord& rec = out.record;
  rec.image_id = out.stem + ".jpeg";
  rec.diagnosis = diagnosis;
  rec.center = 1 + static_cast<int>(rng.Choose({0.78, 0.15, 0.07}));
  rec.gender = rng.Bernoulli(0.56) ? 'M' : 'F';

  SceneRequest request;
  static const char* kAnatomies[] = {"knee", "ankle", "shoulder", "elbow", "wrist"};
  if (diagnosis == Diagnosis::kNormal) {
    rec.age = DrawAge(11, 40, 64, rng);
  } else {
    const auto& profiles = Profiles(diagnosis);
    std::vector<double> w;
    for (const auto& p : profiles) w.push_back(p.weight);
    const SubtypeProfile& p = profiles[rng.Choose(w)];
    rec.subtype = p.name;
    rec.age = DrawAge(p.age_q10, p.age_q50, p.age_q90, rng);
    request.anatomy = kAnatomies[rng.Choose(p.anatomy)];
    request.need_joint = NeedsJoint(rec.subtype);
  }
  request.physis_open = rec.age < (rec.gender == 'F' ? 15 : 17);

  // 600-1600 px, mostly portrait like most long-bone films.
  const int long_side = rng.UniformInt(800, 1600);
  const int short_side = std::max(600, static_cast<int>(long_side * rng.Uniform(0.5, 0.95)));
  const cv::Size size =
      rng.Bernoulli(0.75) ? cv::Size(short_side, long_side) : cv::Size(long_side, short_side);

  const Scene scene = BuildScene(size, request, rng);
  rec.region = scene.region;
  rec.view = scene.view;
  Canvas canvas;
  PaintAnatomy(scene, rng, &canvas);
  // The film (exposure, grain, labels) draws from its own stream, so that a twin
  // without lesions gets exactly the same film.
  Rng film_rng(MixSeed(seed ^ 0xf11f11f11fULL, static_cast<uint64_t>(id)));
  if (diagnosis != Diagnosis::kNormal) {
    if (with_twin) {
      Canvas clean{canvas.soft.clone(), canvas.bone.clone()};
      Rng twin_film = film_rng;
      out.lesion_free = Expose(scene, clean, twin_film);
    }
    out.lesions = PaintLesions(rec.subtype, scene, rng, &canvas);
    for (const Lesion& l : out.lesions) rec.sites.insert(l.site);
  }
  out.image = Expose(scene, canvas, film_rng);
  out.jpeg_quality = rng.UniformInt(88, 96);
  return out;
}

}  // namespace explainer::phantom
