// Tests of client/gallery/classification_metrics.h: hand-computed cases and the
// numbers of tests/client/gallery/make_metrics_reference.py (sklearn's definitions
// in numpy, AUC by the trapezoidal ROC rather than our rank sum).
#include "client/gallery/classification_metrics.h"

#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::client::gallery {
namespace {

using ::explainer::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kClasses = {"Normal", "Benign", "Malignant"};

TEST(RocAucTest, HandComputedWithTies) {
  // Positives 0.8, 0.5; negatives 0.5, 0.2. Pairs: (0.8>0.5) 1, (0.8>0.2) 1,
  // (0.5=0.5) 1/2, (0.5>0.2) 1 -> 3.5 / 4.
  std::optional<double> auc = RocAuc({0.8, 0.5, 0.5, 0.2}, {true, true, false, false});
  ASSERT_TRUE(auc.has_value());
  EXPECT_DOUBLE_EQ(*auc, 0.875);
  EXPECT_DOUBLE_EQ(*RocAuc({0.3, 0.3, 0.3}, {true, false, true}), 0.5);
  EXPECT_DOUBLE_EQ(*RocAuc({0.1, 0.9}, {true, false}), 0.0);
  EXPECT_DOUBLE_EQ(*RocAuc({0.1, 0.9}, {false, true}), 1.0);
}

TEST(RocAucTest, UndefinedWithoutPositivesOrNegatives) {
  EXPECT_FALSE(RocAuc({0.1, 0.2}, {false, false}).has_value());
  EXPECT_FALSE(RocAuc({0.1, 0.2}, {true, true}).has_value());
  EXPECT_FALSE(RocAuc({}, {}).has_value());
}

TEST(ClassificationMetricsTest, HandComputedSmallCase) {
  // true:      N N B B M
  // predicted: N B B N M
  const std::vector<int> y_true = {0, 0, 1, 1, 2};
  const std::vector<int> y_pred = {0, 1, 1, 0, 2};
  const std::vector<std::vector<float>> p = {{0.7f, 0.2f, 0.1f},
                                             {0.3f, 0.6f, 0.1f},
                                             {0.1f, 0.8f, 0.1f},
                                             {0.5f, 0.4f, 0.1f},
                                             {0.1f, 0.1f, 0.8f}};
  absl::StatusOr<ClassificationMetrics> m =
      ComputeClassificationMetrics(kClasses, y_true, y_pred, p);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->count, 5);
  EXPECT_THAT(m->confusion,
              ElementsAre(ElementsAre(1, 1, 0), ElementsAre(1, 1, 0), ElementsAre(0, 0, 1)));
  EXPECT_DOUBLE_EQ(*m->accuracy, 3.0 / 5.0);
  // Normal: TP 1, FN 1, FP 1, TN 2.
  EXPECT_DOUBLE_EQ(*m->per_class[0].sensitivity, 0.5);
  EXPECT_DOUBLE_EQ(*m->per_class[0].specificity, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*m->per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(*m->per_class[2].sensitivity, 1.0);
  EXPECT_DOUBLE_EQ(*m->per_class[2].specificity, 1.0);
  EXPECT_DOUBLE_EQ(*m->balanced_accuracy, (0.5 + 0.5 + 1.0) / 3.0);
  // p(Normal): positives 0.7, 0.3; negatives 0.1, 0.5, 0.1. 0.7 beats all three,
  // 0.3 beats the two 0.1s: 5 of 6 pairs.
  EXPECT_DOUBLE_EQ(*m->per_class[0].auc, 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(*m->per_class[2].auc, 1.0);
}

TEST(ClassificationMetricsTest, MissingClassIsNullNeverNan) {
  const std::vector<int> y_true = {0, 1};
  const std::vector<int> y_pred = {0, 0};
  absl::StatusOr<ClassificationMetrics> m = ComputeClassificationMetrics(
      kClasses, y_true, y_pred, {{0.9f, 0.05f, 0.05f}, {0.6f, 0.3f, 0.1f}});
  ASSERT_THAT(m, IsOk());
  EXPECT_FALSE(m->per_class[2].sensitivity.has_value());
  EXPECT_FALSE(m->per_class[2].auc.has_value());
  EXPECT_FALSE(m->per_class[1].precision.has_value());  // never predicted
  EXPECT_DOUBLE_EQ(*m->balanced_accuracy, 0.5);         // (1 + 0) / 2
  const nlohmann::ordered_json j = MetricsToJson(*m);
  EXPECT_TRUE(j["per_class"]["Malignant"]["sensitivity"].is_null());
  EXPECT_TRUE(j["per_class"]["Malignant"]["auc"].is_null());
  // nlohmann writes a NaN double as null too, so look at the values themselves.
  for (const auto& [name, figures] : j["per_class"].items()) {
    for (const auto& [key, value] : figures.items()) {
      if (value.is_number_float()) {  // braces: EXPECT_* expands to an if/else
        EXPECT_FALSE(std::isnan(value.get<double>())) << name << key;
      }
    }
  }
}

TEST(ClassificationMetricsTest, EmptyRunIsAllNull) {
  absl::StatusOr<ClassificationMetrics> m = ComputeClassificationMetrics(kClasses, {}, {}, {});
  ASSERT_THAT(m, IsOk());
  const nlohmann::ordered_json j = MetricsToJson(*m);
  EXPECT_EQ(j["count"], 0);
  EXPECT_TRUE(j["accuracy"].is_null());
  EXPECT_TRUE(j["balanced_accuracy"].is_null());
  EXPECT_TRUE(j["macro_auc"].is_null());
  EXPECT_EQ(j["confusion_matrix"]["matrix"].dump(), "[[0,0,0],[0,0,0],[0,0,0]]");
}

TEST(ClassificationMetricsTest, BadInputsAreNamed) {
  absl::StatusOr<ClassificationMetrics> lengths =
      ComputeClassificationMetrics(kClasses, {0, 1}, {0}, {{1, 0, 0}});
  ASSERT_FALSE(lengths.ok());
  EXPECT_THAT(lengths.status().message(), HasSubstr("2 true labels, 1 predictions"));
  absl::StatusOr<ClassificationMetrics> range =
      ComputeClassificationMetrics(kClasses, {3}, {0}, {{1, 0, 0}});
  ASSERT_FALSE(range.ok());
  EXPECT_THAT(range.status().message(), HasSubstr("outside [0, 3)"));
  absl::StatusOr<ClassificationMetrics> width =
      ComputeClassificationMetrics(kClasses, {0}, {0}, {{1, 0}});
  ASSERT_FALSE(width.ok());
  EXPECT_THAT(width.status().message(), HasSubstr("2 probabilities for 3 classes"));
}

void ExpectOptional(const nlohmann::json& expected, const std::optional<double>& actual,
                    const std::string& what) {
  if (expected.is_null()) {
    EXPECT_FALSE(actual.has_value()) << what;
  } else {
    ASSERT_TRUE(actual.has_value()) << what;
    EXPECT_NEAR(*actual, expected.get<double>(), 1e-12) << what;
  }
}

TEST(ClassificationMetricsTest, AgreesWithTheNumpyReference) {
  std::ifstream in(testing::SourcePath("tests/client/gallery/testdata/metrics_reference.json"));
  ASSERT_TRUE(in) << "missing fixture; see make_metrics_reference.py";
  const nlohmann::json reference = nlohmann::json::parse(in);
  ASSERT_EQ(reference["cases"].size(), 4u);
  for (const nlohmann::json& c : reference["cases"]) {
    const std::string name = c["name"];
    std::vector<std::vector<float>> probabilities;
    for (const auto& row : c["probabilities"]) {
      std::vector<float> p;
      for (const auto& v : row) p.push_back(static_cast<float>(v.get<double>()));
      probabilities.push_back(p);
    }
    absl::StatusOr<ClassificationMetrics> m =
        ComputeClassificationMetrics(kClasses, c["y_true"].get<std::vector<int>>(),
                                     c["y_pred"].get<std::vector<int>>(), probabilities);
    ASSERT_THAT(m, IsOk()) << name;
    const nlohmann::json& e = c["expected"];
    EXPECT_EQ(nlohmann::json(m->confusion), e["confusion"]) << name;
    ExpectOptional(e["accuracy"], m->accuracy, name + " accuracy");
    ExpectOptional(e["balanced_accuracy"], m->balanced_accuracy, name + " balanced accuracy");
    ExpectOptional(e["macro_auc"], m->macro_auc, name + " macro AUC");
    for (size_t k = 0; k < kClasses.size(); ++k) {
      const nlohmann::json& ec = e["per_class"][k];
      const std::string what = name + " " + kClasses[k];
      EXPECT_EQ(m->per_class[k].support, ec["support"].get<int>()) << what;
      EXPECT_EQ(m->per_class[k].predicted, ec["predicted"].get<int>()) << what;
      ExpectOptional(ec["sensitivity"], m->per_class[k].sensitivity, what + " sensitivity");
      ExpectOptional(ec["specificity"], m->per_class[k].specificity, what + " specificity");
      ExpectOptional(ec["precision"], m->per_class[k].precision, what + " precision");
      ExpectOptional(ec["auc"], m->per_class[k].auc, what + " AUC");
    }
  }
}

}  // namespace
}  // namespace explainer::client::gallery
