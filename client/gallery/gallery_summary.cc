// See gallery_summary.h.
#include "client/gallery/gallery_summary.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/gallery/method_comparison_pass.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

constexpr size_t kListed = 5;  // names listed before "... and N more"

std::string OptionalFixed(const std::optional<double>& value) {
  return value ? absl::StrFormat("%.3f", *value) : "n/a";
}

// "a, b, c ... and 7 more"
std::string ShortList(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kListed));
  std::string text = absl::StrJoin(shown, ", ");
  if (names.size() > shown.size()) {
    absl::StrAppend(&text, " ... and ", names.size() - shown.size(), " more");
  }
  return text;
}

void AppendInputs(const GalleryRun& run, std::string& text) {
  const GalleryInputs& inputs = run.inputs;
  std::vector<std::string> unlabelled, orphans;
  for (size_t i : inputs.match.unlabelled_images) unlabelled.push_back(inputs.items[i].relative_path);
  for (const LabelEntry& e : inputs.match.labels_without_image) orphans.push_back(e.stem);
  absl::StrAppend(&text, "Images: ", inputs.items.size(), " found, ", inputs.entries.size(),
                  " labelled, ", run.predicted.predictions.size(), " predicted, ",
                  run.explained.explained, " explained, ", run.errors.size(), " error(s)\n");
  if (!unlabelled.empty()) {
    absl::StrAppend(&text, "  ", unlabelled.size(),
                    " image(s) without a label (not sent): ", ShortList(unlabelled), "\n");
  }
  if (!orphans.empty()) {
    absl::StrAppend(&text, "  ", orphans.size(), " label(s) without an image: ", ShortList(orphans),
                    "\n");
  }
  for (size_t e = 0; e < run.errors.size() && e < kListed; ++e) {
    absl::StrAppend(&text, "  error (pass ", run.errors[e].pass, ") ", run.errors[e].file, ": ",
                    run.errors[e].message, "\n");
  }
}

void AppendAgreement(const GalleryRun& run, std::string& text) {
  const std::vector<float>& thresholds = run.options->explain.thresholds;
  if (run.options->annotations_dir.empty()) {
    absl::StrAppend(&text, "Annotation agreement: not measured (no --annotations-dir)\n");
    return;
  }
  const AnnotationReport& report = run.explained.report;
  const GroupSummary all = SummarizeAll(report);
  absl::StrAppend(&text, "Annotation agreement: ", all.count, " annotated tumour image(s) (",
                  report.normal_left_out, " Normal left out, ", report.without_annotation.size(),
                  " without annotation, ", report.failed.size(), " failed):");
  for (size_t t = 0; t < thresholds.size(); ++t) {
    absl::StrAppend(&text, " mean IoU@", ThresholdKey(thresholds[t]), " ",
                    OptionalFixed(all.mean_iou[t]), ";");
  }
  absl::StrAppend(&text, " pointing game ", OptionalFixed(all.pointing_game_rate),
                  "; energy inside ", OptionalFixed(all.mean_energy_inside), "\n");
}

}  // namespace

std::string GallerySummary(const GalleryRun& run, const std::vector<std::string>& written,
                           absl::Duration wall_time) {
  const ClassificationMetrics& m = *run.predicted.metrics;
  std::string text;
  AppendInputs(run, text);
  absl::StrAppend(&text, "Accuracy ", OptionalFixed(m.accuracy), ", balanced accuracy ",
                  OptionalFixed(m.balanced_accuracy), ", macro AUC ", OptionalFixed(m.macro_auc),
                  " (", m.count, " images)\n");
  for (size_t c = 0; c < run.class_names.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    absl::StrAppend(&text, absl::StrFormat("  %-12s %4d true  %4d predicted  sensitivity %s  "
                                           "specificity %s  AUC %s\n",
                                           run.class_names[c], cm.support, cm.predicted,
                                           OptionalFixed(cm.sensitivity),
                                           OptionalFixed(cm.specificity), OptionalFixed(cm.auc)));
  }
  absl::StrAppend(&text, "Galleries (k=", run.options->k, "):");
  for (const ClassGallery& g : run.predicted.galleries) {
    absl::StrAppend(&text, " ", run.class_names[g.class_index]);
    for (const GalleryRow& row : g.rows) {
      absl::StrAppend(&text, " ", OutcomeName(row.outcome), " ", row.picks.size(), "/",
                      row.available);
    }
    absl::StrAppend(&text, ";");
  }
  absl::StrAppend(&text, "\n");
  AppendAgreement(run, text);
  absl::StrAppend(&text, MethodComparisonSummary(run));
  const std::filesystem::path out_dir(run.options->out_dir);
  absl::StrAppend(&text, "Wrote ", absl::StrJoin(written, ", "), " to ", run.options->out_dir,
                  " in ", absl::FormatDuration(absl::Trunc(wall_time, absl::Milliseconds(100))),
                  "\n");
  absl::StrAppend(&text, "Open ", (out_dir / "index.html").string(), "\n");
  return text;
}

}  // namespace explainer::client::gallery
