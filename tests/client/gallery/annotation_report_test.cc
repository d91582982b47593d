// Tests of client/gallery/annotation_report.h: per-class and overall figures,
// left-out counts and the JSON layout.
#include "client/gallery/annotation_report.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client::gallery {
namespace {

using ::testing::ElementsAre;

AnnotatedImage Image(const std::string& file, int true_class, std::vector<float> iou, bool hit,
                     float energy) {
  AnnotatedImage image;
  image.file = file;
  image.annotation = "Annotations/" + file + ".json";
  image.true_class = true_class;
  image.predicted_class = true_class;
  image.explained_class = true_class;
  image.confidence = 0.75f;
  image.iou = std::move(iou);
  image.pointing_game_hit = hit;
  image.energy_inside = energy;
  image.mask_area_fraction = 0.125f;
  image.shape_count = 2;
  return image;
}

AnnotationReport Report() {
  AnnotationReport report;
  report.class_names = {"Normal", "Benign", "Malignant"};
  report.normal_class = 0;
  report.thresholds = {0.3f, 0.5f, 0.7f};
  report.method = "grad-cam";
  report.images = {Image("b1", 1, {0.5f, 0.25f, 0.0f}, true, 0.5f),
                   Image("b2", 1, {0.25f, 0.5f, 0.25f}, false, 0.25f),
                   Image("b3", 1, {1.0f, 0.75f, 0.5f}, true, 0.75f),
                   Image("b4", 1, {0.0f, 0.0f, 0.0f}, false, 0.0f),
                   Image("m1", 2, {0.5f, 0.5f, 0.5f}, true, 1.0f)};
  report.normal_left_out = 7;
  report.without_annotation = {"b9.jpeg"};
  report.failed = {"b8.jpeg: INVALID_ARGUMENT: bad"};
  return report;
}

TEST(AnnotationReportTest, PerClassMeansAndMedians) {
  const AnnotationReport report = Report();
  const GroupSummary benign = SummarizeClass(report, 1);
  EXPECT_EQ(benign.count, 4);
  EXPECT_DOUBLE_EQ(*benign.mean_iou[0], (0.5 + 0.25 + 1.0 + 0.0) / 4);
  EXPECT_DOUBLE_EQ(*benign.median_iou[0], (0.25 + 0.5) / 2);  // even count: mean of middle two
  EXPECT_DOUBLE_EQ(*benign.mean_iou[1], 0.375);
  EXPECT_DOUBLE_EQ(*benign.median_iou[1], 0.375);
  EXPECT_DOUBLE_EQ(*benign.pointing_game_rate, 0.5);
  EXPECT_DOUBLE_EQ(*benign.mean_energy_inside, 0.375);

  const GroupSummary all = SummarizeAll(report);
  EXPECT_EQ(all.count, 5);
  EXPECT_DOUBLE_EQ(*all.median_iou[0], 0.5);  // 0, .25, .5, .5, 1
  EXPECT_DOUBLE_EQ(*all.pointing_game_rate, 0.6);

  const GroupSummary normal = SummarizeClass(report, 0);
  EXPECT_EQ(normal.count, 0);
  EXPECT_FALSE(normal.mean_iou[0].has_value());
  EXPECT_FALSE(normal.pointing_game_rate.has_value());
}

TEST(AnnotationReportTest, AnnotatedClassesLeaveNormalOut) {
  AnnotationReport report = Report();
  EXPECT_THAT(AnnotatedClasses(report), ElementsAre(1, 2));
  report.normal_class = -1;
  EXPECT_THAT(AnnotatedClasses(report), ElementsAre(0, 1, 2));
}

TEST(AnnotationReportTest, RankingThresholdIsTheOneClosestToHalf) {
  EXPECT_EQ(RankingThresholdIndex({0.3f, 0.5f, 0.7f}), 1u);
  EXPECT_EQ(RankingThresholdIndex({0.2f, 0.45f, 0.9f}), 1u);
  EXPECT_EQ(RankingThresholdIndex({0.8f}), 0u);
}

TEST(AnnotationReportTest, JsonLayout) {
  AnnotationReport report = Report();
  report.images.push_back(Image("m2", 2, {0.1f, 0.2f, 0.3f}, false, 0.3f));
  const nlohmann::ordered_json j = AnnotationReportToJson(report);
  EXPECT_EQ(j["method"], "grad-cam");
  EXPECT_EQ(j["thresholds"].dump(), "[0.3,0.5,0.7]");
  EXPECT_EQ(j["left_out"]["normal"], 7);
  EXPECT_EQ(j["left_out"]["without_annotation_count"], 1);
  EXPECT_EQ(j["left_out"]["failed_count"], 1);
  EXPECT_EQ(j["overall"]["count"], 6);
  EXPECT_EQ(j["per_class"].size(), 2u);
  EXPECT_FALSE(j["per_class"].contains("Normal"));
  EXPECT_EQ(j["per_class"]["Benign"]["count"], 4);
  EXPECT_DOUBLE_EQ(j["per_class"]["Benign"]["mean_iou"]["0.5"].get<double>(), 0.375);
  // Means and medians are of the float32 values: (0.5f + 0.3f) / 2.
  EXPECT_DOUBLE_EQ(j["per_class"]["Malignant"]["median_iou"]["0.7"].get<double>(),
                   (static_cast<double>(0.5f) + static_cast<double>(0.3f)) / 2);
  ASSERT_EQ(j["images"].size(), 6u);
  const auto& m2 = j["images"][5];
  EXPECT_EQ(m2["file"], "m2");
  EXPECT_EQ(m2["true_class"], "Malignant");
  // float32 values written in their shortest form, as results.jsonl does.
  EXPECT_EQ(m2["iou"].dump(), R"({"0.3":0.1,"0.5":0.2,"0.7":0.3})");
  EXPECT_EQ(m2["energy_inside"].dump(), "0.3");
  EXPECT_EQ(m2["pointing_game_hit"], false);
  EXPECT_EQ(m2["shape_count"], 2);
}

TEST(AnnotationReportTest, EmptyReportHasNullsNotNans) {
  AnnotationReport report = Report();
  report.images.clear();
  const nlohmann::ordered_json j = AnnotationReportToJson(report);
  EXPECT_EQ(j["overall"]["count"], 0);
  EXPECT_TRUE(j["overall"]["mean_iou"]["0.5"].is_null());
  EXPECT_TRUE(j["per_class"]["Benign"]["pointing_game_rate"].is_null());
  EXPECT_TRUE(j["per_class"]["Malignant"]["median_iou"]["0.3"].is_null());
}

}  // namespace
}  // namespace explainer::client::gallery
