// The client's own overlay. By default `explainer infer` asks the server for the raw
// float32 heatmap at model resolution (a few hundred KB) instead of the overlay PNG
// at the original resolution (megabytes, and the server's costliest post-processing
// step), and renders the overlay here from the original file with the server's own
// code (common::OverlayPng), so the file is the one the server would have sent.
//
// Why float32 and not an 8-bit PNG or float16 heatmap: the overlay truncates
// 255 * heatmap after the resize to a JET index, and one index step moves a JET
// channel by about 4 levels; any rounding of the heatmap flips some indices. Measured
// (docs/BENCHMARKS.md, 1000x1200 overlay): 8-bit PNG differs by up to 3 levels on 22%
// of the pixels' channels, float16 by up to 3 on 0.7%; float32 is byte-identical.
#ifndef EXPLAINER_CLIENT_OVERLAY_RENDER_H_
#define EXPLAINER_CLIENT_OVERLAY_RENDER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/image_decode.h"
#include "common/image_encode.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

struct OverlayRenderRequest {
  std::string image_path;       // the file that was sent
  int64_t max_file_bytes = 0;   // read limit (the message limit the file was sent under)
  float image_weight = 0.5f;    // as sent in overlay_image_weight
  int png_compression = common::kPngFast;
  common::DecodeOptions decode;  // must decode the file as the server did
};

// Sets result->overlay_png from the file and result->heatmap. Needs the raw heatmap;
// the decoded image must have the size the server reported (original_width/height).
// Errors say what was wrong: "overlay: the answer has no raw heatmap", "overlay: PATH
// decodes to 640x480 here but the server saw 480x640", or the read / decode error.
absl::Status RenderOverlay(const OverlayRenderRequest& request,
                           explainer::v1::ExplainResult* result);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_OVERLAY_RENDER_H_
