// `gallery --methods`: which CAM method's heatmaps agree best with the
// radiologists' annotations on this model. Every annotated tumour image is
// explained once more per extra method (the run's own --method is not sent again:
// its figures are the annotation report's), the best / median / worst images per
// class are those of the run's method, and each method gets the same figures as
// the annotation report (mean IoU per threshold, pointing game, energy inside).
#ifndef EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_H_
#define EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/gallery/annotation_report.h"
#include "client/gallery/panels.h"
#include "explainer/v1/explainer.pb.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// "grad-cam, grad-cam++" -> the methods in that order, without repeats; empty
// text: none. Errors name --methods and the unknown name.
absl::StatusOr<std::vector<explainer::v1::CamMethod>> ParseMethodList(absl::string_view text);

// The methods compared: `primary` (the run's --method, which ranks the images)
// first, then the others of `requested` in their order. Fewer than two: no
// comparison.
std::vector<explainer::v1::CamMethod> ComparedMethods(
    explainer::v1::CamMethod primary, const std::vector<explainer::v1::CamMethod>& requested);

// FailedPrecondition naming --methods and the method when the server lists its
// methods and one of `methods` is not among them.
absl::Status CheckMethodsOffered(const std::vector<explainer::v1::CamMethod>& methods,
                                 const explainer::v1::ModelInfo& info);

// One image of the primary report, as the comparison needs to send it again.
struct ComparedImage {
  size_t key = 0;               // the caller's name for it (the gallery's entry index)
  std::string path;             // to read (a pick's panels)
  std::string annotation_path;  // its LabelMe file
};

// The figures of an answer for `image`, in the order of `thresholds` (an IoU
// missing from the answer counts 0). InvalidArgument when it has no annotation
// report.
absl::StatusOr<AnnotatedImage> AnnotatedImageFromResult(const explainer::v1::ExplainResult& result,
                                                        const std::string& file,
                                                        const std::string& annotation_file,
                                                        int true_class,
                                                        const std::vector<float>& thresholds);

// The image of `report` with that file; null when it has none.
const AnnotatedImage* FindReportImage(const AnnotationReport& report, const std::string& file);

// One picked image: its mask panel and one overlay (or the reason it has none)
// per method.
struct PickedImage {
  const char* role = "";  // "best", "median", "worst"
  std::string file;
  int true_class = 0;
  cv::Mat mask;                       // from the primary's panels; empty: none
  std::vector<cv::Mat> overlays;      // per method; empty Mat: see errors
  std::vector<std::string> errors;    // per method; empty: fine
};

struct ClassPicks {
  int class_index = 0;
  int ranked = 0;  // annotated images of the class in the primary report
  std::vector<PickedImage> picks;
};

struct MethodComparison {
  std::vector<std::string> methods;     // names, primary first
  size_t rank_threshold = 0;            // index into the thresholds
  std::vector<AnnotationReport> reports;  // per method, same images; [0] the primary's
  std::vector<ClassPicks> classes;      // per annotated class, in class order
};

// Runs one Explain stream, for `method` (its name), over the images with these
// keys (ComparedImage::key) with the options `options_for(key)` gives; every image is answered once through
// `on_answer`, with a result or (result null) the error's text. The status is the
// stream's: not OK when it failed as a whole.
using OnComparisonAnswer = std::function<void(
    size_t key, const explainer::v1::ExplainResult* result, const std::string& error)>;
using ComparisonPassRunner = std::function<absl::Status(
    const std::string& method, const std::vector<size_t>& keys,
    const std::function<explainer::v1::ExplainOptions(size_t key)>& options_for,
    const OnComparisonAnswer& on_answer)>;

struct MethodComparisonInput {
  std::vector<explainer::v1::CamMethod> methods;  // ComparedMethods(): primary first
  // The run's annotation report (the primary's figures); every image in it is
  // sent once per other method.
  const AnnotationReport* primary = nullptr;
  std::map<std::string, ComparedImage> images;  // by report file
  // Panels of the primary's picks (the annotation comparison's, by file); a pick
  // missing here shows `primary_errors`' text or "no panels".
  std::map<std::string, ComparisonPanels> primary_panels;
  std::map<std::string, std::string> primary_errors;
  // Options every request shares (thresholds; overlay_image_weight also weighs
  // the picks' overlays drawn here); method and the returned images are set per
  // request (only the picks ask for the 8-bit heatmap PNG).
  explainer::v1::ExplainOptions base_options;
  cv::Size panel_box{240, 240};
  int64_t max_file_bytes = 64 << 20;  // when reading a pick's files for its panels
};

// One pass per method after the first. A pass that fails as a whole stops the
// comparison: `comparison` then holds what was received and the status says why.
absl::Status RunMethodComparison(const MethodComparisonInput& input,
                                 const ComparisonPassRunner& run_pass,
                                 MethodComparison* comparison);

// The best / median / worst of each annotated class of `primary`, ranked by the
// IoU at `rank_threshold` (SelectBestMedianWorst).
std::vector<ClassPicks> PickByPrimary(const AnnotationReport& primary, size_t rank_threshold,
                                      size_t methods);

// annotation_report.json's "method_comparison": methods, what ranked the picks,
// per method its overall and per-class figures, failures and per-image figures,
// the picks with every method's IoU, and which method leads each figure.
nlohmann::ordered_json MethodComparisonToJson(const MethodComparison& comparison);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_H_
