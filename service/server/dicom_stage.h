// The DICOM parts of the per-item stages: a request's VOI choice for the decoder, and
// the Secondary Capture + Comprehensive SR a service-to-service caller may ask the
// server for (ExplainOptions.dicom_output), so it needs no client binary to write
// results back to its PACS. The objects themselves are common/dicom_results.h's.
#ifndef EXPLAINER_SERVICE_SERVER_DICOM_STAGE_H_
#define EXPLAINER_SERVICE_SERVER_DICOM_STAGE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dicom_results.h"
#include "common/image_decode.h"
#include "explainer/v1/explainer.pb.h"
#include "opencv2/core.hpp"

namespace explainer::server {

// What FinishItem needs to make the objects; taken from the request before its bytes
// are released.
struct DicomOutputPlan {
  common::DicomSource source;
  std::string uid_root;
  std::string method;         // client name of the CAM method: "grad-cam"
  std::string bundle_sha256;  // ModelInfo.bundle_sha256
};

// options.dicom_voi as the decoder's option. InvalidArgument naming the field for a
// number 0 (they count from 1) or a window that is not positive and finite. Other
// images ignore it, as the proto says.
absl::StatusOr<common::DicomVoi> DicomVoiFromProto(const v1::ExplainOptions& options);

// nullopt unless options.dicom_output.return_objects. InvalidArgument naming the field
// when the image is not DICOM, the explanation is skipped, the UID root is not digits
// and dots, or the source lacks a UID the objects reference.
absl::StatusOr<std::optional<DicomOutputPlan>> PlanDicomOutput(const v1::ExplainRequest& request,
                                                               const std::string& bundle_sha256);

// Makes the objects of an explained item into out->dicom: the overlay is `overlay_rgb`
// (the pixels of overlay_png), the finding is what `out` already holds (probabilities,
// explained class, annotation report), the algorithm `model_name` `model_version`.
absl::Status AddDicomObjects(const DicomOutputPlan& plan, const cv::Mat& overlay_rgb,
                             const std::string& model_name, const std::string& model_version,
                             v1::ExplainResult* out);

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_DICOM_STAGE_H_
