// Validation of the `explainer gallery` flags; see gallery_options.h.
#include "client/gallery/gallery_options.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/gallery/method_comparison.h"
#include "common/status_macros.h"

namespace explainer::client::gallery {
namespace {

std::string Trim(const std::string& text) { return std::string(absl::StripAsciiWhitespace(text)); }

absl::Status Missing(const char* flag, const char* what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": missing; give ", what));
}

}  // namespace

absl::StatusOr<GalleryOptions> ParseGalleryOptions(const GalleryFlagValues& values) {
  GalleryOptions options;
  EXPLAINER_ASSIGN_OR_RETURN(options.connection, ParseConnectionOptions(values.connection));
  options.input_dir = Trim(values.input_dir);
  options.labels = Trim(values.labels);
  options.annotations_dir = Trim(values.annotations_dir);
  options.out_dir = Trim(values.out);
  if (options.input_dir.empty()) return Missing("--input-dir", "the folder of images");
  if (options.labels.empty()) {
    return Missing("--labels", "BTXRD's dataset.csv, an image,label CSV or a folder per class");
  }
  if (options.out_dir.empty()) return Missing("--out", "the output folder");
  if (values.k < 1 || values.k > kMaxK) {
    return absl::InvalidArgumentError(
        absl::StrCat("--k: must be in [1, ", kMaxK, "], got ", values.k));
  }
  options.k = values.k;
  EXPLAINER_ASSIGN_OR_RETURN(options.explain, ParseExplainSettings(values.explain));
  EXPLAINER_ASSIGN_OR_RETURN(options.window, ParseWindow(values.window));
  EXPLAINER_ASSIGN_OR_RETURN(std::vector<explainer::v1::CamMethod> methods,
                             ParseMethodList(values.methods));
  if (!methods.empty() && options.annotations_dir.empty()) {
    return absl::InvalidArgumentError(
        "--methods: needs --annotations-dir (the methods are compared against the annotations)");
  }
  if (!methods.empty()) options.compared_methods = ComparedMethods(options.explain.method, methods);
  return options;
}

const char* GalleryUsageText() {
  return "\n"
         "explainer gallery --server ADDR --input-dir DIR --labels FILE|DIR --out DIR [flags]\n"
         "  Curated TP / FP / FN overlays per class, classification metrics, an annotation\n"
         "  comparison and IoU report, and an HTML page to browse them.\n"
         "  --input-dir DIR         folder of images, walked recursively\n"
         "  --labels FILE|DIR       ground truth, matched to images by file stem:\n"
         "                          BTXRD's dataset.csv (Malignant where malignant=1,\n"
         "                          else Benign where benign=1, else Normal); a CSV\n"
         "                          image,label (header optional); or a folder with\n"
         "                          one sub-folder per class (DIR/Benign/x.jpeg)\n"
         "  --annotations-dir DIR   LabelMe <stem>.json of the tumour images\n"
         "  --out DIR               output folder, created\n"
         "  --k N                   images per gallery row (default 3, at most 20)\n"
         "  --thresholds LIST       heatmap thresholds of the IoU (default 0.3,0.5,0.7)\n"
         "  --method NAME           CAM method (default grad-cam)\n"
         "  --methods LIST          compare these methods with --method against the\n"
         "                          annotations (e.g. grad-cam,grad-cam++,layer-cam; needs\n"
         "                          --annotations-dir): each annotated tumour image is sent\n"
         "                          once more per other method; writes\n"
         "                          method_comparison.png, a table in index.html and\n"
         "                          annotation_report.json's \"method_comparison\"\n"
         "  --image-weight W        weight of the image in the overlays (default 0.5)\n"
         "  --window N              requests in flight on the stream (default 16)\n"
         "  Pass 1 predicts every labelled image (no heatmaps); pass 2 explains only the\n"
         "  images the galleries show and the annotated tumour images. Writes\n"
         "  gallery_<Class>.png, annotation_comparison.png, metrics.json,\n"
         "  annotation_report.json, gallery.json, results.jsonl (one line per labelled\n"
         "  image, as infer's) and index.html; prints a summary.\n"
         "  Images without a label and labels without an image are listed, not fatal;\n"
         "  a label the model does not know is an error (exit 2). Connection flags and\n"
         "  exit statuses as for infer (explainer help).\n";
}

}  // namespace explainer::client::gallery
