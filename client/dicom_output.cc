// DICOM objects of one answered DICOM input; see dicom_output.h.
#include "client/dicom_output.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/file_io.h"
#include "common/dicom_results.h"
#include "common/image_decode.h"
#include "common/status_macros.h"

namespace explainer::client {

absl::StatusOr<DicomOutputFiles> WriteDicomOutputs(const explainer::v1::ExplainResult& result,
                                                   const explainer::v1::ModelInfo& model,
                                                   const DicomOutputRequest& request) {
  if (result.overlay_png().empty()) {
    return absl::InvalidArgumentError("--dicom-out: the answer has no overlay");
  }
  EXPLAINER_ASSIGN_OR_RETURN(const std::string source,
                             ReadFileBytes(request.source_path, request.max_source_bytes));
  EXPLAINER_ASSIGN_OR_RETURN(common::DicomSource dicom_source, common::ReadDicomSource(source),
                             "--dicom-out");
  absl::StatusOr<cv::Mat> overlay = common::DecodeImage(result.overlay_png());
  if (!overlay.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dicom-out: the overlay does not decode: ", overlay.status().message()));
  }
  common::DicomResultInput input;
  input.source = std::move(dicom_source);
  input.overlay_rgb = *overlay;
  input.method = request.method;
  input.class_names.assign(model.class_names().begin(), model.class_names().end());
  input.probabilities.assign(input.class_names.size(), 0.0f);
  for (const auto& p : result.probabilities()) {
    if (p.index() >= 0 && p.index() < static_cast<int>(input.probabilities.size())) {
      input.probabilities[p.index()] = p.probability();
    }
  }
  input.predicted_index = result.predicted_index();
  input.explained_index = result.explained_index();
  input.has_annotation = result.has_annotation();
  for (const auto& t : result.annotation().iou()) input.iou.emplace_back(t.threshold(), t.iou());
  input.pointing_game_hit = result.annotation().pointing_game_hit();
  input.model_name = model.name();
  input.model_version = model.version();
  input.bundle_hash = model.bundle_sha256();  // empty from an older server: "unknown"
  input.explainer_version = std::string(common::kExplainerVersion);
  input.uid_root = request.uid_root;
  EXPLAINER_ASSIGN_OR_RETURN(const common::DicomResultObjects objects,
                             common::MakeDicomResults(input), "--dicom-out");
  DicomOutputFiles files;
  files.overlay = request.output_stem + "_overlay.dcm";
  files.sr = request.output_stem + "_sr.dcm";
  const std::filesystem::path dir(request.dicom_out);
  EXPLAINER_RETURN_IF_ERROR(WriteFileBytes((dir / files.overlay).string(), objects.overlay_sc));
  EXPLAINER_RETURN_IF_ERROR(WriteFileBytes((dir / files.sr).string(), objects.sr));
  return files;
}

}  // namespace explainer::client
