// Fuzz target: the server's whole per-item path on untrusted bytes, without a model.
// bytes -> v1::ExplainRequest (protobuf wire format) -> PrepareItem -> a fake engine
// result with the shapes the ModelSpec promises -> FinishItem -> ResultResponse, or
// ErrorResponse wherever a stage refuses. Checks that a request PrepareItem accepts
// never makes FinishItem fail on a well-formed engine result, and that every answer
// is one the wire can carry.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "explainer/v1/explainer.pb.h"
#include "opencv2/core.hpp"
#include "opencv2/core/utils/logger.hpp"
#include "service/engine/engine_api.h"
#include "service/engine/model_spec.h"
#include "service/server/batcher.h"
#include "service/server/item_stages.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace engine = explainer::engine;
namespace server = explainer::server;
namespace v1 = explainer::v1;

// Three classes at 16 x 12 (not square, so that width/height mix-ups show).
const engine::ModelSpec& Spec() {
  static const engine::ModelSpec* spec = [] {
    auto* s = new engine::ModelSpec;
    s->name = "fuzz";
    s->version = "1";
    s->class_names = {"Normal", "Benign", "Malignant"};
    s->input_size = cv::Size(16, 12);
    s->target_layer = "features";
    return s;
  }();
  return *spec;
}

// Small limits keep executions fast and let the fuzzer reach the limit paths.
server::ItemLimits Limits() {
  server::ItemLimits limits;
  limits.max_image_pixels = 256 * 256;
  limits.max_response_bytes = 256 * 1024;
  return limits;
}

// A deterministic stand-in for Engine::Run, shaped as the spec says: probabilities
// from the input's channel means (softmax), the CAM a clamped copy of channel 0.
engine::EngineResult FakeEngineResult(const server::PreparedItem& item,
                                      const engine::ModelSpec& spec) {
  const int width = item.input.width, height = item.input.height;
  const int plane = width * height;
  const int classes = static_cast<int>(spec.class_names.size());
  engine::EngineResult result;
  double sum = 0;
  for (int c = 0; c < classes; ++c) {
    double mean = 0;
    const int channel = c % 3;
    for (int i = 0; i < plane; ++i) mean += item.input.chw[channel * plane + i];
    result.probabilities.push_back(static_cast<float>(std::exp(mean / plane / 4)));
    sum += result.probabilities.back();
  }
  for (int c = 0; c < classes; ++c) {
    result.probabilities[c] = static_cast<float>(result.probabilities[c] / sum);
    if (result.probabilities[c] > result.probabilities[result.predicted_index]) {
      result.predicted_index = c;
    }
  }
  if (item.explain) {
    result.explained_index = item.target_class.value_or(result.predicted_index);
    result.cam.create(height, width, CV_32FC1);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const float v = item.input.chw[y * width + x] / 4.0f + 0.5f;
        result.cam.at<float>(y, x) = v < 0 ? 0 : (v > 1 ? 1 : v);
      }
    }
  }
  return result;
}

void CheckError(const v1::ExplainResponse& response) {
  EXPLAINER_FUZZ_CHECK(response.has_error(), "a refused item answers an error");
  const int code = response.error().code();
  EXPLAINER_FUZZ_CHECK(code == static_cast<int>(absl::StatusCode::kInvalidArgument) ||
                           code == static_cast<int>(absl::StatusCode::kResourceExhausted),
                       "a bad request is InvalidArgument or ResourceExhausted");
  EXPLAINER_FUZZ_CHECK(!response.error().message().empty(), "errors say what was wrong");
}

void InitOnce() {
  static const bool done = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    cv::setNumThreads(0);
    return true;
  }();
  (void)done;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  InitOnce();
  v1::ExplainRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const engine::ModelSpec& spec = Spec();
  const server::ItemLimits limits = Limits();

  absl::StatusOr<server::PreparedItem> item = server::PrepareItem(request, spec, limits);
  if (!item.ok()) {
    CheckError(server::ErrorResponse(request.request_id(), item.status()));
    return 0;
  }
  EXPLAINER_FUZZ_CHECK(item->input.width == spec.input_size.width &&
                           item->input.height == spec.input_size.height &&
                           item->input.chw.size() ==
                               static_cast<size_t>(3 * spec.input_size.area()),
                       "a prepared input has the model's size");
  EXPLAINER_FUZZ_CHECK(!item->target_class.has_value() ||
                           (*item->target_class >= 0 &&
                            *item->target_class < static_cast<int>(spec.class_names.size())),
                       "a prepared target class is one of the model's");

  const engine::EngineResult result = FakeEngineResult(*item, spec);
  server::BatchStats batch;
  batch.batch_size = 1;
  absl::StatusOr<v1::ExplainResult> finished =
      server::FinishItem(*item, result, spec, batch);
  EXPLAINER_FUZZ_CHECK(finished.ok(), "FinishItem takes every prepared item");

  const v1::ExplainResponse response =
      server::ResultResponse(item->request_id, std::move(*finished), limits);
  if (response.has_error()) {
    EXPLAINER_FUZZ_CHECK(response.error().code() ==
                             static_cast<int>(absl::StatusCode::kResourceExhausted),
                         "a result is refused only for its size");
  } else {
    EXPLAINER_FUZZ_CHECK(response.ByteSizeLong() <=
                             static_cast<size_t>(limits.max_response_bytes),
                         "a result answer is within max_response_bytes");
    EXPLAINER_FUZZ_CHECK(response.result().probabilities_size() ==
                             static_cast<int>(spec.class_names.size()),
                         "one probability per class");
  }
  std::string wire;
  EXPLAINER_FUZZ_CHECK(response.SerializeToString(&wire), "the answer serialises");
  return 0;
}
