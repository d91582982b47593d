// Engine on LibTorch: loads and validates a TorchScript bundle, then runs batches of
// prediction + Grad-CAM (features without grad, head with autograd on a detached leaf).
#include "service/engine/engine.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>
#if EXPLAINER_ENGINE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "opencv2/core.hpp"
#include "service/engine/bundle_spec.h"
#include "service/engine/cam_scale.h"
#include "service/engine/device.h"

namespace explainer::engine {
namespace {

constexpr int kProbeBatch = 2;
// head(features(x)) must match forward(x) like torch.allclose(rtol, atol).
constexpr double kProbeAtol = 1e-4;
constexpr double kProbeRtol = 1e-3;

std::string TorchMessage(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  // LibTorch appends source context and backtraces after the first line.
  return text.substr(0, text.find('\n'));
}

std::string ShapeOf(const torch::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

std::string SizeText(cv::Size size) {
  return absl::StrCat(size.height, "x", size.width, " (height x width)");
}

// Checks that CUDA is there for a cuda device; FailedPrecondition naming what was asked.
absl::Status CheckDeviceAvailable(const DeviceChoice& choice, absl::string_view asked) {
  if (!choice.cuda) return absl::OkStatus();
  if (!torch::cuda::is_available()) {
    return absl::FailedPreconditionError(
        absl::StrCat("device \"", asked,
                     "\" requested but CUDA is not available to LibTorch (no GPU or driver, or a "
                     "CPU-only LibTorch); use device \"cpu\""));
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (choice.index >= count) {
    return absl::FailedPreconditionError(absl::StrCat("device \"", asked,
                                                      "\" requested but LibTorch sees ", count,
                                                      " CUDA device(s): cuda:0..cuda:", count - 1));
  }
  return absl::OkStatus();
}

// A deterministic, non-constant probe batch at the bundle's input size.
torch::Tensor ProbeInput(cv::Size size) {
  const int64_t numel = int64_t{kProbeBatch} * 3 * size.height * size.width;
  return torch::arange(numel, torch::kFloat)
      .mul(0.618034f)
      .sin()
      .mul(1.5f)
      .reshape({kProbeBatch, 3, size.height, size.width});
}

}  // namespace

struct Engine::Impl {
  std::string path;
  ModelSpec spec;
  DeviceChoice device_choice;
  torch::Device device{torch::kCPU};
  torch::jit::Module module;

  // What one batch gives before the image-space CAM steps, on the CPU.
  struct Raw {
    torch::Tensor logits;        // [N, C] float32
    torch::Tensor cam;           // [N, h, w] float32 ReLU(sum_k w_k A_k); undefined w/o CAM
    std::vector<int> explained;  // class each CAM explains; -1 where none was asked
  };

  absl::Status Load();
  absl::Status CheckContract();
  // `targets[i]`: -2 no CAM, -1 CAM of the predicted class, >= 0 that class.
  Raw Compute(const torch::Tensor& input, const std::vector<int>& targets);
  absl::Status ValidateBatch(absl::Span<const EngineItem> batch) const;
  std::vector<EngineResult> RunValidated(absl::Span<const EngineItem> batch);

  absl::Status BadBundle(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("bundle ", path, ": ", what));
  }
};

absl::Status Engine::Impl::Load() {
  if (path.empty()) return absl::InvalidArgumentError("no model bundle path given");
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat("bundle ", path, ": no such file"));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return BadBundle("not a regular file");
  }
  torch::jit::ExtraFilesMap extra{{kBundleSpecFile, ""}};
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const std::exception& e) {
    return BadBundle(
        absl::StrCat("not a TorchScript archive this LibTorch can load (torch.jit.save from the "
                     "same or an older PyTorch; training checkpoints go through "
                     "tools/export_model.py first): ",
                     TorchMessage(e)));
  }
  module.eval();  // a bundle saved in training mode would apply dropout
  std::vector<std::string> missing;
  for (const char* method : {"forward", "features", "head"}) {
    if (!module.find_method(method).has_value()) missing.push_back(absl::StrCat("'", method, "'"));
  }
  if (!missing.empty()) {
    return BadBundle(absl::StrCat("missing method ", absl::StrJoin(missing, ", "),
                                  " (a bundle needs forward(x), features(x) and head(A); "
                                  "tools/export_model.py makes one)"));
  }
  if (extra[kBundleSpecFile].empty()) {
    return BadBundle(absl::StrCat("has no extra file '", kBundleSpecFile,
                                  "' (class names, input size, mean/std); re-export it with "
                                  "tools/export_model.py"));
  }
  ASSIGN_OR_RETURN(spec, ParseBundleSpec(extra[kBundleSpecFile], path));
  return CheckContract();
}

absl::Status Engine::Impl::CheckContract() {
  const torch::Tensor probe = ProbeInput(spec.input_size).to(device);
  const std::string probe_text =
      absl::StrCat("a probe input ", ShapeOf(probe), " (explainer.json input_size)");
  torch::Tensor logits, activations, via_head;
  {
    c10::InferenceMode inference;
    const char* step = "forward(x)";
    try {
      torch::jit::IValue out = module.forward({probe});
      if (!out.isTensor())
        return BadBundle(
            absl::StrCat("forward(x) returned a ", out.tagKind(), ", not a logits tensor"));
      logits = out.toTensor();
      step = "features(x)";
      out = module.get_method("features")({probe});
      if (!out.isTensor())
        return BadBundle(absl::StrCat("features(x) returned a ", out.tagKind(), ", not a tensor"));
      activations = out.toTensor();
      if (activations.dim() != 4 || activations.size(0) != kProbeBatch) {
        return BadBundle(absl::StrCat("features(x) must give [N, K, h, w] activations, got ",
                                      ShapeOf(activations), " for ", probe_text));
      }
      step = "head(features(x))";
      out = module.get_method("head")({activations});
      if (!out.isTensor())
        return BadBundle(
            absl::StrCat("head(A) returned a ", out.tagKind(), ", not a logits tensor"));
      via_head = out.toTensor();
    } catch (const std::exception& e) {
      return BadBundle(absl::StrCat(step, " failed on ", probe_text, ": ", TorchMessage(e)));
    }
  }
  if (logits.dim() != 2 || logits.size(0) != kProbeBatch) {
    return BadBundle(absl::StrCat("forward(x) must give [N, C] logits, got ", ShapeOf(logits),
                                  " for ", probe_text));
  }
  const int64_t classes = static_cast<int64_t>(spec.class_names.size());
  if (logits.size(1) != classes) {
    return BadBundle(absl::StrCat("forward(x) gives ", logits.size(1), " class scores but ",
                                  kBundleSpecFile, " class_names lists ", classes, " (",
                                  absl::StrJoin(spec.class_names, ", "), ")"));
  }
  if (!via_head.sizes().equals(logits.sizes())) {
    return BadBundle(absl::StrCat("head(features(x)) gives ", ShapeOf(via_head),
                                  " but forward(x) gives ", ShapeOf(logits)));
  }
  const torch::Tensor a = via_head.to(torch::kCPU, torch::kDouble);
  const torch::Tensor b = logits.to(torch::kCPU, torch::kDouble);
  if (!torch::allclose(a, b, kProbeRtol, kProbeAtol)) {
    return BadBundle(absl::StrCat("head(features(x)) differs from forward(x) by ",
                                  (a - b).abs().max().item<double>(), " (max abs) on ", probe_text,
                                  "; features() must end where head() begins"));
  }
  // The Grad-CAM path once: head must be differentiable; this also warms up the JIT.
  try {
    Compute(probe, std::vector<int>(kProbeBatch, -1));
  } catch (const std::exception& e) {
    return BadBundle(absl::StrCat("Grad-CAM through head(A) failed (is head differentiable?): ",
                                  TorchMessage(e)));
  }
  return absl::OkStatus();
}

Engine::Impl::Raw Engine::Impl::Compute(const torch::Tensor& input,
                                        const std::vector<int>& targets) {
  Raw raw;
  raw.explained.assign(targets.size(), -1);
  const bool any_cam = std::any_of(targets.begin(), targets.end(), [](int t) { return t != -2; });
  if (!any_cam) {
    // Prediction only: no autograd bookkeeping at all.
    c10::InferenceMode inference;
    raw.logits = module.forward({input}).toTensor().to(torch::kCPU, torch::kFloat).contiguous();
    return raw;
  }
  torch::Tensor activations;
  {
    // Never backpropagate through the backbone: its graph is not even recorded.
    torch::NoGradGuard no_grad;
    activations = module.get_method("features")({input}).toTensor();
  }
  activations = activations.detach().requires_grad_(true);
  torch::Tensor logits;
  {
    torch::AutoGradMode grad_on(true);
    logits = module.get_method("head")({activations}).toTensor();
  }
  raw.logits = logits.detach().to(torch::kCPU, torch::kFloat).contiguous();

  // ClassifierOutputTarget for each explained item: d(sum of selected scores)/dA.
  const int64_t n = raw.logits.size(0);
  const int64_t classes = raw.logits.size(1);
  torch::Tensor selection = torch::zeros({n, classes}, torch::kFloat);
  auto logit = raw.logits.accessor<float, 2>();
  auto select = selection.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] == -2) continue;
    int target = targets[i];
    if (target < 0) {
      target = 0;  // argmax, first maximum as numpy's
      for (int64_t c = 1; c < classes; ++c) {
        if (logit[i][c] > logit[i][target]) target = static_cast<int>(c);
      }
    }
    raw.explained[i] = target;
    select[i][target] = 1.0f;
  }
  torch::Tensor score = (logits * selection.to(logits.device(), logits.scalar_type())).sum();
  torch::Tensor grads = torch::autograd::grad({score}, {activations})[0];
  torch::Tensor weights = grads.mean({2, 3}, /*keepdim=*/true);
  raw.cam = (weights * activations.detach())
                .sum(1)
                .clamp_min(0)
                .to(torch::kCPU, torch::kFloat)
                .contiguous();
  return raw;
}

absl::Status Engine::Impl::ValidateBatch(absl::Span<const EngineItem> batch) const {
  const int classes = static_cast<int>(spec.class_names.size());
  const size_t values = size_t{3} * spec.input_size.height * spec.input_size.width;
  for (size_t i = 0; i < batch.size(); ++i) {
    const EngineItem& item = batch[i];
    if (item.input == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("batch item ", i, ": no input"));
    }
    const cv::Size size(item.input->width, item.input->height);
    if (size != spec.input_size) {
      return absl::InvalidArgumentError(absl::StrCat("batch item ", i, ": input is ",
                                                     SizeText(size), " but model '", spec.name,
                                                     "' takes ", SizeText(spec.input_size)));
    }
    if (item.input->chw.size() != values) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch item ", i, ": input has ", item.input->chw.size(),
                       " values, expected 3 x ", size.height, " x ", size.width, " = ", values));
    }
    if (item.target_class.has_value() &&
        (*item.target_class < 0 || *item.target_class >= classes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch item ", i, ": target class ", *item.target_class, " is out of range: model '",
          spec.name, "' has ", classes, " classes (0..", classes - 1, ")"));
    }
  }
  return absl::OkStatus();
}

std::vector<EngineResult> Engine::Impl::RunValidated(absl::Span<const EngineItem> batch) {
  const int64_t n = static_cast<int64_t>(batch.size());
  const cv::Size size = spec.input_size;
  const size_t values = size_t{3} * size.height * size.width;
  torch::Tensor input = torch::empty({n, 3, size.height, size.width}, torch::kFloat);
  float* data = input.data_ptr<float>();
  std::vector<int> targets(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    std::memcpy(data + i * values, batch[i].input->chw.data(), values * sizeof(float));
    targets[i] = !batch[i].explain ? -2 : batch[i].target_class.value_or(-1);
  }
  const Raw raw = Compute(input.to(device), targets);
  // Softmax once, on the CPU copy of the logits.
  const torch::Tensor probabilities = torch::softmax(raw.logits, 1).contiguous();
  const int64_t classes = probabilities.size(1);
  const float* probs = probabilities.data_ptr<float>();
  const float* logits = raw.logits.data_ptr<float>();

  std::vector<EngineResult> results(batch.size());
  for (int64_t i = 0; i < n; ++i) {
    EngineResult& result = results[i];
    result.probabilities.assign(probs + i * classes, probs + (i + 1) * classes);
    const float* row = logits + i * classes;
    result.predicted_index = static_cast<int>(std::max_element(row, row + classes) - row);
    if (raw.explained[i] < 0) continue;
    result.explained_index = raw.explained[i];
    const int h = static_cast<int>(raw.cam.size(1));
    const int w = static_cast<int>(raw.cam.size(2));
    const cv::Mat cam(h, w, CV_32FC1, raw.cam.data_ptr<float>() + i * h * w);
    result.cam = FinishCam(cam, size);
  }
  return results;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = options.model_path;
  ASSIGN_OR_RETURN(impl->device_choice, ParseDevice(options.device));
  RETURN_IF_ERROR(CheckDeviceAvailable(impl->device_choice, options.device));
  if (options.intra_op_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "intra_op_threads must be >= 0 (0: all hardware threads), got ", options.intra_op_threads));
  }
  // LibTorch's default here is 1 thread; the engine owns its device, so it says how many.
  const int threads = options.intra_op_threads > 0
                          ? options.intra_op_threads
                          : std::max(1u, std::thread::hardware_concurrency());
  at::set_num_threads(threads);
  if (impl->device_choice.cuda) {
    impl->device =
        torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(impl->device_choice.index));
    // Plain fp32, no TF32: heatmaps then match the CPU and the PyTorch reference to ~1e-6
    // (measured on an H200: 2e-3 with cuDNN's default TF32 convolutions, 3e-6 without).
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const ModelSpec& Engine::spec() const { return impl_->spec; }

std::string Engine::device() const { return impl_->device_choice.canonical; }

std::optional<Engine::DeviceMemory> Engine::device_memory() const {
#if EXPLAINER_ENGINE_CUDA
  if (!impl_->device_choice.cuda) return std::nullopt;
  try {
    const auto stats =
        c10::cuda::CUDACachingAllocator::getDeviceStats(impl_->device_choice.index);
    // Index 0 is StatType::AGGREGATE in every LibTorch version (its namespace moved).
    DeviceMemory memory;
    memory.allocated_bytes = stats.allocated_bytes[0].current;
    memory.reserved_bytes = stats.reserved_bytes[0].current;
    return memory;
  } catch (const c10::Error&) {
    return std::nullopt;
  }
#else
  return std::nullopt;
#endif
}

absl::StatusOr<std::vector<EngineResult>> Engine::Run(absl::Span<const EngineItem> batch) {
  if (batch.empty()) return std::vector<EngineResult>();
  RETURN_IF_ERROR(impl_->ValidateBatch(batch));
  try {
    return impl_->RunValidated(batch);
  } catch (const std::exception& e) {  // c10::Error, cv::Exception, JIT exceptions
    return absl::InternalError(absl::StrCat("engine: a batch of ", batch.size(), " on ",
                                            impl_->device_choice.canonical,
                                            " failed: ", TorchMessage(e)));
  }
}

}  // namespace explainer::engine
