// `explainer infer --dicom-voi CHOICE`: which VOI (window) transform the server applies
// to DICOM inputs (ExplainOptions.dicom_voi); other images ignore it.
#ifndef EXPLAINER_CLIENT_DICOM_VOI_FLAG_H_
#define EXPLAINER_CLIENT_DICOM_VOI_FLAG_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

// "" or "file": the file's own (first VOI LUT, else first window, else min-max);
// "window:N" / "lut:N": the file's Nth window / VOI LUT, from 1 (dcmj2pnm's +Wi / +Wl);
// "minmax": min-max of the modality values; "CENTER,WIDTH": that window (width > 0).
// InvalidArgument naming --dicom-voi and the accepted forms.
absl::StatusOr<explainer::v1::DicomVoi> ParseDicomVoiFlag(absl::string_view text);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_DICOM_VOI_FLAG_H_
