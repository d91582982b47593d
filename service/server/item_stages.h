// The per-item work around the engine, as pure functions: validate + decode +
// preprocess + rasterise the annotation before batching (PrepareItem), and turn an
// engine result into the wire result after it (FinishItem). Streaming and unary calls
// both go through these, so they give identical results for the same request.
#ifndef EXPLAINER_SERVICE_SERVER_ITEM_STAGES_H_
#define EXPLAINER_SERVICE_SERVER_ITEM_STAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/image_encode.h"
#include "common/labelme.h"
#include "common/preprocess.h"
#include "explainer/v1/explainer.pb.h"
#include "opencv2/core.hpp"
#include "service/engine/engine_api.h"
#include "service/engine/model_spec.h"
#include "service/server/batcher.h"
#include "service/server/dicom_stage.h"

namespace explainer::server {

// Limits every item is held to.
struct ItemLimits {
  int64_t max_image_pixels = 64LL * 1024 * 1024;
  // The server's send limit: a bigger answer would fail the whole call (the stream),
  // so it becomes a per-item error instead.
  int64_t max_response_bytes = 64LL * 1024 * 1024;
  // Annotation size and rasterising cost (--max_annotation_* flags).
  common::AnnotationLimits annotation;
  // ModelInfo.bundle_sha256: the algorithm's identity in server-made DICOM SRs.
  std::string bundle_sha256;
  // --decode=fast: JPEGs decoded at a reduced scale (common::DecodeImageReduced) down
  // to the model input, unless the item asks for the full-size overlay.
  bool fast_decode = false;
  // PNG compression of heatmap_png and overlay_png (--png_compression):
  // common::kPngFast or a zlib level 0..9.
  int png_compression = common::kPngFast;
};

// Longest ItemError.message sent; longer ones are cut (at a UTF-8 boundary).
inline constexpr size_t kMaxErrorMessageBytes = 2048;

// More thresholds than anyone needs for a report; stops a request from asking for
// millions of IoU computations.
inline constexpr int kMaxIouThresholds = 64;

// A request that passed validation, ready for the engine. Holds no reference to the
// request, so the (possibly large) encoded bytes can be freed while it waits.
struct PreparedItem {
  std::string request_id;
  absl::Time received;  // when the server got the request

  // Validated options, defaults applied.
  std::optional<int> target_class;
  bool explain = true;
  engine::CamOptions cam;                    // method, smoothing, batch sizes
  engine::FaithfulnessOptions faithfulness;  // metrics asked for
  std::vector<float> thresholds;
  float overlay_image_weight = 0.5f;
  bool return_raw_heatmap = false;
  bool return_heatmap_png = false;
  bool return_overlay_png = false;
  int png_compression = common::kPngFast;  // ItemLimits.png_compression

  int original_width = 0;  // decoded, EXIF-oriented size
  int original_height = 0;
  cv::Mat image;  // RGB8 at original size; kept only when an overlay is asked for
  common::ModelInput input;

  // Present when the request had annotation_json and the explanation runs. The mask
  // is already at model resolution (nearest neighbour, as ScoreHeatmap would do it),
  // so a queued item holds a few KB instead of a full-size mask.
  std::optional<cv::Mat> mask;
  int shape_count = 0;

  // options.dicom_output: the objects FinishItem makes (the image is kept for them).
  std::optional<DicomOutputPlan> dicom_output;

  absl::Duration decode_time;
  absl::Duration preprocess_time;  // resize + normalise + annotation rasterising
};

// Checks per-item options against the model: CAM method, target class, thresholds,
// overlay weight. InvalidArgument naming the field and what was wrong.
absl::Status ValidateOptions(const v1::ExplainOptions& options,
                             const engine::ModelSpec& spec);

// Everything before the engine. InvalidArgument for bad options, an undecodable
// image or a bad annotation; ResourceExhausted for an image over the pixel limit.
// Messages start with the field at fault ("image: ", "annotation_json: ",
// "options.target_class ...").
absl::StatusOr<PreparedItem> PrepareItem(const v1::ExplainRequest& request,
                                         const engine::ModelSpec& spec,
                                         const ItemLimits& limits,
                                         absl::Time received = absl::Now());

// Everything after the engine: probabilities, heatmap outputs, annotation report,
// timings. Internal when the engine result does not fit the model (a server bug).
absl::StatusOr<v1::ExplainResult> FinishItem(const PreparedItem& item,
                                             const engine::EngineResult& result,
                                             const engine::ModelSpec& spec,
                                             const BatchStats& batch);

// The answer to a request: the result, or ResourceExhausted when its serialised size
// is over limits.max_response_bytes.
v1::ExplainResponse ResultResponse(const std::string& request_id,
                                   v1::ExplainResult result, const ItemLimits& limits);

// The per-item error answer: code is the absl (= gRPC) code number. The message is
// made valid UTF-8 (invalid bytes written as \xNN, since proto3 strings must be
// UTF-8 and clients refuse others) and cut to kMaxErrorMessageBytes.
v1::ExplainResponse ErrorResponse(const std::string& request_id,
                                  const absl::Status& status);

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_ITEM_STAGES_H_
