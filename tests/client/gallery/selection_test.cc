// Tests of client/gallery/selection.h: TP / FP / FN picks and best/median/worst.
#include "client/gallery/selection.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client::gallery {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int kNormal = 0, kBenign = 1, kMalignant = 2;

Prediction P(const std::string& file, int truth, int predicted, std::vector<float> probs) {
  static size_t next = 0;
  return Prediction{next++, file, truth, predicted, std::move(probs)};
}

// The file names of a row's picks, in pick order.
std::vector<std::string> Files(const std::vector<Prediction>& predictions, const GalleryRow& row) {
  std::vector<std::string> files;
  for (size_t pick : row.picks) files.push_back(predictions[pick].file);
  return files;
}

TEST(SelectGalleriesTest, PicksFollowThePythonRules) {
  const std::vector<Prediction> predictions = {
      P("tp_low", kBenign, kBenign, {0.3f, 0.6f, 0.1f}),
      P("tp_high", kBenign, kBenign, {0.05f, 0.9f, 0.05f}),
      P("tp_mid", kBenign, kBenign, {0.2f, 0.7f, 0.1f}),
      P("tp_mid2", kBenign, kBenign, {0.25f, 0.65f, 0.1f}),
      P("fp_normal", kNormal, kBenign, {0.4f, 0.5f, 0.1f}),
      P("fp_malig", kMalignant, kBenign, {0.1f, 0.8f, 0.1f}),
      P("fn_as_normal", kBenign, kNormal, {0.6f, 0.3f, 0.1f}),
      P("fn_as_malig", kBenign, kMalignant, {0.1f, 0.1f, 0.8f}),
      P("tn", kNormal, kNormal, {0.9f, 0.05f, 0.05f}),
  };
  const std::vector<ClassGallery> galleries = SelectGalleries(predictions, 3, 3);
  ASSERT_EQ(galleries.size(), 3u);
  const ClassGallery& benign = galleries[kBenign];
  EXPECT_EQ(benign.class_index, kBenign);
  EXPECT_EQ(benign.rows[0].outcome, Outcome::kTruePositive);
  EXPECT_EQ(benign.rows[1].outcome, Outcome::kFalsePositive);
  EXPECT_EQ(benign.rows[2].outcome, Outcome::kFalseNegative);
  // TP: highest p(Benign) first, the 4th (0.6) dropped.
  EXPECT_THAT(Files(predictions, benign.rows[0]), ElementsAre("tp_high", "tp_mid", "tp_mid2"));
  EXPECT_EQ(benign.rows[0].available, 4u);
  // FP: highest p(Benign) first.
  EXPECT_THAT(Files(predictions, benign.rows[1]), ElementsAre("fp_malig", "fp_normal"));
  EXPECT_EQ(benign.rows[1].available, 2u);
  // FN: lowest p(Benign) first.
  EXPECT_THAT(Files(predictions, benign.rows[2]), ElementsAre("fn_as_malig", "fn_as_normal"));

  const ClassGallery& normal = galleries[kNormal];
  EXPECT_THAT(Files(predictions, normal.rows[0]), ElementsAre("tn"));
  EXPECT_THAT(Files(predictions, normal.rows[1]), ElementsAre("fn_as_normal"));
  EXPECT_THAT(Files(predictions, normal.rows[2]), ElementsAre("fp_normal"));
}

TEST(SelectGalleriesTest, TiesAreBrokenByFileNameWhateverTheInputOrder) {
  std::vector<Prediction> predictions = {
      P("c.jpeg", kMalignant, kMalignant, {0.1f, 0.1f, 0.8f}),
      P("a.jpeg", kMalignant, kMalignant, {0.1f, 0.1f, 0.8f}),
      P("b.jpeg", kMalignant, kMalignant, {0.1f, 0.1f, 0.8f}),
      P("d.jpeg", kMalignant, kMalignant, {0.1f, 0.1f, 0.8f}),
      P("z.jpeg", kMalignant, kNormal, {0.45f, 0.1f, 0.45f}),
      P("y.jpeg", kMalignant, kNormal, {0.45f, 0.1f, 0.45f}),
  };
  const std::vector<ClassGallery> first = SelectGalleries(predictions, 3, 2);
  EXPECT_THAT(Files(predictions, first[kMalignant].rows[0]), ElementsAre("a.jpeg", "b.jpeg"));
  EXPECT_THAT(Files(predictions, first[kMalignant].rows[2]), ElementsAre("y.jpeg", "z.jpeg"));

  std::reverse(predictions.begin(), predictions.end());
  const std::vector<ClassGallery> second = SelectGalleries(predictions, 3, 2);
  EXPECT_THAT(Files(predictions, second[kMalignant].rows[0]), ElementsAre("a.jpeg", "b.jpeg"));
  EXPECT_THAT(Files(predictions, second[kMalignant].rows[2]), ElementsAre("y.jpeg", "z.jpeg"));
}

TEST(SelectGalleriesTest, SameFileNameFallsBackToItemOrder) {
  const std::vector<Prediction> predictions = {
      Prediction{7, "x.png", kNormal, kNormal, {0.7f, 0.2f, 0.1f}},
      Prediction{3, "x.png", kNormal, kNormal, {0.7f, 0.2f, 0.1f}},
  };
  const std::vector<ClassGallery> galleries = SelectGalleries(predictions, 3, 3);
  EXPECT_THAT(galleries[kNormal].rows[0].picks, ElementsAre(1u, 0u));
}

TEST(SelectGalleriesTest, FewerThanKAndEmptyClasses) {
  const std::vector<Prediction> predictions = {
      P("n1", kNormal, kNormal, {0.8f, 0.1f, 0.1f}),
      P("n2", kNormal, kNormal, {0.9f, 0.05f, 0.05f}),
  };
  const std::vector<ClassGallery> galleries = SelectGalleries(predictions, 3, 5);
  EXPECT_THAT(Files(predictions, galleries[kNormal].rows[0]), ElementsAre("n2", "n1"));
  EXPECT_EQ(galleries[kNormal].rows[0].available, 2u);
  for (int r = 1; r < 3; ++r) {
    EXPECT_THAT(galleries[kNormal].rows[r].picks, IsEmpty());
    EXPECT_EQ(galleries[kNormal].rows[r].available, 0u);
  }
  // Nobody is Malignant or predicted Malignant: every row empty, still three rows.
  for (const GalleryRow& row : galleries[kMalignant].rows) {
    EXPECT_THAT(row.picks, IsEmpty());
    EXPECT_EQ(row.available, 0u);
  }
}

TEST(SelectGalleriesTest, NoPredictionsGivesEmptyGalleriesForEveryClass) {
  const std::vector<ClassGallery> galleries = SelectGalleries({}, 3, 3);
  ASSERT_EQ(galleries.size(), 3u);
  for (const ClassGallery& g : galleries) {
    for (const GalleryRow& row : g.rows) EXPECT_THAT(row.picks, IsEmpty());
  }
}

TEST(SelectGalleriesTest, OutcomeNames) {
  EXPECT_STREQ(OutcomeName(Outcome::kTruePositive), "TP");
  EXPECT_STREQ(OutcomeName(Outcome::kFalsePositive), "FP");
  EXPECT_STREQ(OutcomeName(Outcome::kFalseNegative), "FN");
}

std::vector<std::string> Roles(const std::vector<RankedPick>& picks) {
  std::vector<std::string> roles;
  for (const RankedPick& p : picks) roles.push_back(p.role);
  return roles;
}

std::vector<size_t> Indexes(const std::vector<RankedPick>& picks) {
  std::vector<size_t> indexes;
  for (const RankedPick& p : picks) indexes.push_back(p.index);
  return indexes;
}

TEST(SelectBestMedianWorstTest, CountsFromZeroToMany) {
  EXPECT_THAT(SelectBestMedianWorst({}, {}), IsEmpty());

  const auto one = SelectBestMedianWorst({0.4}, {"a"});
  EXPECT_THAT(Roles(one), ElementsAre("best"));

  const auto two = SelectBestMedianWorst({0.1, 0.4}, {"a", "b"});
  EXPECT_THAT(Roles(two), ElementsAre("best", "worst"));
  EXPECT_THAT(Indexes(two), ElementsAre(1u, 0u));

  // Scores 0.9 0.7 0.5 0.3 0.1 (shuffled): median is 0.5.
  const auto five = SelectBestMedianWorst({0.5, 0.1, 0.9, 0.3, 0.7}, {"c", "e", "a", "d", "b"});
  EXPECT_THAT(Roles(five), ElementsAre("best", "median", "worst"));
  EXPECT_THAT(Indexes(five), ElementsAre(2u, 0u, 1u));

  // Four: position floor(3 / 2) = 1 of the best-first order (0.6).
  const auto four = SelectBestMedianWorst({0.2, 0.8, 0.6, 0.4}, {"a", "b", "c", "d"});
  EXPECT_THAT(Indexes(four), ElementsAre(1u, 2u, 0u));
}

TEST(SelectBestMedianWorstTest, TiesGoByFileName) {
  const auto picks = SelectBestMedianWorst({0.0, 0.0, 0.0}, {"c", "a", "b"});
  EXPECT_THAT(Indexes(picks), ElementsAre(1u, 2u, 0u));  // a, b, c
}

}  // namespace
}  // namespace explainer::client::gallery
