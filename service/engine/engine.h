// The model engine: loads a TorchScript bundle onto a device and runs batched
// prediction + Grad-CAM. The only public face of LibTorch in the tree: no torch
// type appears here (pimpl), so users of the engine compile without its headers.
#ifndef EXPLAINER_SERVICE_ENGINE_ENGINE_H_
#define EXPLAINER_SERVICE_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/preprocess.h"
#include "opencv2/core.hpp"
#include "service/engine/model_spec.h"

namespace explainer::engine {

struct EngineOptions {
  std::string model_path;      // TorchScript bundle (see tools/export_model.py)
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  int intra_op_threads = 0;    // LibTorch intra-op threads; 0: all hardware threads
};

// One image of a batch.
struct EngineItem {
  const common::ModelInput* input = nullptr;  // preprocessed at spec().input_size
  std::optional<int> target_class;            // unset: the predicted class
  bool explain = true;                        // false: prediction only, no CAM
};

struct EngineResult {
  std::vector<float> probabilities;  // softmax of the logits, one per class
  int predicted_index = 0;           // argmax of the logits
  int explained_index = -1;          // class the CAM explains; -1 without CAM
  cv::Mat cam;  // CV_32FC1 at input size, in [0, 1]; empty without CAM
};

class Engine {
 public:
  // Loads and validates the bundle (methods, explainer.json, head(features(x)) ==
  // forward(x) on a probe input, class count) and places it on the device.
  // InvalidArgument / NotFound / FailedPrecondition with a message that says exactly
  // what is missing or inconsistent; FailedPrecondition when CUDA is asked for but
  // absent.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const EngineOptions& options);

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelSpec& spec() const;
  std::string device() const;  // canonical, e.g. "cpu" or "cuda:0"

  // The CUDA caching allocator's figures for the engine's device (for metrics);
  // nullopt on the CPU and in builds without LibTorch CUDA. Thread-safe.
  struct DeviceMemory {
    int64_t allocated_bytes = 0;  // held by tensors
    int64_t reserved_bytes = 0;   // held by the allocator (allocated + cached)
  };
  std::optional<DeviceMemory> device_memory() const;

  // Runs one batch (pytorch-grad-cam 1.5 GradCAM semantics for the items that ask
  // for an explanation). InvalidArgument for inputs of the wrong size or target
  // classes out of range; Internal for a LibTorch failure. Not thread-safe: one
  // caller at a time (the server's batcher owns the engine).
  absl::StatusOr<std::vector<EngineResult>> Run(absl::Span<const EngineItem> batch);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_ENGINE_H_
