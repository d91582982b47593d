// DICOM request options and server-made DICOM result objects (see dicom_stage.h).
#include "service/server/dicom_stage.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/dicom_decode.h"
#include "common/status_macros.h"
#include "service/engine/cam_method.h"

namespace explainer::server {

absl::StatusOr<common::DicomVoi> DicomVoiFromProto(const v1::ExplainOptions& options) {
  common::DicomVoi voi;
  const v1::DicomVoi& wire = options.dicom_voi();
  switch (wire.choice_case()) {
    case v1::DicomVoi::CHOICE_NOT_SET:
      break;
    case v1::DicomVoi::kWindowNumber:
    case v1::DicomVoi::kVoiLutNumber: {
      const bool window = wire.choice_case() == v1::DicomVoi::kWindowNumber;
      const uint32_t number = window ? wire.window_number() : wire.voi_lut_number();
      if (number < 1 || number > 65535) {
        return absl::InvalidArgumentError(
            absl::StrCat("options.dicom_voi.", window ? "window_number" : "voi_lut_number",
                         ": ", number, " is not a number from 1 (as dcmj2pnm's +Wi / +Wl)"));
      }
      voi.kind = window ? common::DicomVoi::Kind::kWindow : common::DicomVoi::Kind::kVoiLut;
      voi.number = static_cast<int>(number);
      break;
    }
    case v1::DicomVoi::kWindow:
      if (!std::isfinite(wire.window().center()) || !std::isfinite(wire.window().width()) ||
          !(wire.window().width() > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("options.dicom_voi.window: centre ", wire.window().center(), ", width ",
                         wire.window().width(), "; the width must be positive, both finite"));
      }
      voi.kind = common::DicomVoi::Kind::kExplicit;
      voi.center = wire.window().center();
      voi.width = wire.window().width();
      break;
    case v1::DicomVoi::kMinMax:
      if (wire.min_max()) voi.kind = common::DicomVoi::Kind::kMinMax;
      break;
  }
  return voi;
}

absl::StatusOr<std::optional<DicomOutputPlan>> PlanDicomOutput(const v1::ExplainRequest& request,
                                                               const std::string& bundle_sha256) {
  const v1::ExplainOptions& options = request.options();
  if (!options.dicom_output().return_objects()) return std::nullopt;
  constexpr absl::string_view kField = "options.dicom_output";
  if (!common::LooksLikeDicom(request.image())) {
    return absl::InvalidArgumentError(absl::StrCat(
        kField, ": the image is not DICOM (no DICM at byte 128); DICOM objects need a DICOM "
                "source to refer to"));
  }
  if (options.skip_explanation()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kField, ": not with skip_explanation (the Secondary Capture is the explanation)"));
  }
  const int method = static_cast<int>(options.method());
  const auto methods = engine::AllCamMethods();
  if (method < 0 || method >= static_cast<int>(methods.size())) {
    return absl::InvalidArgumentError(absl::StrCat("options.method: unknown CAM method ", method));
  }
  DicomOutputPlan plan;
  EXPLAINER_RETURN_IF_ERROR(common::CheckDicomUidRoot(options.dicom_output().uid_root()), kField,
                            ".uid_root");
  plan.uid_root = options.dicom_output().uid_root();
  absl::StatusOr<common::DicomSource> source = common::ReadDicomSource(request.image());
  if (!source.ok()) return common::Annotate(source.status(), "image");
  plan.source = *std::move(source);
  plan.method = methods[method].name;
  plan.bundle_sha256 = bundle_sha256;
  return plan;
}

absl::Status AddDicomObjects(const DicomOutputPlan& plan, const cv::Mat& overlay_rgb,
                             const std::string& model_name, const std::string& model_version,
                             v1::ExplainResult* out) {
  common::DicomResultInput input;
  input.source = plan.source;
  input.overlay_rgb = overlay_rgb;
  input.method = plan.method;
  for (const v1::ClassProbability& p : out->probabilities()) {
    input.class_names.push_back(p.name());
    input.probabilities.push_back(p.probability());
  }
  input.predicted_index = out->predicted_index();
  input.explained_index = out->explained_index();
  input.has_annotation = out->has_annotation();
  for (const v1::IouAtThreshold& t : out->annotation().iou()) {
    input.iou.emplace_back(t.threshold(), t.iou());
  }
  input.pointing_game_hit = out->annotation().pointing_game_hit();
  input.model_name = model_name;
  input.model_version = model_version;
  input.bundle_hash = plan.bundle_sha256;
  input.explainer_version = std::string(common::kExplainerVersion);
  input.uid_root = plan.uid_root;
  absl::StatusOr<common::DicomResultObjects> objects = common::MakeDicomResults(input);
  if (!objects.ok()) return objects.status();
  v1::DicomObjects* dicom = out->mutable_dicom();
  dicom->set_overlay_sc(std::move(objects->overlay_sc));
  dicom->set_sr(std::move(objects->sr));
  dicom->set_overlay_sop_instance_uid(objects->overlay_sop_instance_uid);
  dicom->set_sr_sop_instance_uid(objects->sr_sop_instance_uid);
  return absl::OkStatus();
}

}  // namespace explainer::server
