// `explainer infer --dicom-out DIR`: for a DICOM input, the overlay as a Secondary
// Capture and the finding as a Comprehensive SR (common/dicom_results.h), written as
// DIR/<stem>_overlay.dcm and DIR/<stem>_sr.dcm, ready for a C-STORE to the PACS.
#ifndef EXPLAINER_CLIENT_DICOM_OUTPUT_H_
#define EXPLAINER_CLIENT_DICOM_OUTPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

struct DicomOutputRequest {
  std::string dicom_out;    // the folder
  std::string output_stem;  // as for the PNG outputs: "sub/IMG1"
  std::string source_path;  // the DICOM input
  int64_t max_source_bytes = 0;
  std::string method;    // "grad-cam"
  std::string uid_root;  // empty: DCMTK's
};

struct DicomOutputFiles {
  std::string overlay;  // relative to dicom_out
  std::string sr;
};

// Needs the result's overlay_png (the overlay is decoded from it, so the Secondary
// Capture shows exactly the PNG output). Errors say which input or output failed.
absl::StatusOr<DicomOutputFiles> WriteDicomOutputs(const explainer::v1::ExplainResult& result,
                                                   const explainer::v1::ModelInfo& model,
                                                   const DicomOutputRequest& request);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_DICOM_OUTPUT_H_
