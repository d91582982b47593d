// The model engine: loads a TorchScript bundle onto a device and runs batched
// prediction + Grad-CAM. The only public face of LibTorch in the tree: no torch
// type appears here (pimpl), so users of the engine compile without its headers. The
// server library knows only ModelRunner (engine_api.h) and does not link this; the
// server binary hands it LoadModel.
#ifndef EXPLAINER_SERVICE_ENGINE_ENGINE_H_
#define EXPLAINER_SERVICE_ENGINE_ENGINE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/preprocess.h"
#include "opencv2/core.hpp"
#include "service/engine/cam_method.h"
#include "service/engine/engine_api.h"
#include "service/engine/model_spec.h"

namespace explainer::engine {

class Engine : public ModelRunner {
 public:
  // Loads and validates the bundle (methods, explainer.json, head(features(x)) ==
  // forward(x) on a probe input, class count) and places it on the device.
  // InvalidArgument / NotFound / FailedPrecondition with a message that says exactly
  // what is missing or inconsistent; FailedPrecondition when CUDA is asked for but
  // absent.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const EngineOptions& options);

  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelSpec& spec() const override;
  std::string device() const override;  // canonical, e.g. "cpu" or "cuda:0"

  // The CUDA caching allocator's figures for the engine's device; nullopt on the CPU
  // and in builds without LibTorch CUDA. Thread-safe.
  std::optional<DeviceMemory> device_memory() const override;

  // Runs one batch (for the items that ask for an explanation, the pytorch-grad-cam
  // 1.5.5 class of each item's method, with its smoothing and metrics). Items may mix
  // methods and options: one features(x) pass serves the whole batch (aug_smooth items
  // add their 5 augmented copies to it), one backward through head(A) serves every
  // gradient method, ScoreCAM / AblationCAM / metrics run their extra passes per item.
  // InvalidArgument for inputs of the wrong size, target classes out of range or
  // options ValidateCamOptions refuses; Internal for a LibTorch failure. Not
  // thread-safe: one caller at a time (the server's batcher owns the engine).
  absl::StatusOr<std::vector<EngineResult>> Run(absl::Span<const EngineItem> batch) override;

  // pytorch-grad-cam's faithfulness metrics of a given heatmap (CV_32FC1 at input size,
  // in [0, 1]) of `input` for `target_class`, the scores taken from forward(x) as the
  // metrics do. Run computes the same on its own heatmaps; this scores any heatmap (and
  // lets tests check the metrics on the reference's heatmap: ROAD's thresholds, and the
  // noise it assigns pixel by pixel, move with any change of the map, 1e-6 included).
  absl::StatusOr<FaithfulnessScores> ScoreHeatmap(const common::ModelInput& input,
                                                  const cv::Mat& heatmap, int target_class,
                                                  const FaithfulnessOptions& options);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Engine::Create as a ModelLoader (engine_api.h): what the server binary loads with.
absl::StatusOr<std::unique_ptr<ModelRunner>> LoadModel(const EngineOptions& options);

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_ENGINE_H_
