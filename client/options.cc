// Validation of the `explainer` flags; see options.h.
#include "client/options.h"

#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/dicom_voi_flag.h"
#include "common/status_macros.h"

namespace explainer::client {
namespace {

constexpr int kMaxWindow = 1024;
constexpr int kMaxMessageMb = 2047;  // gRPC sizes are int32 bytes

}  // namespace

absl::StatusOr<ConnectionOptions> ParseConnectionOptions(const ConnectionFlagValues& values) {
  ConnectionOptions options;
  options.server = std::string(absl::StripAsciiWhitespace(values.server));
  if (options.server.empty()) {
    return absl::InvalidArgumentError(
        "--server: missing; give the server's address as host:port, e.g. "
        "--server=127.0.0.1:50051");
  }
  if (values.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--connect-timeout: must be positive, got ",
                                                   absl::FormatDuration(values.connect_timeout)));
  }
  if (values.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--deadline: must be positive, got ", absl::FormatDuration(values.deadline)));
  }
  if (values.max_message_mb < 1 || values.max_message_mb > kMaxMessageMb) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-message-mb: must be in [1, ", kMaxMessageMb, "], got ", values.max_message_mb));
  }
  EXPLAINER_ASSIGN_OR_RETURN(options.security, ParseChannelSecurity(values.security));
  options.connect_timeout = values.connect_timeout;
  options.deadline = values.deadline;
  options.max_message_bytes = values.max_message_mb * 1024 * 1024;
  if (!values.lb.empty() && values.lb != "pick_first" && values.lb != "round_robin") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--lb: must be pick_first or round_robin, got '", values.lb,
        "' (round_robin spreads calls over every address of --server, e.g. "
        "dns:///explainer-headless:50051 or ipv4:10.0.0.1:50051,10.0.0.2:50051)"));
  }
  options.lb_policy = values.lb;
  return options;
}

absl::StatusOr<std::vector<float>> ParseThresholds(absl::string_view text) {
  std::vector<float> thresholds;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    double value = 0;
    if (!absl::SimpleAtod(part, &value) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--thresholds: '", part,
                       "' is not a number (expected a comma-separated "
                       "list such as 0.3,0.5,0.7)"));
    }
    if (value < 0.0 || value > 1.0) {
      return absl::InvalidArgumentError(absl::StrCat("--thresholds: ", part, " is outside [0, 1]"));
    }
    for (float seen : thresholds) {
      if (seen == static_cast<float>(value)) {
        return absl::InvalidArgumentError(absl::StrCat("--thresholds: ", part, " is given twice"));
      }
    }
    thresholds.push_back(static_cast<float>(value));
  }
  return thresholds;
}

namespace {
// Client names of the wire's CamMethod values, by value (the server's engine uses the
// same names; GetModelInfo's method_info lists them with their cost).
constexpr const char* kCamMethodNames[] = {
    "grad-cam",  "hires-cam",      "grad-cam++",           "xgrad-cam", "layer-cam",
    "eigen-cam", "eigen-grad-cam", "grad-cam-elementwise", "score-cam", "ablation-cam"};
}  // namespace

absl::StatusOr<explainer::v1::CamMethod> ParseCamMethod(absl::string_view text) {
  const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (name == "gradcam" || name == "grad_cam") return explainer::v1::CAM_METHOD_GRAD_CAM;
  for (size_t i = 0; i < std::size(kCamMethodNames); ++i) {
    if (name == kCamMethodNames[i]) return static_cast<explainer::v1::CamMethod>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("--method: unknown CAM method '", text,
                                                 "' (known: ",
                                                 absl::StrJoin(kCamMethodNames, ", "), ")"));
}

std::string CamMethodName(explainer::v1::CamMethod method) {
  const int value = static_cast<int>(method);
  if (value >= 0 && value < static_cast<int>(std::size(kCamMethodNames))) {
    return kCamMethodNames[value];
  }
  return absl::StrCat("method#", value);
}

absl::StatusOr<int> ResolveTargetClass(absl::string_view spec,
                                       const std::vector<std::string>& class_names) {
  spec = absl::StripAsciiWhitespace(spec);
  const std::string known = absl::StrJoin(class_names, ", ");
  int index = -1;
  if (absl::SimpleAtoi(spec, &index)) {
    if (index < 0 || index >= static_cast<int>(class_names.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--target-class: index ", index, " is out of range; the model has ", class_names.size(),
          " classes (0..", class_names.size() - 1, ": ", known, ")"));
    }
    return index;
  }
  for (size_t i = 0; i < class_names.size(); ++i) {
    if (absl::EqualsIgnoreCase(class_names[i], spec)) return static_cast<int>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--target-class: the model has no class '", spec, "' (classes: ", known, ")"));
}

absl::StatusOr<int> ParseWindow(int window) {
  if (window < 1 || window > kMaxWindow) {
    return absl::InvalidArgumentError(
        absl::StrCat("--window: must be in [1, ", kMaxWindow, "], got ", window));
  }
  return window;
}

absl::StatusOr<std::vector<float>> ParseRoadPercentiles(absl::string_view text) {
  std::vector<float> percentiles;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    double value = 0;
    if (!absl::SimpleAtod(part, &value) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--road-percentiles: '", part, "' is not a number (expected e.g. 20,40,60,80)"));
    }
    if (value <= 0.0 || value >= 100.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--road-percentiles: ", part, " is outside (0, 100)"));
    }
    percentiles.push_back(static_cast<float>(value));
  }
  return percentiles;
}

absl::StatusOr<ExplainSettings> ParseExplainSettings(const ExplainFlagValues& values) {
  ExplainSettings settings;
  EXPLAINER_ASSIGN_OR_RETURN(settings.method, ParseCamMethod(values.method));
  settings.aug_smooth = values.aug_smooth;
  settings.eigen_smooth = values.eigen_smooth;
  for (absl::string_view part : absl::StrSplit(values.faithfulness, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    if (part == "cam-multiply") {
      settings.cam_multiply = true;
    } else if (part == "road") {
      settings.road = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--faithfulness: unknown metric '", part, "' (known: cam-multiply, road)"));
    }
  }
  EXPLAINER_ASSIGN_OR_RETURN(settings.road_percentiles,
                             ParseRoadPercentiles(values.road_percentiles));
  if (values.road_seed < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--road-seed: must be 0 or more, got ", values.road_seed));
  }
  settings.road_seed = static_cast<uint64_t>(values.road_seed);
  if (!settings.road && (!settings.road_percentiles.empty() || settings.road_seed != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        settings.road_percentiles.empty() ? "--road-seed" : "--road-percentiles",
        ": only with --faithfulness road"));
  }
  const absl::string_view target = absl::StripAsciiWhitespace(values.target_class);
  if (!target.empty()) {
    settings.target_class = std::string(target);
    int index = 0;
    if (absl::SimpleAtoi(target, &index) && index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target-class: ", index, " is negative; give a class index or name"));
    }
  }
  EXPLAINER_ASSIGN_OR_RETURN(settings.thresholds, ParseThresholds(values.thresholds));
  if (!(values.image_weight >= 0.0 && values.image_weight <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--image-weight: ", values.image_weight, " is outside [0, 1]"));
  }
  settings.image_weight = static_cast<float>(values.image_weight);
  return settings;
}

absl::StatusOr<InferOptions> ParseInferOptions(const InferFlagValues& values) {
  InferOptions options;
  EXPLAINER_ASSIGN_OR_RETURN(options.connection, ParseConnectionOptions(values.connection));
  if (!values.input_pacs.empty() || !values.pacs_study.empty()) {
    if (!values.image.empty() || !values.input_dir.empty()) {
      return absl::InvalidArgumentError(
          "--input-pacs: the PACS is the input; not with --image or --input-dir");
    }
    EXPLAINER_ASSIGN_OR_RETURN(
        options.input_pacs, ParsePacsFlags(values.input_pacs, values.pacs_study, values.pacs_aet));
  } else if (values.image.empty() == values.input_dir.empty()) {
    return absl::InvalidArgumentError(
        values.image.empty()
            ? "--image / --input-dir: give one image (--image FILE) or a folder "
              "(--input-dir DIR)"
            : "--image / --input-dir: give either --image or --input-dir, not both");
  }
  options.image = values.image;
  options.input_dir = values.input_dir;
  options.annotations_dir = values.annotations_dir;
  if (values.out.empty()) {
    return absl::InvalidArgumentError(
        "--out: missing; give the folder that receives overlays and results.jsonl");
  }
  options.out_dir = values.out;
  EXPLAINER_ASSIGN_OR_RETURN(options.explain, ParseExplainSettings(values.explain));
  EXPLAINER_ASSIGN_OR_RETURN(options.window, ParseWindow(values.window));
  options.heatmap = values.heatmap;
  options.save_cam = values.save_cam;
  if (!values.dicom_uid_root.empty()) {
    bool valid = values.dicom_uid_root.size() <= 32 && values.dicom_uid_root.front() != '.' &&
                 values.dicom_uid_root.back() != '.';
    for (const char c : values.dicom_uid_root) valid = valid && (absl::ascii_isdigit(c) || c == '.');
    if (!valid) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--dicom-uid-root: ", values.dicom_uid_root,
          " is not a UID root (digits and dots, at most 32 characters)"));
    }
  }
  options.dicom_out = values.dicom_out;
  options.dicom_uid_root = values.dicom_uid_root;
  EXPLAINER_ASSIGN_OR_RETURN(options.dicom_voi, ParseDicomVoiFlag(values.dicom_voi));
  if (values.overlay != "client" && values.overlay != "server") {
    return absl::InvalidArgumentError(
        absl::StrCat("--overlay: '", values.overlay, "' is neither client nor server"));
  }
  options.server_overlay = values.overlay == "server";
  if (values.png_compression < -1 || values.png_compression > 9) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--png-compression: ", values.png_compression, " is not -1 (fast) or 0..9"));
  }
  options.png_compression = values.png_compression;
  return options;
}

}  // namespace explainer::client
