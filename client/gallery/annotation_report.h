// annotation_report.json: how well the heatmaps of the tumour images agree with
// their LabelMe annotations, per image, per true class and overall.
#ifndef EXPLAINER_CLIENT_GALLERY_ANNOTATION_REPORT_H_
#define EXPLAINER_CLIENT_GALLERY_ANNOTATION_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace explainer::client::gallery {

// One tumour image (true class not Normal) with an annotation file and a report.
struct AnnotatedImage {
  std::string file;        // relative to --input-dir
  std::string annotation;  // the LabelMe file
  int true_class = 0;
  int predicted_class = 0;
  int explained_class = 0;  // the class the heatmap explains (the prediction)
  float confidence = 0;     // p(predicted class)
  std::vector<float> iou;   // one per threshold, in the report's threshold order
  bool pointing_game_hit = false;
  float energy_inside = 0;
  float mask_area_fraction = 0;
  int shape_count = 0;
};

// Count, mean and median IoU per threshold, pointing-game rate and mean energy of
// a group. Empty group: count 0 and every figure nullopt (JSON null).
struct GroupSummary {
  int count = 0;
  std::vector<std::optional<double>> mean_iou;    // per threshold
  std::vector<std::optional<double>> median_iou;  // per threshold (numpy median)
  std::optional<double> pointing_game_rate;
  std::optional<double> mean_energy_inside;
};

GroupSummary Summarize(const std::vector<const AnnotatedImage*>& images, size_t thresholds);

struct AnnotationReport {
  std::vector<std::string> class_names;
  int normal_class = -1;  // left out of the report; -1: no such class
  std::vector<float> thresholds;
  std::string method;                  // "grad-cam"
  std::vector<AnnotatedImage> images;  // input order
  int normal_left_out = 0;             // labelled Normal images (never annotated)
  // Tumour images left out, and why: no annotation file, or the request failed.
  std::vector<std::string> without_annotation;
  std::vector<std::string> failed;  // "file: message"
};

// The classes an annotation report covers: every class but `normal_class`.
std::vector<int> AnnotatedClasses(const AnnotationReport& report);

GroupSummary SummarizeClass(const AnnotationReport& report, int class_index);
GroupSummary SummarizeAll(const AnnotationReport& report);

// The index of the threshold the comparison ranks by: the one closest to 0.5.
size_t RankingThresholdIndex(const std::vector<float>& thresholds);

// {"method", "thresholds", "explained": ..., "left_out": {"normal", ...},
//  "overall": {...}, "per_class": {name: {...}}, "images": [...]}
nlohmann::ordered_json AnnotationReportToJson(const AnnotationReport& report);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_ANNOTATION_REPORT_H_
