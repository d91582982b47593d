// See gallery_pictures.h.
#include "client/gallery/gallery_pictures.h"

#include <cctype>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/gallery/comparison_render.h"
#include "client/gallery/gallery_render.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

std::string Fixed(double value, int decimals = 3) {
  return absl::StrFormat("%.*f", decimals, value);
}

std::vector<GalleryRowContent> GalleryRows(const GalleryRun& run, const ClassGallery& gallery) {
  const int c = gallery.class_index;
  const std::string& name = run.class_names[c];
  const std::string descriptions[3] = {
      absl::StrCat("true ", name, ", predicted ", name, ": highest p(", name, ")"),
      absl::StrCat("true not ", name, ", predicted ", name, ": highest p(", name, ")"),
      absl::StrCat("true ", name, ", predicted not ", name, ": lowest p(", name, ")")};
  std::vector<GalleryRowContent> rows;
  for (int r = 0; r < 3; ++r) {
    const GalleryRow& row = gallery.rows[r];
    GalleryRowContent content;
    content.outcome = row.outcome;
    content.description = descriptions[r];
    content.available = row.available;
    for (size_t pick : row.picks) {
      const Prediction& p = run.predicted.predictions[pick];
      GalleryTile tile;
      auto image = run.explained.tiles.find(p.item);
      if (image != run.explained.tiles.end()) tile.image = image->second;
      std::string third = absl::StrCat("conf ", Fixed(run.predicted.confidence.at(p.item)));
      if (row.outcome == Outcome::kFalseNegative) {
        absl::StrAppend(&third, "  p(", name, ") ", Fixed(p.probabilities[c]));
      }
      absl::StrAppend(&third, "  ", OutcomeName(row.outcome));
      tile.title = {TextLine{p.file, colors::kText, true},
                    TextLine{absl::StrCat("true ", run.class_names[p.true_class], "  pred ",
                                          run.class_names[p.predicted_class])},
                    TextLine{third, OutcomeColor(row.outcome), true}};
      auto error = run.explained.tile_errors.find(p.item);
      if (tile.image.empty() && error != run.explained.tile_errors.end()) {
        tile.title[2] =
            TextLine{absl::StrCat("no overlay: ", error->second), colors::kFalseNegative};
      }
      content.tiles.push_back(std::move(tile));
    }
    rows.push_back(std::move(content));
  }
  return rows;
}

ComparisonRow ComparisonRowOf(const GalleryRun& run, const ComparisonPick& pick,
                              size_t rank_t, const std::string& rank_name) {
  const AnnotationReport& report = run.explained.report;
  const AnnotatedImage& a = report.images[pick.report_image];
  const std::vector<std::string>& names = run.class_names;
  ComparisonRow row;
  auto panels = run.comparison.panels.find(pick.entry);
  if (panels != run.comparison.panels.end()) {
    row.panels[0] = panels->second.original;
    row.panels[1] = panels->second.mask;
    row.panels[2] = panels->second.heatmap;
    row.panels[3] = panels->second.overlay;
  }
  std::string role = pick.role;
  role[0] = static_cast<char>(std::toupper(role[0]));
  row.titles[0] = {TextLine{absl::StrCat(role, ": ", a.file), colors::kText, true},
                   TextLine{absl::StrCat("true ", names[a.true_class])},
                   TextLine{absl::StrCat("pred ", names[a.predicted_class], " ",
                                         Fixed(a.confidence))}};
  row.titles[1] = {TextLine{"annotation mask", colors::kText, true},
                   TextLine{absl::StrCat(a.shape_count, " shape(s), ",
                                         Fixed(100.0 * a.mask_area_fraction, 1),
                                         "% of the image")}};
  row.titles[2] = {TextLine{absl::StrCat("heatmap (", report.method, ")"), colors::kText, true},
                   TextLine{absl::StrCat("explains ", names[a.explained_class])}};
  row.titles[3] = {
      TextLine{absl::StrCat("overlay  ", rank_name, " = ", Fixed(a.iou[rank_t])), colors::kText,
               true},
      TextLine{absl::StrCat("pointing game: ", a.pointing_game_hit ? "hit" : "miss")},
      TextLine{absl::StrCat("energy inside ", Fixed(a.energy_inside))}};
  auto error = run.comparison.errors.find(pick.entry);
  if (error != run.comparison.errors.end()) {
    row.titles[0][2] = TextLine{error->second, colors::kFalseNegative};
  }
  return row;
}

}  // namespace

std::string GalleryFileName(const std::string& class_name) {
  std::string safe;
  for (char c : class_name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    safe += ok ? c : '_';
  }
  return absl::StrCat("gallery_", safe.empty() ? "class" : safe, ".png");
}

absl::StatusOr<cv::Mat> RenderClassGallery(const GalleryRun& run, const ClassGallery& gallery) {
  const std::string& name = run.class_names[gallery.class_index];
  int true_count = 0, predicted_count = 0;
  for (const Prediction& p : run.predicted.predictions) {
    true_count += p.true_class == gallery.class_index ? 1 : 0;
    predicted_count += p.predicted_class == gallery.class_index ? 1 : 0;
  }
  const std::string title = absl::StrCat(name, ": TP / FP / FN");
  const std::string subtitle =
      absl::StrCat(true_count, " true ", name, ", ", predicted_count, " predicted ", name, ", of ",
                   run.predicted.predictions.size(), " images; model ", run.model.name(), " ",
                   run.model.version());
  return RenderGallery(title, subtitle, GalleryRows(run, gallery), run.options->k);
}

absl::StatusOr<cv::Mat> RenderAnnotationComparison(const GalleryRun& run) {
  const std::vector<float>& thresholds = run.options->explain.thresholds;
  const size_t rank_t = RankingThresholdIndex(thresholds);
  const std::string rank_name = absl::StrCat("IoU@", ThresholdKey(thresholds[rank_t]));
  const AnnotationReport& report = run.explained.report;
  std::vector<ComparisonSection> sections;
  for (const auto& [c, picks] : run.comparison.picks) {
    ComparisonSection section;
    int ranked = 0;
    for (const AnnotatedImage& image : report.images) ranked += image.true_class == c ? 1 : 0;
    section.heading = absl::StrCat(run.class_names[c], ": best, median and worst ", rank_name,
                                   " of ", ranked, " annotated image(s)");
    section.empty_text = absl::StrCat("no annotated ", run.class_names[c], " images");
    for (const ComparisonPick& pick : picks) {
      section.rows.push_back(ComparisonRowOf(run, pick, rank_t, rank_name));
    }
    sections.push_back(std::move(section));
  }
  return RenderComparison(
      absl::StrCat("Annotation comparison: ", report.method, " heatmap vs tumour annotation"),
      sections);
}

}  // namespace explainer::client::gallery
