// See item_outputs.h.
#include "client/item_outputs.h"

#include <string>
#include <utility>

#include "client/dicom_files.h"
#include "client/dicom_output.h"
#include "client/output_files.h"
#include "client/overlay_render.h"

namespace explainer::client {

void WriteItemOutputs(const ImageItem& item, const InferOptions& options,
                      const explainer::v1::ModelInfo& model, ItemRecord& record) {
  const bool dicom = item.skip.ok() && IsDicomFile(item.path);
  if (dicom) {
    absl::StatusOr<std::string> uid =
        ReadSopInstanceUid(item.path, options.connection.max_message_bytes);
    if (uid.ok()) record.sop_instance_uid = *std::move(uid);
  }
  if (!record.result) return;
  explainer::v1::ExplainResult& result = *record.result;
  if (result.overlay_png().empty() && result.has_heatmap()) {  // the client's to render
    const absl::Status rendered = RenderOverlay(
        OverlayRenderRequest{item.path, options.connection.max_message_bytes,
                             options.explain.image_weight, options.png_compression},
        &result);
    if (!rendered.ok()) record.output_error = std::string(rendered.message());
  }
  absl::StatusOr<OutputFiles> files = WriteOutputs(
      result, OutputRequest{options.out_dir, item.output_stem, options.heatmap, options.save_cam});
  if (files.ok()) {
    record.outputs = *files;
  } else {
    record.output_error = std::string(files.status().message());
  }
  if (dicom && !options.dicom_out.empty()) {
    absl::StatusOr<DicomOutputFiles> dicom_files = WriteDicomOutputs(
        result, model,
        DicomOutputRequest{options.dicom_out, item.output_stem, item.path,
                           options.connection.max_message_bytes,
                           CamMethodName(options.explain.method), options.dicom_uid_root});
    if (dicom_files.ok()) {
      record.outputs.dicom_overlay = dicom_files->overlay;
      record.outputs.dicom_sr = dicom_files->sr;
    } else if (record.output_error.empty()) {
      record.output_error = std::string(dicom_files.status().message());
    }
  }
  result.clear_heatmap();
  result.clear_heatmap_png();
  result.clear_overlay_png();
}

}  // namespace explainer::client
