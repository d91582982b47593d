// Aggregation and wording of the `infer` summary; see summary.h.
#include "client/summary.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/dicom_files.h"
#include "client/results_writer.h"

namespace explainer::client {

Summary::Summary(std::vector<std::string> class_names) : class_names_(std::move(class_names)) {
  figures_.class_counts.assign(class_names_.size(), 0);
}

void Summary::Add(const ItemRecord& record, bool answered) {
  ++figures_.images;
  if (answered) ++figures_.answered;
  if (record.error) {
    (record.error->source == "server" ? figures_.server_errors : figures_.client_errors)++;
    if (static_cast<int>(first_errors_.size()) < kErrorsShown) {
      first_errors_.push_back(
          absl::StrCat(ItemNameForLog(record.file, record.sop_instance_uid), ": ",
                       absl::StatusCodeToString(static_cast<absl::StatusCode>(record.error->code)),
                       ": ", record.error->message));
    }
    return;
  }
  if (!record.result) return;
  ++figures_.succeeded;
  const int predicted = record.result->predicted_index();
  if (predicted >= static_cast<int>(figures_.class_counts.size())) {
    figures_.class_counts.resize(predicted + 1, 0);
  }
  if (predicted >= 0) ++figures_.class_counts[predicted];
  if (record.result->has_annotation()) {
    const auto& report = record.result->annotation();
    ++figures_.annotated;
    if (report.pointing_game_hit()) ++figures_.pointing_hits;
    for (const auto& at : report.iou()) {
      iou_sums_[at.threshold()] += at.iou();
      ++iou_counts_[at.threshold()];
    }
  }
  if (!record.output_error.empty()) {
    ++figures_.output_errors;
    if (static_cast<int>(first_output_errors_.size()) < kErrorsShown) {
      first_output_errors_.push_back(absl::StrCat(
          ItemNameForLog(record.file, record.sop_instance_uid), ": ", record.output_error));
    }
  }
  if (!record.outputs.overlay.empty()) ++figures_.overlays;
  if (!record.outputs.heatmap.empty()) ++figures_.heatmaps;
  if (!record.outputs.cam.empty()) ++figures_.cams;
}

SummaryFigures Summary::Figures() const {
  SummaryFigures figures = figures_;
  figures.mean_iou.clear();
  for (const auto& [threshold, sum] : iou_sums_) {
    figures.mean_iou[threshold] = sum / iou_counts_.at(threshold);
  }
  return figures;
}

std::string Summary::Format(absl::Duration wall_time, const std::string& out_dir,
                            const std::string& results_path) const {
  const SummaryFigures f = Figures();
  std::string text;
  const int errors = f.server_errors + f.client_errors;
  absl::StrAppend(&text, "images:     ", f.images, " (", f.answered, " answered by the server)\n");
  absl::StrAppend(&text, "succeeded:  ", f.succeeded, "\n");
  absl::StrAppend(&text, "errors:     ", errors);
  if (errors > 0) {
    absl::StrAppend(&text, " (", f.server_errors, " from the server, ", f.client_errors,
                    " found by the client)");
  }
  absl::StrAppend(&text, "\n");
  for (const std::string& line : first_errors_) absl::StrAppend(&text, "  ", line, "\n");
  if (errors > static_cast<int>(first_errors_.size())) {
    absl::StrAppend(&text, "  ... and ", errors - first_errors_.size(),
                    " more (see results.jsonl)\n");
  }
  if (f.output_errors > 0) {
    absl::StrAppend(&text, "not written: ", f.output_errors,
                    " result(s) whose output files could not be written (predictions kept in "
                    "results.jsonl)\n");
    for (const std::string& line : first_output_errors_) absl::StrAppend(&text, "  ", line, "\n");
    if (f.output_errors > static_cast<int>(first_output_errors_.size())) {
      absl::StrAppend(&text, "  ... and ", f.output_errors - first_output_errors_.size(),
                      " more (see results.jsonl)\n");
    }
  }
  std::vector<std::string> counts;
  for (size_t i = 0; i < f.class_counts.size(); ++i) {
    const std::string name = i < class_names_.size() ? class_names_[i] : absl::StrCat("class ", i);
    counts.push_back(absl::StrCat(name, " ", f.class_counts[i]));
  }
  absl::StrAppend(&text, "predicted:  ", counts.empty() ? "-" : absl::StrJoin(counts, ", "), "\n");
  if (f.annotated > 0) {
    std::vector<std::string> ious;
    for (const auto& [threshold, mean] : f.mean_iou) {
      ious.push_back(absl::StrFormat("@%s %.3f", ThresholdKey(threshold), mean));
    }
    absl::StrAppend(&text, "annotated:  ", f.annotated, " images; mean IoU ",
                    absl::StrJoin(ious, "  "), "\n");
    absl::StrAppend(&text, absl::StrFormat("pointing:   %d/%d hits (%.1f%%)\n", f.pointing_hits,
                                           f.annotated, 100.0 * f.pointing_hits / f.annotated));
  } else {
    absl::StrAppend(&text, "annotated:  none (no annotation reports)\n");
  }
  const double seconds = absl::ToDoubleSeconds(wall_time);
  absl::StrAppend(&text, absl::StrFormat("time:       %.2f s, %.2f images/s\n", seconds,
                                         seconds > 0 ? f.images / seconds : 0.0));
  absl::StrAppend(&text, "outputs:    ", out_dir, " (", f.overlays, " *_overlay.png");
  if (f.heatmaps > 0) absl::StrAppend(&text, ", ", f.heatmaps, " *_heatmap.png");
  if (f.cams > 0) absl::StrAppend(&text, ", ", f.cams, " *_cam.npy");
  absl::StrAppend(&text, ")\n");
  absl::StrAppend(&text, "results:    ", results_path, "\n");
  return text;
}

}  // namespace explainer::client
