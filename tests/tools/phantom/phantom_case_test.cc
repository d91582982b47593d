// The phantom generator as a library: GenerateCase is a pure function of (seed, id,
// diagnosis), DiagnosisFor deals the class mix per block of ten, and the image,
// annotations (read back with common/'s LabelMe parser and mask rasteriser, not the
// writer) and dataset.csv row agree with each other and with BTXRD's conventions.
#include "tools/phantom/phantom.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "common/labelme.h"
#include "common/mask.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/status_matchers.h"
#include "tools/phantom/btxrd_csv.h"
#include "tools/phantom/labelme_writer.h"
#include "tools/phantom/lesion_painter.h"

namespace explainer::phantom {
namespace {

using ::explainer::testing::IsOk;
using Mix = std::array<double, 3>;
constexpr Mix kDefaultMix = {0.5, 0.4, 0.1};

// A fixed sample shared by the tests: ids 1-40 of seed 11 with 2 Normal, 5 Benign and
// 3 Malignant per block of ten (8 + 20 + 12 cases), generated once (~0.25 s a case).
constexpr uint64_t kSeed = 11;
constexpr Mix kSampleMix = {2, 5, 3};

const std::vector<PhantomCase>& Sample() {
  static const std::vector<PhantomCase>* cases = [] {
    auto* out = new std::vector<PhantomCase>;
    for (int id = 1; id <= 40; ++id) {
      out->push_back(GenerateCase(kSeed, id, DiagnosisFor(kSeed, id, kSampleMix)));
    }
    return out;
  }();
  return *cases;
}

bool SameImage(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

bool SameLesions(const std::vector<Lesion>& a, const std::vector<Lesion>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].label != b[i].label || a[i].site != b[i].site || a[i].polygon != b[i].polygon ||
        a[i].box != b[i].box) {
      return false;
    }
  }
  return true;
}

bool Contains(const char* const* begin, const char* const* end, const std::string& s) {
  return std::find(begin, end, s) != end;
}

// ---------------------------------------------------------------- determinism

TEST(GenerateCaseTest, SameSeedIdAndDiagnosisGiveTheSameCase) {
  for (Diagnosis d : {Diagnosis::kNormal, Diagnosis::kBenign, Diagnosis::kMalignant}) {
    SCOPED_TRACE(static_cast<int>(d));
    const PhantomCase a = GenerateCase(7, 3, d);
    const PhantomCase b = GenerateCase(7, 3, d);
    EXPECT_EQ(a.stem, "IMG000003");
    EXPECT_EQ(a.stem, b.stem);
    EXPECT_TRUE(SameImage(a.image, b.image));
    EXPECT_EQ(a.jpeg_quality, b.jpeg_quality);
    EXPECT_TRUE(SameLesions(a.lesions, b.lesions));
    EXPECT_EQ(BtxrdRow(a.record), BtxrdRow(b.record));
  }
}

TEST(GenerateCaseTest, AnotherSeedOrIdGivesAnotherImage) {
  const PhantomCase base = GenerateCase(7, 3, Diagnosis::kBenign);
  EXPECT_FALSE(SameImage(base.image, GenerateCase(8, 3, Diagnosis::kBenign).image));
  EXPECT_FALSE(SameImage(base.image, GenerateCase(7, 4, Diagnosis::kBenign).image));
}

TEST(StemTest, IsSixDigitId) {
  EXPECT_EQ(Stem(1), "IMG000001");
  EXPECT_EQ(Stem(999999), "IMG999999");
}

// ---------------------------------------------------------------- class mix

// Per-class counts in the aligned block of ten starting at id `first`.
std::array<int, 3> BlockCounts(uint64_t seed, int first, const Mix& mix) {
  std::array<int, 3> counts = {0, 0, 0};
  for (int id = first; id < first + 10; ++id)
    ++counts[static_cast<int>(DiagnosisFor(seed, id, mix))];
  return counts;
}

TEST(DiagnosisForTest, EveryBlockOfTenHasTheMix) {
  const struct {
    Mix mix;
    std::array<int, 3> counts;
  } kCases[] = {{kDefaultMix, {5, 4, 1}},
                {{0.2, 0.3, 0.5}, {2, 3, 5}},
                {{2, 3, 5}, {2, 3, 5}},  // weights, not shares
                {{0, 0, 1}, {0, 0, 10}}};
  for (const auto& c : kCases) {
    for (uint64_t seed : {1u, 5u, 12345u}) {
      for (int first = 1; first <= 991; first += 10) {
        ASSERT_EQ(BlockCounts(seed, first, c.mix), c.counts)
            << "mix " << c.mix[0] << "," << c.mix[1] << "," << c.mix[2] << " seed " << seed
            << " ids " << first << "-" << first + 9;
      }
    }
  }
}

std::string Sequence(uint64_t seed, int first, int count, const Mix& mix) {
  std::string s;
  for (int id = first; id < first + count; ++id) {
    s += static_cast<char>('0' + static_cast<int>(DiagnosisFor(seed, id, mix)));
  }
  return s;
}

TEST(DiagnosisForTest, OrderIsSeededPerBlock) {
  const std::string a = Sequence(5, 1, 100, kDefaultMix);
  EXPECT_EQ(a, Sequence(5, 1, 100, kDefaultMix));
  EXPECT_NE(a, Sequence(6, 1, 100, kDefaultMix));
  // Not one order repeated: the blocks are shuffled independently.
  std::set<std::string> orders;
  for (int b = 0; b < 10; ++b) orders.insert(a.substr(10 * b, 10));
  EXPECT_GT(orders.size(), 1u) << a;
}

// ---------------------------------------------------------------- image

TEST(GenerateCaseTest, ImageIsGraySizedLikeBtxrdAndNotFlat) {
  // phantom.cc: "600-1600 px" on both sides.
  for (const PhantomCase& c : Sample()) {
    SCOPED_TRACE(c.stem);
    ASSERT_EQ(c.image.type(), CV_8UC1);
    EXPECT_GE(std::min(c.image.cols, c.image.rows), 600);
    EXPECT_LE(std::max(c.image.cols, c.image.rows), 1600);
    double lo = 0, hi = 0;
    cv::minMaxLoc(c.image, &lo, &hi);
    EXPECT_GT(hi - lo, 100);  // measured: at least 229 on the sample
    EXPECT_GE(c.jpeg_quality, 88);
    EXPECT_LE(c.jpeg_quality, 96);
  }
}

// ---------------------------------------------------------------- lesions

TEST(GenerateCaseTest, LesionsMatchTheDiagnosis) {
  std::array<int, 3> seen = {0, 0, 0};
  for (const PhantomCase& c : Sample()) {
    SCOPED_TRACE(c.stem);
    const CaseRecord& r = c.record;
    EXPECT_EQ(r.image_id, c.stem + ".jpeg");
    ++seen[static_cast<int>(r.diagnosis)];
    switch (r.diagnosis) {
      case Diagnosis::kNormal:
        EXPECT_TRUE(c.lesions.empty());
        EXPECT_EQ(r.subtype, "");
        EXPECT_TRUE(r.sites.empty());
        continue;
      case Diagnosis::kBenign:
        EXPECT_TRUE(Contains(std::begin(kBenignSubtypes), std::end(kBenignSubtypes), r.subtype))
            << r.subtype;
        break;
      case Diagnosis::kMalignant:
        EXPECT_TRUE(
            Contains(std::begin(kMalignantSubtypes), std::end(kMalignantSubtypes), r.subtype))
            << r.subtype;
        break;
    }
    ASSERT_FALSE(c.lesions.empty());
    std::set<std::string> sites;
    for (const Lesion& l : c.lesions) {
      EXPECT_EQ(l.label, r.subtype);
      EXPECT_FALSE(l.site.empty());
      sites.insert(l.site);
    }
    EXPECT_EQ(sites, r.sites);
  }
  EXPECT_EQ(seen, (std::array<int, 3>{8, 20, 12}));
}

// ---------------------------------------------------------------- LabelMe

TEST(LabelMeJsonTest, ParsesIntoOneRectangleAndOnePolygonPerLesion) {
  for (const PhantomCase& c : Sample()) {
    if (c.lesions.empty()) continue;
    SCOPED_TRACE(c.stem);
    const cv::Size size = c.image.size();
    const absl::StatusOr<common::LabelMeAnnotation> a =
        common::ParseLabelMe(LabelMeJson(c.lesions, c.record.image_id, size));
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->image_path, c.record.image_id);
    EXPECT_EQ(a->image_width, size.width);
    EXPECT_EQ(a->image_height, size.height);
    const size_t n = c.lesions.size();
    ASSERT_EQ(a->shapes.size(), 2 * n);
    for (size_t i = 0; i < n; ++i) {
      // Rectangles first, then polygons, each in lesion order (BTXRD's usual layout).
      const common::LabelMeShape& rect = a->shapes[i];
      const common::LabelMeShape& poly = a->shapes[n + i];
      EXPECT_EQ(rect.shape_type, "rectangle");
      EXPECT_EQ(poly.shape_type, "polygon");
      EXPECT_EQ(rect.label, c.record.subtype);
      EXPECT_EQ(poly.label, c.record.subtype);
      ASSERT_GE(poly.points.size(), 3u);
      for (const cv::Point2d& p : poly.points) {
        EXPECT_TRUE(p.x >= 0 && p.y >= 0 && p.x <= size.width && p.y <= size.height) << p;
      }
      const absl::StatusOr<cv::Mat> poly_mask = common::ShapeToMask(size, poly);
      const absl::StatusOr<cv::Mat> rect_mask = common::ShapeToMask(size, rect);
      ASSERT_THAT(poly_mask, IsOk());
      ASSERT_THAT(rect_mask, IsOk());
      const int area = cv::countNonZero(*poly_mask);
      EXPECT_GT(area, 0);
      const int inside_rect = cv::countNonZero(*poly_mask & *rect_mask);
      // The rectangle is the polygon's bounding box plus a margin: measured 100% inside.
      EXPECT_GE(inside_rect, 0.99 * area) << "lesion " << i;
    }
  }
}

// ---------------------------------------------------------------- dataset.csv

TEST(BtxrdRowTest, HandMadeRecord) {
  CaseRecord r;
  r.image_id = "IMG000042.jpeg";
  r.center = 2;
  r.age = 17;
  r.gender = 'F';
  r.diagnosis = Diagnosis::kMalignant;
  r.subtype = "osteosarcoma";
  r.sites = {"femur", "knee-joint"};
  r.region = "lower limb";
  r.view = "lateral";
  // Columns written out from kBtxrdHeader by hand.
  EXPECT_EQ(BtxrdRow(r),
            "IMG000042.jpeg,2,17,F,"
            "0,0,0,0,0,0,0,1,0,0,1,0,0,0,0,"  // hand .. shoulder-joint: femur, knee-joint
            "1,0,1,"                          // tumor, benign, malignant
            "0,0,0,0,0,0,0,1,0,"              // osteochondroma .. other mt: osteosarcoma
            "0,1,0,"                          // upper limb, lower limb, pelvis
            "0,1,0");                         // frontal, lateral, oblique
}

TEST(BtxrdRowTest, OneHotColumnsAgreeWithTheCase) {
  const std::vector<std::string> header = absl::StrSplit(kBtxrdHeader, ',');
  ASSERT_EQ(header.size(), 37u);
  std::set<std::string> subtypes(std::begin(kBenignSubtypes), std::end(kBenignSubtypes));
  subtypes.insert(std::begin(kMalignantSubtypes), std::end(kMalignantSubtypes));
  const std::set<std::string> regions = {"upper limb", "lower limb", "pelvis"};
  const std::set<std::string> views = {"frontal", "lateral", "oblique"};
  for (const PhantomCase& c : Sample()) {
    SCOPED_TRACE(c.stem);
    const CaseRecord& r = c.record;
    const std::vector<std::string> cells = absl::StrSplit(BtxrdRow(r), ',');
    ASSERT_EQ(cells.size(), header.size());
    EXPECT_EQ(cells[0], r.image_id);
    std::set<std::string> on_subtypes, on_regions, on_views, on_sites;
    for (size_t i = 4; i < header.size(); ++i) {
      const std::string& col = header[i];
      ASSERT_TRUE(cells[i] == "0" || cells[i] == "1") << col << "=" << cells[i];
      const bool on = cells[i] == "1";
      if (col == "tumor") {
        EXPECT_EQ(on, r.diagnosis != Diagnosis::kNormal);
      } else if (col == "benign") {
        EXPECT_EQ(on, r.diagnosis == Diagnosis::kBenign);
      } else if (col == "malignant") {
        EXPECT_EQ(on, r.diagnosis == Diagnosis::kMalignant);
      } else if (!on) {
        continue;
      } else if (subtypes.count(col)) {
        on_subtypes.insert(col);
      } else if (regions.count(col)) {
        on_regions.insert(col);
      } else if (views.count(col)) {
        on_views.insert(col);
      } else {
        on_sites.insert(col);
      }
    }
    if (r.diagnosis == Diagnosis::kNormal) {
      EXPECT_TRUE(on_subtypes.empty());
    } else {
      EXPECT_EQ(on_subtypes, std::set<std::string>{r.subtype});
    }
    EXPECT_EQ(on_regions.size(), 1u);
    EXPECT_EQ(on_views.size(), 1u);
    EXPECT_EQ(on_sites, r.sites);
  }
}

// ---------------------------------------------------------------- conspicuity

// |mean inside `mask` - mean of a ring just outside it| in gray levels; the ring is
// 0.15 * sqrt(area) wide (about 15% of the lesion's size), at least 3 px.
double RingContrast(const cv::Mat& image, const cv::Mat& mask) {
  const int r =
      std::max(3, static_cast<int>(std::lround(0.15 * std::sqrt(cv::countNonZero(mask)))));
  cv::Mat grown;
  cv::dilate(mask, grown, cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * r + 1, 2 * r + 1}));
  const cv::Mat ring = grown & (mask == 0);
  return std::abs(cv::mean(image, mask)[0] - cv::mean(image, ring)[0]);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Each annotated polygon against a ring just outside it, and as a control the same
// polygon and ring on the image turned by 180 degrees (anatomy, no lesion there).
// Measured on the sample (44 lesions in 32 tumour cases): lesion contrast median 30.3
// gray levels, 38 of 44 at >= 8 (the six below: two "other mt", an "other bt", a
// loose-body cluster, a solitary and one of multiple osteochondromas); control median
// 6.5, 17 of 44 at >= 8. Invisible lesions would look like the control and fail.
TEST(GenerateCaseTest, LesionsStandOutFromTheirSurroundings) {
  std::vector<double> lesion, control;
  for (const PhantomCase& c : Sample()) {
    if (c.lesions.empty()) continue;
    const absl::StatusOr<common::LabelMeAnnotation> a =
        common::ParseLabelMe(LabelMeJson(c.lesions, c.record.image_id, c.image.size()));
    ASSERT_THAT(a, IsOk());
    cv::Mat rotated;
    cv::rotate(c.image, rotated, cv::ROTATE_180);
    const size_t n = c.lesions.size();
    for (size_t i = 0; i < n; ++i) {
      const absl::StatusOr<cv::Mat> mask = common::ShapeToMask(c.image.size(), a->shapes[n + i]);
      ASSERT_THAT(mask, IsOk());
      lesion.push_back(RingContrast(c.image, *mask));
      control.push_back(RingContrast(rotated, *mask));
    }
  }
  ASSERT_GE(lesion.size(), 32u);
  const double clear = std::count_if(lesion.begin(), lesion.end(), [](double d) { return d >= 8; });
  EXPECT_GE(clear / lesion.size(), 2.0 / 3.0) << clear << " of " << lesion.size();
  EXPECT_GE(Median(lesion), 15);
  // The measure itself must tell lesions from anatomy.
  EXPECT_LT(Median(control), 0.5 * Median(lesion));
}

// ---------------------------------------------------------------- lesion-free twins

// The twin is the same film without the lesions: asking for it leaves the image as
// it was, and the two differ only around the lesions. Measured over ids 1-16 of
// each tumour class (seed 11): outside the lesion boxes grown by half their size,
// at most 0.0004% of pixels differ by more than 2 gray levels; inside, 0.16% (a
// subtle osteochondroma) to 48%, median 17%.
TEST(GenerateCaseTest, TwinIsTheSameFilmWithoutTheLesions) {
  EXPECT_TRUE(GenerateCase(kSeed, 1, Diagnosis::kNormal, true).lesion_free.empty());
  EXPECT_TRUE(GenerateCase(kSeed, 1, Diagnosis::kBenign, false).lesion_free.empty());
  for (Diagnosis d : {Diagnosis::kBenign, Diagnosis::kMalignant}) {
    for (int id = 1; id <= 8; ++id) {
      SCOPED_TRACE(::testing::Message() << "diagnosis " << static_cast<int>(d) << " id " << id);
      const PhantomCase with = GenerateCase(kSeed, id, d, true);
      ASSERT_TRUE(SameImage(with.image, GenerateCase(kSeed, id, d, false).image));
      ASSERT_EQ(with.lesion_free.size(), with.image.size());
      ASSERT_EQ(with.lesion_free.type(), with.image.type());
      cv::Mat near = cv::Mat::zeros(with.image.size(), CV_8UC1);
      for (const Lesion& l : with.lesions) {
        const cv::Rect2d& b = l.box;
        const cv::Rect grown(cv::Point(b.x - b.width / 2, b.y - b.height / 2),
                             cv::Size(2 * b.width, 2 * b.height));
        near(grown & cv::Rect(cv::Point(), near.size())).setTo(255);
      }
      cv::Mat diff;
      cv::absdiff(with.image, with.lesion_free, diff);
      const cv::Mat changed = diff > 2;
      const double outside = cv::countNonZero(changed & ~near) /
                             std::max(1.0, static_cast<double>(cv::countNonZero(~near)));
      const double inside = cv::countNonZero(changed & near) /
                            std::max(1.0, static_cast<double>(cv::countNonZero(near)));
      EXPECT_LT(outside, 0.001);
      EXPECT_GT(inside, 0.001);
    }
  }
}

}  // namespace
}  // namespace explainer::phantom
