// See gallery_documents.h.
#include "client/gallery/gallery_documents.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/gallery/gallery_pictures.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

using Json = nlohmann::ordered_json;

Json GalleriesJson(const GalleryRun& run) {
  Json galleries = Json::array();
  const std::map<size_t, std::string>& tile_errors = run.explained.tile_errors;
  for (const ClassGallery& gallery : run.predicted.galleries) {
    const int c = gallery.class_index;
    Json rows = Json::array();
    for (const GalleryRow& row : gallery.rows) {
      Json shown = Json::array();
      for (size_t pick : row.picks) {
        const Prediction& p = run.predicted.predictions[pick];
        auto error = tile_errors.find(p.item);
        shown.push_back(
            {{"file", p.file},
             {"true_class", run.class_names[p.true_class]},
             {"predicted_class", run.class_names[p.predicted_class]},
             {"confidence", ShortestDouble(run.predicted.confidence.at(p.item))},
             {"class_probability", ShortestDouble(p.probabilities[c])},
             {"overlay_error", error == tile_errors.end() ? Json(nullptr) : Json(error->second)}});
      }
      rows.push_back(
          {{"outcome", OutcomeName(row.outcome)}, {"available", row.available}, {"shown", shown}});
    }
    galleries.push_back({{"class", run.class_names[c]},
                         {"image", GalleryFileName(run.class_names[c])},
                         {"rows", rows}});
  }
  return galleries;
}

Json ComparisonJson(const GalleryRun& run) {
  const GalleryOptions& options = *run.options;
  if (options.annotations_dir.empty()) return nullptr;
  const AnnotationReport& report = run.explained.report;
  const size_t rank_t = RankingThresholdIndex(options.explain.thresholds);
  Json classes = Json::array();
  for (const auto& [c, picks] : run.comparison.picks) {
    int ranked = 0;
    for (const AnnotatedImage& image : report.images) ranked += image.true_class == c ? 1 : 0;
    Json rows = Json::array();
    for (const ComparisonPick& pick : picks) {
      auto error = run.comparison.errors.find(pick.entry);
      rows.push_back(
          {{"role", pick.role},
           {"file", report.images[pick.report_image].file},
           {"iou", ShortestDouble(report.images[pick.report_image].iou[rank_t])},
           {"error", error == run.comparison.errors.end() ? Json(nullptr) : Json(error->second)}});
    }
    classes.push_back({{"class", run.class_names[c]}, {"images_ranked", ranked}, {"rows", rows}});
  }
  return {{"image", "annotation_comparison.png"},
          {"ranked_by", absl::StrCat("IoU@", ThresholdKey(options.explain.thresholds[rank_t]))},
          {"classes", classes}};
}

Json RunJson(const GalleryRun& run) {
  const GalleryOptions& options = *run.options;
  const GalleryInputs& inputs = run.inputs;
  Json unlabelled = Json::array();
  for (size_t i : inputs.match.unlabelled_images) unlabelled.push_back(inputs.items[i].relative_path);
  Json orphans = Json::array();
  for (const LabelEntry& e : inputs.match.labels_without_image) orphans.push_back(e.stem);
  Json errors = Json::array();
  for (const RunError& e : run.errors) {
    errors.push_back({{"file", e.file}, {"pass", e.pass}, {"message", e.message}});
  }
  Json thresholds = Json::array();
  for (float t : options.explain.thresholds) thresholds.push_back(ShortestDouble(t));
  return {{"server", options.connection.server},
          {"model",
           {{"name", run.model.name()},
            {"version", run.model.version()},
            {"device", run.model.device()},
            {"classes", run.class_names},
            {"classes_text", absl::StrJoin(run.class_names, ", ")}}},
          {"method", CamMethodName(options.explain.method)},
          {"k", options.k},
          {"thresholds", thresholds},
          {"input_dir", options.input_dir},
          {"annotations_dir",
           options.annotations_dir.empty() ? Json(nullptr) : Json(options.annotations_dir)},
          {"labels",
           {{"path", options.labels},
            {"format", LabelFormatName(inputs.labels.format)},
            {"entries", inputs.labels.entries.size()}}},
          {"images_found", inputs.items.size()},
          {"labelled", inputs.entries.size()},
          {"predicted", run.predicted.predictions.size()},
          {"explained", run.explained.explained},
          {"unlabelled_images", unlabelled},
          {"labels_without_image", orphans},
          {"errors", errors}};
}

}  // namespace

Json GalleryJson(const GalleryRun& run) {
  return Json{{"run", RunJson(run)},
              {"galleries", GalleriesJson(run)},
              {"comparison", ComparisonJson(run)}};
}

}  // namespace explainer::client::gallery
