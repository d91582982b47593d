// Shared helpers of the server tests: a fake engine (spec + runner), encoded test
// images and LabelMe files, and raw gRPC probes of the health and reflection services
// (their protos are not installed with Debian's gRPC, so the few bytes are written
// by hand).
#ifndef EXPLAINER_TESTS_SERVER_TEST_SUPPORT_H_
#define EXPLAINER_TESTS_SERVER_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "grpcpp/grpcpp.h"
#include "opencv2/core.hpp"
#include "service/engine/engine_api.h"
#include "service/engine/model_spec.h"

namespace explainer::server::testing {

// Normal, Benign, Malignant at 16x16 with ImageNet normalisation.
engine::ModelSpec FakeSpec();

// A deterministic stand-in for Engine::Run on FakeSpec() inputs: predicts class
// (mean of the input's first channel > 0 ? 2 : 0) with probabilities 0.1/0.2/0.7 or
// 0.7/0.2/0.1; the CAM is a left-to-right ramp x / (width - 1); explained_index is
// the target class or the prediction. InvalidArgument for an input of another size.
absl::StatusOr<std::vector<engine::EngineResult>> FakeRun(
    absl::Span<const engine::EngineItem> batch);

// PNG bytes of a width x height RGB image filled with `value` (encoded by OpenCV).
std::string PngBytes(int width, int height, int value = 128);

// LabelMe 5.x JSON with one rectangle per (label, x1, y1, x2, y2).
struct Rect {
  std::string label;
  double x1, y1, x2, y2;
};
std::string LabelMeJson(int image_width, int image_height, const std::vector<Rect>& rects,
                        const std::string& extra_shape_type = "");

// grpc.health.v1.Health/Check for `service`: the status number (1 SERVING,
// 2 NOT_SERVING), or the RPC's error.
absl::StatusOr<int> HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& service);

// Service names listed by grpc.reflection.v1alpha.ServerReflection.
absl::StatusOr<std::vector<std::string>> ReflectedServices(
    const std::shared_ptr<grpc::Channel>& channel);

// A loopback port that was free a moment ago (for tests that must know the port
// before the server has finished starting).
int PickFreePort();

}  // namespace explainer::server::testing

#endif  // EXPLAINER_TESTS_SERVER_TEST_SUPPORT_H_
