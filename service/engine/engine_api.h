// The engine as the server sees it: a batch's items and results, the batch-runner
// signature, and ModelRunner, the loaded model the server drives. Torch-free (Bazel
// //service/engine:engine_api, CMake explainer_engine_api), so the server library and its
// tests build and link without LibTorch; Engine (engine.h) is the LibTorch ModelRunner,
// chosen by the server binary's main.
#ifndef EXPLAINER_SERVICE_ENGINE_ENGINE_API_H_
#define EXPLAINER_SERVICE_ENGINE_ENGINE_API_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/preprocess.h"
#include "opencv2/core.hpp"
#include "service/engine/cam_method.h"
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
  CamOptions cam;                             // method and smoothing (when explain)
  FaithfulnessOptions faithfulness;           // metrics of the heatmap (when explain)
};

struct EngineResult {
  std::vector<float> probabilities;  // softmax of the logits, one per class
  int predicted_index = 0;           // argmax of the logits
  int explained_index = -1;          // class the CAM explains; -1 without CAM
  cv::Mat cam;  // CV_32FC1 at input size, in [0, 1]; empty without CAM
  std::optional<FaithfulnessScores> faithfulness;  // when asked for and the CAM ran
};

// The CUDA caching allocator's figures for a device (for metrics).
struct DeviceMemory {
  int64_t allocated_bytes = 0;  // held by tensors
  int64_t reserved_bytes = 0;   // held by the allocator (allocated + cached)
};

// Runs one batch: one result per item, in order, or the batch's error.
using BatchRunner = std::function<absl::StatusOr<std::vector<EngineResult>>(
    absl::Span<const EngineItem>)>;

// A loaded model on its device.
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual const ModelSpec& spec() const = 0;
  virtual std::string device() const = 0;  // canonical, e.g. "cpu" or "cuda:0"
  // nullopt where the device cannot report it (the CPU). Thread-safe.
  virtual std::optional<DeviceMemory> device_memory() const = 0;
  // One batch (BatchRunner's contract). Not thread-safe: one caller at a time.
  virtual absl::StatusOr<std::vector<EngineResult>> Run(absl::Span<const EngineItem> batch) = 0;
};

// Loads a model: engine::LoadModel (engine.h) in the server binary; errors name the
// bundle and what is wrong with it.
using ModelLoader =
    std::function<absl::StatusOr<std::unique_ptr<ModelRunner>>(const EngineOptions&)>;

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_ENGINE_API_H_
