// Per-image, per-class and overall heatmap/annotation agreement; see
// annotation_report.h.
#include "client/gallery/annotation_report.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

std::optional<double> Median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

std::optional<double> Mean(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

nlohmann::ordered_json OrNull(const std::optional<double>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json ByThreshold(const std::vector<float>& thresholds,
                                   const std::vector<std::optional<double>>& values) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t t = 0; t < thresholds.size() && t < values.size(); ++t) {
    j[ThresholdKey(thresholds[t])] = OrNull(values[t]);
  }
  return j;
}

nlohmann::ordered_json GroupToJson(const GroupSummary& g, const std::vector<float>& thresholds) {
  return {{"count", g.count},
          {"mean_iou", ByThreshold(thresholds, g.mean_iou)},
          {"median_iou", ByThreshold(thresholds, g.median_iou)},
          {"pointing_game_rate", OrNull(g.pointing_game_rate)},
          {"mean_energy_inside", OrNull(g.mean_energy_inside)}};
}

std::string ClassName(const AnnotationReport& report, int index) {
  return index >= 0 && index < static_cast<int>(report.class_names.size())
             ? report.class_names[index]
             : std::to_string(index);
}

}  // namespace

GroupSummary Summarize(const std::vector<const AnnotatedImage*>& images, size_t thresholds) {
  GroupSummary g;
  g.count = static_cast<int>(images.size());
  for (size_t t = 0; t < thresholds; ++t) {
    std::vector<double> values;
    for (const AnnotatedImage* image : images) {
      if (t < image->iou.size()) values.push_back(image->iou[t]);
    }
    g.mean_iou.push_back(Mean(values));
    g.median_iou.push_back(Median(values));
  }
  std::vector<double> hits, energies;
  for (const AnnotatedImage* image : images) {
    hits.push_back(image->pointing_game_hit ? 1.0 : 0.0);
    energies.push_back(image->energy_inside);
  }
  g.pointing_game_rate = Mean(hits);
  g.mean_energy_inside = Mean(energies);
  return g;
}

std::vector<int> AnnotatedClasses(const AnnotationReport& report) {
  std::vector<int> classes;
  for (int c = 0; c < static_cast<int>(report.class_names.size()); ++c) {
    if (c != report.normal_class) classes.push_back(c);
  }
  return classes;
}

GroupSummary SummarizeClass(const AnnotationReport& report, int class_index) {
  std::vector<const AnnotatedImage*> images;
  for (const AnnotatedImage& image : report.images) {
    if (image.true_class == class_index) images.push_back(&image);
  }
  return Summarize(images, report.thresholds.size());
}

GroupSummary SummarizeAll(const AnnotationReport& report) {
  std::vector<const AnnotatedImage*> images;
  for (const AnnotatedImage& image : report.images) images.push_back(&image);
  return Summarize(images, report.thresholds.size());
}

size_t RankingThresholdIndex(const std::vector<float>& thresholds) {
  size_t best = 0;
  for (size_t t = 1; t < thresholds.size(); ++t) {
    if (std::fabs(thresholds[t] - 0.5f) < std::fabs(thresholds[best] - 0.5f)) best = t;
  }
  return best;
}

nlohmann::ordered_json AnnotationReportToJson(const AnnotationReport& report) {
  nlohmann::ordered_json j;
  j["method"] = report.method;
  nlohmann::ordered_json thresholds = nlohmann::ordered_json::array();
  for (float t : report.thresholds) thresholds.push_back(ShortestDouble(t));
  j["thresholds"] = thresholds;
  j["explained_class"] = "the predicted class";
  j["iou_definition"] =
      "IoU of (heatmap >= threshold) with the annotation mask, at model input "
      "resolution (mask resized with nearest neighbour)";
  j["left_out"] = {
      {"normal", report.normal_left_out},
      {"normal_note", report.normal_class >= 0
                          ? "images labelled " + ClassName(report, report.normal_class) +
                                " have no tumour annotation and are not in this report"
                          : "the model has no Normal class: every labelled image counts"},
      {"without_annotation_count", report.without_annotation.size()},
      {"without_annotation", report.without_annotation},
      {"failed_count", report.failed.size()},
      {"failed", report.failed}};
  j["overall"] = GroupToJson(SummarizeAll(report), report.thresholds);
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (int c : AnnotatedClasses(report)) {
    per_class[ClassName(report, c)] = GroupToJson(SummarizeClass(report, c), report.thresholds);
  }
  j["per_class"] = per_class;
  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  for (const AnnotatedImage& image : report.images) {
    nlohmann::ordered_json iou = nlohmann::ordered_json::object();
    for (size_t t = 0; t < report.thresholds.size() && t < image.iou.size(); ++t) {
      iou[ThresholdKey(report.thresholds[t])] = ShortestDouble(image.iou[t]);
    }
    images.push_back({{"file", image.file},
                      {"annotation_file", image.annotation},
                      {"true_class", ClassName(report, image.true_class)},
                      {"predicted_class", ClassName(report, image.predicted_class)},
                      {"explained_class", ClassName(report, image.explained_class)},
                      {"confidence", ShortestDouble(image.confidence)},
                      {"iou", iou},
                      {"pointing_game_hit", image.pointing_game_hit},
                      {"energy_inside", ShortestDouble(image.energy_inside)},
                      {"mask_area_fraction", ShortestDouble(image.mask_area_fraction)},
                      {"shape_count", image.shape_count}});
  }
  j["images"] = images;
  return j;
}

}  // namespace explainer::client::gallery
