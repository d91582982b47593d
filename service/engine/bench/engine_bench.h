// The in-process baseline of `explainer bench`: the engine alone (no gRPC, no
// server pools) on the same image files and bundle, timing decode + preprocess per
// image and Engine::Run per batch for plain prediction and for a CAM method.
#ifndef EXPLAINER_SERVICE_ENGINE_BENCH_ENGINE_BENCH_H_
#define EXPLAINER_SERVICE_ENGINE_BENCH_ENGINE_BENCH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace explainer::engine::bench {

struct EngineBenchOptions {
  std::string model_path;
  std::string input_dir;  // images, read once (sorted by name)
  std::string device = "cpu";
  int intra_op_threads = 0;  // 0: LibTorch's default (all cores)
  int batch_size = 8;
  int batches = 8;         // timed batches per mode
  int warmup_batches = 3;  // untimed, per mode (TorchScript specialises over the first runs)
  std::string method = "grad-cam";
  // Also time decode + preprocess + Run per batch on one thread (the serial cost of
  // one image end to end, without any pipelining).
  bool with_decode = true;
  // With with_decode, also time it pipelined: decode + preprocess on this many other
  // threads, ahead of the engine, as the server's worker pool does (bench.sh passes
  // the server's own split).
  int decode_threads = 1;
};

// Runs every mode and returns the report (see FormatEngineBench for its fields).
// Errors name the file (undecodable image), the method or the bundle.
absl::StatusOr<nlohmann::json> RunEngineBench(const EngineBenchOptions& options);

// Lines of "key: values" from the report, in the shape of `explainer bench`.
std::string FormatEngineBench(const nlohmann::json& report);

}  // namespace explainer::engine::bench

#endif  // EXPLAINER_SERVICE_ENGINE_BENCH_ENGINE_BENCH_H_
