// Per-item validation, preparation and post-processing (see item_stages.h).
#include "service/server/item_stages.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/heatmap_metrics.h"
#include "common/image_decode.h"
#include "common/image_encode.h"
#include "common/labelme.h"
#include "common/mask.h"
#include "common/overlay.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "opencv2/imgproc.hpp"

namespace explainer::server {
namespace {

float ToMs(absl::Duration d) { return static_cast<float>(absl::ToDoubleMilliseconds(d)); }

// A failure after the engine is never the client's fault.
absl::Status PostprocessError(absl::string_view what, const absl::Status& status) {
  return absl::InternalError(
      absl::StrCat("post-processing failed (", what, "): ", status.message()));
}

bool InUnitInterval(float v) { return std::isfinite(v) && v >= 0.0f && v <= 1.0f; }

// The engine's CAM options from the wire's. The wire's CamMethod values are the
// engine's AllCamMethods() indices (GetModelInfo lists them the same way).
absl::Status CamOptionsFromProto(const v1::ExplainOptions& options, engine::CamOptions* cam,
                                 engine::FaithfulnessOptions* faithfulness) {
  const int method = static_cast<int>(options.method());
  const auto methods = engine::AllCamMethods();
  if (method < 0 || method >= static_cast<int>(methods.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.method: unknown CAM method ", method, " (known: 0..",
                     methods.size() - 1, ": ", engine::CamMethodNames(), ")"));
  }
  cam->method = methods[method].method;
  cam->aug_smooth = options.aug_smooth();
  cam->eigen_smooth = options.eigen_smooth();
  if (options.score_cam_batch_size() != 0) {
    cam->score_cam_batch_size = options.score_cam_batch_size();
  }
  if (options.ablation_cam_batch_size() != 0) {
    cam->ablation_cam_batch_size = options.ablation_cam_batch_size();
  }
  if (options.has_faithfulness()) {
    const v1::FaithfulnessOptions& f = options.faithfulness();
    faithfulness->cam_multiply = f.cam_multiply();
    faithfulness->road = f.road();
    faithfulness->road_percentiles.assign(f.road_percentiles().begin(),
                                          f.road_percentiles().end());
    faithfulness->road_seed = f.road_seed();
  }
  return absl::OkStatus();
}

std::string ClassList(const engine::ModelSpec& spec) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < spec.class_names.size(); ++i) {
    parts.push_back(absl::StrCat(i, " ", spec.class_names[i]));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

absl::Status ValidateOptions(const v1::ExplainOptions& options,
                             const engine::ModelSpec& spec) {
  engine::CamOptions cam;
  engine::FaithfulnessOptions faithfulness;
  EXPLAINER_RETURN_IF_ERROR(CamOptionsFromProto(options, &cam, &faithfulness));
  if (!options.skip_explanation()) {
    EXPLAINER_RETURN_IF_ERROR(engine::ValidateCamOptions(cam, faithfulness, spec), "options");
  }
  const int classes = static_cast<int>(spec.class_names.size());
  if (options.has_target_class() &&
      (options.target_class() < 0 || options.target_class() >= classes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.target_class: ", options.target_class(),
        " is out of range; the model has ", classes, " classes (", ClassList(spec), ")"));
  }
  if (options.iou_thresholds_size() > kMaxIouThresholds) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.iou_thresholds: ", options.iou_thresholds_size(),
                     " thresholds given, at most ", kMaxIouThresholds, " are allowed"));
  }
  for (int i = 0; i < options.iou_thresholds_size(); ++i) {
    if (!InUnitInterval(options.iou_thresholds(i))) {
      return absl::InvalidArgumentError(absl::StrCat("options.iou_thresholds[", i,
                                                     "]: ", options.iou_thresholds(i),
                                                     " is outside [0, 1]"));
    }
  }
  if (options.has_overlay_image_weight() &&
      !InUnitInterval(options.overlay_image_weight())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.overlay_image_weight: ", options.overlay_image_weight(),
                     " is outside [0, 1]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedItem> PrepareItem(const v1::ExplainRequest& request,
                                         const engine::ModelSpec& spec,
                                         const ItemLimits& limits, absl::Time received) {
  const v1::ExplainOptions& options = request.options();
  EXPLAINER_RETURN_IF_ERROR(ValidateOptions(options, spec));

  PreparedItem item;
  item.request_id = request.request_id();
  item.received = received;
  if (options.has_target_class()) item.target_class = options.target_class();
  item.explain = !options.skip_explanation();
  EXPLAINER_RETURN_IF_ERROR(CamOptionsFromProto(options, &item.cam, &item.faithfulness));
  if (options.iou_thresholds_size() > 0) {
    item.thresholds.assign(options.iou_thresholds().begin(),
                           options.iou_thresholds().end());
  } else {
    item.thresholds.assign(std::begin(common::kDefaultIouThresholds),
                           std::end(common::kDefaultIouThresholds));
  }
  if (options.has_overlay_image_weight()) {
    item.overlay_image_weight = options.overlay_image_weight();
  }
  item.return_raw_heatmap = item.explain && options.return_raw_heatmap();
  item.return_heatmap_png = item.explain && options.return_heatmap_png();
  item.return_overlay_png = item.explain && options.return_overlay_png();
  item.png_compression = limits.png_compression;

  if (request.image().empty()) {
    return absl::InvalidArgumentError(
        "image: empty (the request carried no image bytes)");
  }
  absl::Time start = absl::Now();
  common::DecodeOptions decode_options;
  decode_options.max_pixels = limits.max_image_pixels;
  EXPLAINER_ASSIGN_OR_RETURN(decode_options.dicom_voi, DicomVoiFromProto(options));
  EXPLAINER_ASSIGN_OR_RETURN(item.dicom_output, PlanDicomOutput(request, limits.bundle_sha256));
  const int min_side = limits.fast_decode && !item.return_overlay_png
                           ? std::max(spec.input_size.width, spec.input_size.height)
                           : 0;
  absl::StatusOr<common::DecodedImage> decoded =
      common::DecodeImageReduced(request.image(), min_side, decode_options);
  if (!decoded.ok()) return common::Annotate(decoded.status(), "image");
  cv::Mat* const rgb = &decoded->rgb;  // full size unless --decode=fast reduced it
  item.original_width = decoded->full_size.width;
  item.original_height = decoded->full_size.height;
  item.decode_time = absl::Now() - start;

  start = absl::Now();
  absl::StatusOr<common::ModelInput> input =
      common::Preprocess(*rgb, spec.input_size, spec.normalization);
  if (!input.ok()) return common::Annotate(input.status(), "image");
  item.input = std::move(*input);

  // The annotation only feeds the report, which needs the CAM.
  if (item.explain && !request.annotation_json().empty()) {
    absl::StatusOr<common::LabelMeAnnotation> annotation =
        common::ParseLabelMe(request.annotation_json(), limits.annotation);
    if (!annotation.ok()) return common::Annotate(annotation.status(), "annotation_json");
    common::ShapeFilter filter;
    filter.labels.assign(options.annotation_labels().begin(),
                         options.annotation_labels().end());
    filter.shape_types.assign(options.annotation_shape_types().begin(),
                              options.annotation_shape_types().end());
    absl::StatusOr<common::AnnotationMask> mask =
        common::RasterizeAnnotation(*annotation, decoded->full_size, filter,
                                    limits.annotation);
    if (!mask.ok()) return common::Annotate(mask.status(), "annotation_json");
    // Same nearest-neighbour resize ScoreHeatmap applies; a same-size mask then
    // passes through it unchanged, so the report is identical.
    cv::Mat small;
    cv::resize(mask->mask, small, spec.input_size, 0, 0, cv::INTER_NEAREST);
    item.mask = std::move(small);
    item.shape_count = mask->shape_count;
  }
  item.preprocess_time = absl::Now() - start;

  if (item.return_overlay_png || item.dicom_output) item.image = std::move(*rgb);
  return item;
}

absl::StatusOr<v1::ExplainResult> FinishItem(const PreparedItem& item,
                                             const engine::EngineResult& result,
                                             const engine::ModelSpec& spec,
                                             const BatchStats& batch) {
  const absl::Time start = absl::Now();
  const int classes = static_cast<int>(spec.class_names.size());
  if (static_cast<int>(result.probabilities.size()) != classes ||
      result.predicted_index < 0 || result.predicted_index >= classes) {
    return absl::InternalError(absl::StrCat(
        "engine result does not fit the model: ", result.probabilities.size(),
        " probabilities and predicted index ", result.predicted_index, " for ", classes,
        " classes"));
  }

  v1::ExplainResult out;
  out.set_predicted_index(result.predicted_index);
  out.set_predicted_name(spec.class_names[result.predicted_index]);
  for (int i = 0; i < classes; ++i) {
    v1::ClassProbability* p = out.add_probabilities();
    p->set_index(i);
    p->set_name(spec.class_names[i]);
    p->set_probability(result.probabilities[i]);
  }
  out.set_explained_index(-1);
  out.set_original_width(item.original_width);
  out.set_original_height(item.original_height);

  if (item.explain) {
    const cv::Mat& cam = result.cam;
    if (cam.empty() || cam.type() != CV_32FC1 || cam.size() != spec.input_size ||
        result.explained_index < 0 || result.explained_index >= classes) {
      return absl::InternalError(absl::StrCat(
          "engine result has no usable CAM: ", cam.cols, "x", cam.rows, " type ",
          cam.type(), ", explained index ", result.explained_index));
    }
    out.set_explained_index(result.explained_index);
    if (item.return_raw_heatmap) {
      v1::Heatmap* heatmap = out.mutable_heatmap();
      heatmap->set_width(cam.cols);
      heatmap->set_height(cam.rows);
      heatmap->mutable_values()->Reserve(cam.cols * cam.rows);
      for (int y = 0; y < cam.rows; ++y) {
        const float* row = cam.ptr<float>(y);
        heatmap->mutable_values()->Add(row, row + cam.cols);
      }
    }
    if (item.return_heatmap_png) {
      absl::StatusOr<cv::Mat> gray = common::HeatmapToGray8(cam);
      if (!gray.ok()) return PostprocessError("heatmap_png", gray.status());
      absl::StatusOr<std::string> png = common::EncodePng(*gray, item.png_compression);
      if (!png.ok()) return PostprocessError("heatmap_png", png.status());
      out.set_heatmap_png(std::move(*png));
    }
    if (item.return_overlay_png) {
      absl::StatusOr<std::string> png = common::OverlayPng(
          item.image, cam, item.overlay_image_weight, item.png_compression);
      if (!png.ok()) return PostprocessError("overlay_png", png.status());
      out.set_overlay_png(std::move(*png));
    }
    if (item.mask.has_value()) {
      absl::StatusOr<common::HeatmapScores> scores =
          common::ScoreHeatmap(cam, *item.mask, item.thresholds);
      if (!scores.ok()) return PostprocessError("annotation report", scores.status());
      v1::AnnotationReport* report = out.mutable_annotation();
      for (const common::ThresholdIou& t : scores->iou) {
        v1::IouAtThreshold* iou = report->add_iou();
        iou->set_threshold(t.threshold);
        iou->set_iou(t.iou);
      }
      report->set_pointing_game_hit(scores->pointing_game_hit);
      report->set_energy_inside(scores->energy_inside);
      report->set_mask_area_fraction(scores->mask_area_fraction);
      report->set_shape_count(item.shape_count);
    }
    if (result.faithfulness.has_value()) {
      const engine::FaithfulnessScores& f = *result.faithfulness;
      v1::Faithfulness* faithfulness = out.mutable_faithfulness();
      if (f.cam_multiply_change.has_value()) {
        faithfulness->set_cam_multiply_change(*f.cam_multiply_change);
      }
      if (f.road) {
        faithfulness->set_road_morf(f.road_morf);
        faithfulness->set_road_lerf(f.road_lerf);
        faithfulness->set_road_combined(f.road_combined);
        faithfulness->mutable_road_percentiles()->Add(f.road_percentiles.begin(),
                                                      f.road_percentiles.end());
      }
    }
    if (item.dicom_output.has_value()) {  // last: the SR reports what `out` holds
      absl::StatusOr<cv::Mat> overlay =
          common::OverlayHeatmap(item.image, cam, item.overlay_image_weight);
      if (!overlay.ok()) return PostprocessError("dicom", overlay.status());
      const absl::Status made =
          AddDicomObjects(*item.dicom_output, *overlay, spec.name, spec.version, &out);
      if (!made.ok()) return PostprocessError("dicom", made);
    }
  }

  v1::StageTimings* timings = out.mutable_timings();
  timings->set_decode_ms(ToMs(item.decode_time));
  timings->set_preprocess_ms(ToMs(item.preprocess_time));
  timings->set_queue_ms(ToMs(batch.queue_time));
  timings->set_inference_ms(ToMs(batch.run_time));
  timings->set_batch_size(batch.batch_size);
  const absl::Time end = absl::Now();
  timings->set_postprocess_ms(ToMs(end - start));
  timings->set_total_ms(ToMs(end - item.received));
  return out;
}

v1::ExplainResponse ResultResponse(const std::string& request_id,
                                   v1::ExplainResult result, const ItemLimits& limits) {
  v1::ExplainResponse response;
  response.set_request_id(request_id);
  *response.mutable_result() = std::move(result);
  const size_t bytes = response.ByteSizeLong();
  if (bytes > static_cast<size_t>(limits.max_response_bytes)) {
    return ErrorResponse(
        request_id,
        absl::ResourceExhaustedError(absl::StrCat(
            "response: ", bytes, " bytes, over the server's message limit of ",
            limits.max_response_bytes,
            " bytes; ask for fewer outputs (e.g. no overlay_png or raw heatmap for very "
            "large images) or raise --max_message_mb")));
  }
  return response;
}

v1::ExplainResponse ErrorResponse(const std::string& request_id,
                                  const absl::Status& status) {
  v1::ExplainResponse response;
  response.set_request_id(request_id);
  v1::ItemError* error = response.mutable_error();
  error->set_code(static_cast<int>(status.code()));
  error->set_message(common::ToValidUtf8(status.message(), kMaxErrorMessageBytes));
  return response;
}

}  // namespace explainer::server
