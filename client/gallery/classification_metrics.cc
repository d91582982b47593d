// Confusion matrix, sensitivity / specificity, balanced accuracy, ROC AUC; see
// classification_metrics.h.
#include "client/gallery/classification_metrics.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace explainer::client::gallery {
namespace {

std::optional<double> Ratio(double numerator, double denominator) {
  if (denominator <= 0) return std::nullopt;
  return numerator / denominator;
}

std::optional<double> MeanOfDefined(const std::vector<std::optional<double>>& values) {
  double sum = 0;
  int n = 0;
  for (const std::optional<double>& v : values) {
    if (v) {
      sum += *v;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

nlohmann::ordered_json OrNull(const std::optional<double>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

std::optional<double> RocAuc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  double positive_rank_sum = 0;
  double n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t t = i; t < j; ++t) {
      if (positive[order[t]]) {
        positive_rank_sum += average_rank;
        n_pos += 1;
      }
    }
    i = j;
  }
  const double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::nullopt;
  return (positive_rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

absl::StatusOr<ClassificationMetrics> ComputeClassificationMetrics(
    const std::vector<std::string>& class_names, const std::vector<int>& y_true,
    const std::vector<int>& y_pred, const std::vector<std::vector<float>>& probabilities) {
  const int num_classes = static_cast<int>(class_names.size());
  if (y_true.size() != y_pred.size() || y_true.size() != probabilities.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics: ", y_true.size(), " true labels, ", y_pred.size(), " predictions and ",
        probabilities.size(), " probability rows; they must be as many"));
  }
  for (size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] < 0 || y_true[i] >= num_classes || y_pred[i] < 0 || y_pred[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat("metrics: image ", i, " has class ", y_true[i],
                                                     " / prediction ", y_pred[i], ", outside [0, ",
                                                     num_classes, ")"));
    }
    if (static_cast<int>(probabilities[i].size()) != num_classes) {
      return absl::InvalidArgumentError(absl::StrCat("metrics: image ", i, " has ",
                                                     probabilities[i].size(), " probabilities for ",
                                                     num_classes, " classes"));
    }
  }
  ClassificationMetrics m;
  m.class_names = class_names;
  m.count = static_cast<int>(y_true.size());
  m.confusion.assign(num_classes, std::vector<int>(num_classes, 0));
  int correct = 0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    ++m.confusion[y_true[i]][y_pred[i]];
    if (y_true[i] == y_pred[i]) ++correct;
  }
  m.accuracy = Ratio(correct, m.count);
  std::vector<std::optional<double>> sensitivities, aucs;
  for (int c = 0; c < num_classes; ++c) {
    ClassMetrics cm;
    int tp = m.confusion[c][c];
    for (int j = 0; j < num_classes; ++j) {
      cm.support += m.confusion[c][j];
      cm.predicted += m.confusion[j][c];
    }
    const int fn = cm.support - tp;
    const int fp = cm.predicted - tp;
    const int tn = m.count - tp - fn - fp;
    cm.sensitivity = Ratio(tp, tp + fn);
    cm.specificity = Ratio(tn, tn + fp);
    cm.precision = Ratio(tp, tp + fp);
    std::vector<double> scores(y_true.size());
    std::vector<bool> positive(y_true.size());
    for (size_t i = 0; i < y_true.size(); ++i) {
      scores[i] = probabilities[i][c];
      positive[i] = y_true[i] == c;
    }
    cm.auc = RocAuc(scores, positive);
    sensitivities.push_back(cm.sensitivity);
    aucs.push_back(cm.auc);
    m.per_class.push_back(cm);
  }
  m.balanced_accuracy = MeanOfDefined(sensitivities);
  m.macro_auc = MeanOfDefined(aucs);
  return m;
}

nlohmann::ordered_json MetricsToJson(const ClassificationMetrics& m) {
  nlohmann::ordered_json j;
  j["classes"] = m.class_names;
  j["count"] = m.count;
  j["confusion_matrix"] = {
      {"rows", "true class"}, {"columns", "predicted class"}, {"matrix", m.confusion}};
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    per_class[m.class_names[c]] = {{"support", cm.support},
                                   {"predicted", cm.predicted},
                                   {"sensitivity", OrNull(cm.sensitivity)},
                                   {"specificity", OrNull(cm.specificity)},
                                   {"precision", OrNull(cm.precision)},
                                   {"auc", OrNull(cm.auc)}};
  }
  j["per_class"] = per_class;
  j["accuracy"] = OrNull(m.accuracy);
  j["balanced_accuracy"] = OrNull(m.balanced_accuracy);
  j["macro_auc"] = OrNull(m.macro_auc);
  j["definitions"] = {
      {"sensitivity", "TP / (TP + FN) of the class"},
      {"specificity", "TN / (TN + FP) of the class"},
      {"balanced_accuracy", "mean sensitivity over classes with at least one image"},
      {"auc",
       "one-vs-rest ROC AUC of the class probability (Mann-Whitney U, ties count 1/2; "
       "sklearn roc_auc_score)"},
      {"macro_auc", "mean of the defined per-class AUCs"},
      {"null", "undefined: the class has no positives or no negatives, or nothing to count"}};
  return j;
}

}  // namespace explainer::client::gallery
