// See explanation_pass.h.
#include "client/gallery/explanation_pass.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/core/item_exchange.h"
#include "client/gallery/gallery_pass.h"
#include "client/gallery/gallery_render.h"
#include "client/gallery/method_comparison.h"

namespace explainer::client::gallery {
cv::Size GalleryTileBox() {
  const GalleryLayout layout;
  return cv::Size(layout.tile_width, layout.image_height);
}

absl::Status RunExplanationPass(Session& session, const explainer::v1::ExplainOptions& base,
                                GalleryRun& run, std::FILE* err) {
  const std::vector<GalleryEntry>& entries = run.inputs.entries;
  const std::vector<float>& thresholds = run.options->explain.thresholds;
  ExplanationResults& out = run.explained;
  std::set<size_t> shown;  // entries the galleries show
  for (const ClassGallery& gallery : run.predicted.galleries) {
    for (const GalleryRow& row : gallery.rows) {
      for (size_t pick : row.picks) shown.insert(run.predicted.predictions[pick].item);
    }
  }
  AnnotationReport& report = out.report;
  report.class_names = run.class_names;
  report.normal_class = -1;
  for (size_t i = 0; i < run.class_names.size(); ++i) {
    if (absl::AsciiStrToLower(run.class_names[i]) == "normal") report.normal_class = static_cast<int>(i);
  }
  report.thresholds = thresholds;
  report.method = CamMethodName(run.options->explain.method);
  std::set<size_t> tumour;  // annotated tumour images the report needs
  for (size_t i = 0; i < entries.size(); ++i) {
    const GalleryEntry& e = entries[i];
    if (e.true_class == report.normal_class) {
      ++report.normal_left_out;
    } else if (e.item->annotation_path.empty()) {
      report.without_annotation.push_back(e.item->relative_path);
    } else if (run.predicted.confidence.count(i) == 0) {
      report.failed.push_back(absl::StrCat(e.item->relative_path, ": not predicted in pass 1"));
    } else {
      tumour.insert(i);
    }
  }
  PassSpec spec{"2/2", "explanations (gallery overlays and annotation reports)", {}, nullptr};
  std::set_union(shown.begin(), shown.end(), tumour.begin(), tumour.end(),
                 std::back_inserter(spec.entries));
  spec.options_for = [&](size_t entry) {
    explainer::v1::ExplainOptions o = base;
    o.set_return_overlay_png(shown.count(entry) > 0);
    o.set_return_heatmap_png(tumour.count(entry) > 0);
    return o;
  };
  const absl::Status status = RunGalleryPass(session, run, spec, err, [&](size_t entry,
                                                                            ItemRecord& record) {
    const std::string& file = entries[entry].item->relative_path;
    if (record.error) {
      const std::string why = ItemErrorText(*record.error);
      if (tumour.count(entry) > 0) report.failed.push_back(absl::StrCat(file, ": ", why));
      if (shown.count(entry) > 0) out.tile_errors[entry] = why;
      return;  // the record of pass 1 stays
    }
    ++out.explained;
    explainer::v1::ExplainResult& result = *record.result;
    if (shown.count(entry) > 0) {
      absl::StatusOr<cv::Mat> tile = OverlayPanel(result.overlay_png(), GalleryTileBox());
      if (tile.ok()) {
        out.tiles[entry] = *std::move(tile);
      } else {
        out.tile_errors[entry] = std::string(tile.status().message());
      }
    }
    if (tumour.count(entry) > 0) {
      absl::StatusOr<AnnotatedImage> image =
          AnnotatedImageFromResult(result, file, entries[entry].item->annotation_path,
                                   entries[entry].true_class, thresholds);
      if (!image.ok()) {
        report.failed.push_back(absl::StrCat(file, ": ", image.status().message()));
      } else {
        report.images.push_back(*std::move(image));
        out.heatmap_pngs[entry] = std::move(*result.mutable_heatmap_png());
      }
    }
    result.clear_overlay_png();
    result.clear_heatmap_png();
    run.records[entry] = std::move(record);
  });
  // Input order, whatever order the answers came in.
  std::sort(report.images.begin(), report.images.end(),
            [](const AnnotatedImage& a, const AnnotatedImage& b) { return a.file < b.file; });
  std::map<std::string, size_t> entry_by_file;
  for (size_t i : spec.entries) entry_by_file[entries[i].item->relative_path] = i;
  for (size_t r = 0; r < report.images.size(); ++r) {
    out.report_index[entry_by_file.at(report.images[r].file)] = r;
  }
  return status;
}

}  // namespace explainer::client::gallery
