// Classification metrics of a labelled run: confusion matrix, per-class
// sensitivity / specificity, accuracy, balanced accuracy and one-vs-rest ROC AUC.
#ifndef EXPLAINER_CLIENT_GALLERY_CLASSIFICATION_METRICS_H_
#define EXPLAINER_CLIENT_GALLERY_CLASSIFICATION_METRICS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace explainer::client::gallery {

// Undefined values (a class without positives or negatives, an empty run) are
// nullopt, written as JSON null, never NaN.
struct ClassMetrics {
  int support = 0;                    // images whose true class this is
  int predicted = 0;                  // images predicted as this class
  std::optional<double> sensitivity;  // recall: TP / (TP + FN)
  std::optional<double> specificity;  // TN / (TN + FP)
  std::optional<double> precision;    // TP / (TP + FP)
  std::optional<double> auc;          // one-vs-rest ROC AUC of p(class)
};

struct ClassificationMetrics {
  std::vector<std::string> class_names;
  int count = 0;
  std::vector<std::vector<int>> confusion;  // [true][predicted]
  std::vector<ClassMetrics> per_class;
  std::optional<double> accuracy;
  // Mean sensitivity over classes that have positives (sklearn's
  // balanced_accuracy_score).
  std::optional<double> balanced_accuracy;
  // Mean of the defined per-class AUCs (sklearn's roc_auc_score(multi_class="ovr",
  // average="macro") when every class has positives and negatives).
  std::optional<double> macro_auc;
};

// ROC AUC of scores against 0/1 labels by the Mann-Whitney U statistic with
// average ranks for ties, which equals sklearn's roc_auc_score (ties count 1/2).
// nullopt when either class is absent.
std::optional<double> RocAuc(const std::vector<double>& scores, const std::vector<bool>& positive);

// y_true, y_pred: class indexes in [0, C); probabilities: one row of C per image.
// InvalidArgument for mismatched lengths or indexes out of range.
absl::StatusOr<ClassificationMetrics> ComputeClassificationMetrics(
    const std::vector<std::string>& class_names, const std::vector<int>& y_true,
    const std::vector<int>& y_pred, const std::vector<std::vector<float>>& probabilities);

// metrics.json's body: {"classes", "count", "confusion_matrix": {"rows": "true",
// "columns": "predicted", "matrix"}, "per_class": {name: {...}}, "accuracy",
// "balanced_accuracy", "macro_auc", "definitions"}.
nlohmann::ordered_json MetricsToJson(const ClassificationMetrics& metrics);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_CLASSIFICATION_METRICS_H_
