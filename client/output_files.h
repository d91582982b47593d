// Writing one image's overlay, heatmap and raw CAM under --out.
#ifndef EXPLAINER_CLIENT_OUTPUT_FILES_H_
#define EXPLAINER_CLIENT_OUTPUT_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/item_record.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

struct OutputRequest {
  std::string out_dir;
  std::string output_stem;  // "sub/IMG1": files are sub/IMG1_overlay.png, ...
  bool heatmap = false;     // <stem>_heatmap.png from heatmap_png
  bool cam = false;         // <stem>_cam.npy (float32, model resolution) from heatmap
};

// Writes what the result carries; returns the paths written, relative to out_dir.
// InvalidArgument when a requested raw heatmap is malformed (values != w * h).
absl::StatusOr<OutputFiles> WriteOutputs(const explainer::v1::ExplainResult& result,
                                         const OutputRequest& request);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_OUTPUT_FILES_H_
