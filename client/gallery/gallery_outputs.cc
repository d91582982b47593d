// See gallery_outputs.h.
#include "client/gallery/gallery_outputs.h"

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "client/file_io.h"
#include "client/gallery/gallery_documents.h"
#include "client/gallery/gallery_pictures.h"
#include "client/gallery/html_report.h"
#include "client/gallery/method_comparison_render.h"
#include "client/results_writer.h"
#include "client/utf8_text.h"
#include "common/status_macros.h"
#include "opencv2/imgcodecs.hpp"

namespace explainer::client::gallery {
namespace {

using Json = nlohmann::ordered_json;

absl::Status WritePng(const std::string& path, const cv::Mat& bgr) {
  std::vector<uchar> bytes;
  try {
    if (!cv::imencode(".png", bgr, bytes)) {
      return absl::InternalError(absl::StrCat("cannot encode ", path, " as PNG"));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot encode ", path, " as PNG: ", e.what()));
  }
  return WriteFileBytes(
      path, absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// results.jsonl from the item records, in entry order.
absl::Status WriteResults(const GalleryRun& run, const std::string& path) {
  EXPLAINER_ASSIGN_OR_RETURN(std::unique_ptr<ResultsWriter> writer, ResultsWriter::Open(path));
  size_t line = 0;
  for (const std::optional<ItemRecord>& record : run.records) {
    if (!record) continue;
    EXPLAINER_RETURN_IF_ERROR(writer->Add(line++, RecordToJson(*record, run.class_names)));
  }
  return writer->Close();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> WriteGalleryOutputs(const GalleryRun& run) {
  const std::filesystem::path out_dir(run.options->out_dir);
  auto out = [&](const std::string& name) { return (out_dir / name).string(); };
  std::vector<std::string> written;
  for (const ClassGallery& gallery : run.predicted.galleries) {
    EXPLAINER_ASSIGN_OR_RETURN(cv::Mat image, RenderClassGallery(run, gallery));
    const std::string file = GalleryFileName(run.class_names[gallery.class_index]);
    EXPLAINER_RETURN_IF_ERROR(WritePng(out(file), image));
    written.push_back(file);
  }
  const bool annotated = !run.options->annotations_dir.empty();
  if (annotated) {
    EXPLAINER_ASSIGN_OR_RETURN(cv::Mat image, RenderAnnotationComparison(run));
    EXPLAINER_RETURN_IF_ERROR(WritePng(out("annotation_comparison.png"), image));
    written.push_back("annotation_comparison.png");
  }
  if (run.method_comparison) {
    EXPLAINER_ASSIGN_OR_RETURN(cv::Mat image, RenderMethodComparison(*run.method_comparison));
    EXPLAINER_RETURN_IF_ERROR(WritePng(out("method_comparison.png"), image));
    written.push_back("method_comparison.png");
  }
  // File names need not be UTF-8: escaped here, so that neither the JSON files nor
  // the page (which dumps parts of them) can throw on them.
  const Json metrics = EscapeInvalidUtf8Json(MetricsToJson(*run.predicted.metrics));
  Json report = annotated ? AnnotationReportToJson(run.explained.report) : Json();
  if (run.method_comparison) {
    report["method_comparison"] = MethodComparisonToJson(*run.method_comparison);
  }
  report = EscapeInvalidUtf8Json(report);
  const Json gallery = EscapeInvalidUtf8Json(GalleryJson(run));
  EXPLAINER_RETURN_IF_ERROR(WriteFileBytes(out("metrics.json"), DumpJson(metrics, 2) + "\n"));
  written.push_back("metrics.json");
  if (annotated) {
    EXPLAINER_RETURN_IF_ERROR(
        WriteFileBytes(out("annotation_report.json"), DumpJson(report, 2) + "\n"));
    written.push_back("annotation_report.json");
  }
  EXPLAINER_RETURN_IF_ERROR(WriteFileBytes(out("gallery.json"), DumpJson(gallery, 2) + "\n"));
  written.push_back("gallery.json");
  EXPLAINER_RETURN_IF_ERROR(WriteResults(run, out("results.jsonl")));
  written.push_back("results.jsonl");
  const std::string html = RenderIndexHtml(HtmlReportInput{gallery, metrics, report});
  EXPLAINER_RETURN_IF_ERROR(WriteFileBytes(out("index.html"), html));
  written.push_back("index.html");
  return written;
}

}  // namespace explainer::client::gallery
