// See method_comparison_pass.h.
#include "client/gallery/method_comparison_pass.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/core/item_exchange.h"
#include "client/gallery/gallery_pass.h"
#include "client/gallery/method_comparison_render.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {

absl::Status RunMethodComparisonPasses(Session& session, const explainer::v1::ExplainOptions& base,
                                       GalleryRun& run, std::FILE* err) {
  if (run.options->compared_methods.size() < 2) return absl::OkStatus();
  MethodComparisonInput input;
  input.methods = run.options->compared_methods;
  input.primary = &run.explained.report;
  for (const auto& [entry, r] : run.explained.report_index) {
    const ImageItem& item = *run.inputs.entries[entry].item;
    const std::string& file = run.explained.report.images[r].file;
    input.images[file] = ComparedImage{entry, item.path, item.annotation_path};
    auto panels = run.comparison.panels.find(entry);
    if (panels != run.comparison.panels.end()) input.primary_panels[file] = panels->second;
    auto error = run.comparison.errors.find(entry);
    if (error != run.comparison.errors.end()) input.primary_errors[file] = error->second;
  }
  input.base_options = base;
  const MethodComparisonLayout layout;
  input.panel_box = cv::Size(layout.tile_width, layout.image_height);
  input.max_file_bytes = session.options().max_message_bytes;
  run.method_comparison.emplace();
  return RunMethodComparison(
      input,
      [&](const std::string& method, const std::vector<size_t>& keys,
          const std::function<explainer::v1::ExplainOptions(size_t)>& options_for,
          const OnComparisonAnswer& on_answer) {
        const PassSpec spec{absl::StrCat("method ", method),
                            "method comparison (annotated tumour images)", keys, options_for};
        return RunGalleryPass(session, run, spec, err,
                              [&](size_t entry, ItemRecord& record) {
                                on_answer(entry, record.result ? &*record.result : nullptr,
                                          record.error ? ItemErrorText(*record.error) : "");
                              });
      },
      &*run.method_comparison);
}

std::string MethodComparisonSummary(const GalleryRun& run) {
  if (!run.method_comparison || run.method_comparison->reports.empty()) return "";
  const MethodComparison& c = *run.method_comparison;
  const std::vector<float>& thresholds = c.reports[0].thresholds;
  std::string line = absl::StrCat("Method comparison (mean IoU@",
                                  ThresholdKey(thresholds.at(c.rank_threshold)),
                                  ", pointing game, failed):");
  std::optional<double> best;
  std::string leader;
  for (size_t m = 0; m < c.reports.size(); ++m) {
    const GroupSummary all = SummarizeAll(c.reports[m]);
    const std::optional<double>& iou = all.mean_iou[c.rank_threshold];
    absl::StrAppend(&line, " ", c.methods[m], " ",
                    iou ? absl::StrFormat("%.3f", *iou) : "n/a", " ",
                    all.pointing_game_rate ? absl::StrFormat("%.3f", *all.pointing_game_rate)
                                           : "n/a",
                    " ", c.reports[m].failed.size(), ";");
    if (iou && (!best || *iou > *best)) {
      best = iou;
      leader = c.methods[m];
    }
  }
  if (best) absl::StrAppend(&line, " best IoU: ", leader);
  return line + "\n";
}

}  // namespace explainer::client::gallery
