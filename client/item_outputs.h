// Where `infer` writes one answered image's files: the overlay, heatmap and raw
// CAM under --out, and for DICOM inputs the Secondary Capture and SR under
// --dicom-out. The one place that turns a result into files.
#ifndef EXPLAINER_CLIENT_ITEM_OUTPUTS_H_
#define EXPLAINER_CLIENT_ITEM_OUTPUTS_H_

#include "client/image_walker.h"
#include "client/item_record.h"
#include "client/options.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

// Notes a DICOM input's SOP Instance UID in the record; when the record holds a
// result, writes its files, fills record.outputs (or record.output_error: the
// result is kept either way), and then drops the result's bulky heatmap and PNG
// fields: the record keeps the numbers.
void WriteItemOutputs(const ImageItem& item, const InferOptions& options,
                      const explainer::v1::ModelInfo& model, ItemRecord& record);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_ITEM_OUTPUTS_H_
