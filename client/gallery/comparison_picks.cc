// See comparison_picks.h.
#include "client/gallery/comparison_picks.h"

#include <string>
#include <utility>
#include <vector>

#include "client/file_io.h"
#include "client/gallery/panels.h"
#include "client/gallery/selection.h"

namespace explainer::client::gallery {
namespace {

absl::StatusOr<ComparisonPanels> PanelsOf(const GalleryRun& run, size_t entry, cv::Size box) {
  const ImageItem& item = *run.inputs.entries[entry].item;
  const int64_t limit = run.options->connection.max_message_bytes;
  absl::StatusOr<std::string> image = ReadFileBytes(item.path, limit);
  if (!image.ok()) return image.status();
  absl::StatusOr<std::string> annotation = ReadFileBytes(item.annotation_path, limit);
  if (!annotation.ok()) return annotation.status();
  return BuildComparisonPanelsFromHeatmapPng(*image, *annotation,
                                             run.explained.heatmap_pngs.at(entry),
                                             run.options->explain.image_weight, box);
}

}  // namespace

void BuildComparison(GalleryRun& run, cv::Size panel_box) {
  const AnnotationReport& report = run.explained.report;
  const size_t rank_t = RankingThresholdIndex(run.options->explain.thresholds);
  for (int c : AnnotatedClasses(report)) {
    std::vector<size_t> entries;
    std::vector<double> scores;
    std::vector<std::string> files;
    for (const auto& [entry, r] : run.explained.report_index) {
      if (report.images[r].true_class != c) continue;
      entries.push_back(entry);
      scores.push_back(report.images[r].iou[rank_t]);
      files.push_back(report.images[r].file);
    }
    std::vector<ComparisonPick> picks;
    for (const RankedPick& pick : SelectBestMedianWorst(scores, files)) {
      const size_t entry = entries[pick.index];
      picks.push_back(ComparisonPick{pick.role, entry, run.explained.report_index.at(entry)});
      if (run.comparison.panels.count(entry) > 0 || run.comparison.errors.count(entry) > 0) {
        continue;
      }
      absl::StatusOr<ComparisonPanels> panels = PanelsOf(run, entry, panel_box);
      if (panels.ok()) {
        run.comparison.panels[entry] = *std::move(panels);
      } else {
        run.comparison.errors[entry] = std::string(panels.status().message());
      }
    }
    run.comparison.picks.emplace_back(c, std::move(picks));
  }
}

}  // namespace explainer::client::gallery
