// Engine on LibTorch: loads and validates a TorchScript bundle, then runs batches of
// prediction + CAM (features without grad, head with autograd on a detached leaf; the
// method families live in cam_*.cc, the metrics in faithfulness.cc).
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
#include "opencv2/imgproc.hpp"
#include "service/engine/bundle_spec.h"
#include "service/engine/cam_family.h"
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

  // One image of a batch as Compute sees it.
  struct Plan {
    int target = -1;  // -2 no CAM, -1 CAM of the predicted class, >= 0 that class
    CamOptions cam;
    const FaithfulnessOptions* faithfulness = nullptr;  // null: no metrics
  };

  absl::Status Load();
  absl::Status CheckContract();
  std::vector<EngineResult> Compute(const torch::Tensor& input, const std::vector<Plan>& plans);
  torch::Tensor MethodCam(const CamOptions& cam, const torch::Tensor& input,
                          const torch::Tensor& activations, const torch::Tensor& grads,
                          int target, float score);
  torch::Tensor Forward(const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    return module.forward({x}).toTensor();
  }
  torch::Tensor Head(const torch::Tensor& a) {
    torch::NoGradGuard no_grad;
    return module.get_method("head")({a}).toTensor();
  }
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
  EXPLAINER_ASSIGN_OR_RETURN(spec, ParseBundleSpec(extra[kBundleSpecFile], path));
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
  spec.feature_channels = static_cast<int>(activations.size(1));
  spec.feature_size = cv::Size(static_cast<int>(activations.size(3)),
                               static_cast<int>(activations.size(2)));
  // The Grad-CAM path once: head must be differentiable; this also warms up the JIT.
  try {
    Compute(probe, std::vector<Plan>(kProbeBatch));
  } catch (const std::exception& e) {
    return BadBundle(absl::StrCat("Grad-CAM through head(A) failed (is head differentiable?): ",
                                  TorchMessage(e)));
  }
  return absl::OkStatus();
}

namespace {

// pytorch-grad-cam's default aug_smooth transforms, in ttach's order:
// product(HorizontalFlip [False, True], Multiply [0.9, 1, 1.1]).
struct Augmentation {
  bool flip;
  float factor;
};
constexpr Augmentation kAugmentations[] = {{false, 0.9f}, {false, 1.0f}, {false, 1.1f},
                                           {true, 0.9f},  {true, 1.0f},  {true, 1.1f}};
constexpr int kIdentityAugmentation = 1;

cv::Mat ToMat(const torch::Tensor& map) {
  const torch::Tensor cpu = map.to(torch::kCPU, torch::kFloat).contiguous();
  return cv::Mat(static_cast<int>(cpu.size(0)), static_cast<int>(cpu.size(1)), CV_32FC1,
                 const_cast<float*>(cpu.data_ptr<float>()))
      .clone();
}

}  // namespace

torch::Tensor Engine::Impl::MethodCam(const CamOptions& cam, const torch::Tensor& input,
                                      const torch::Tensor& activations,
                                      const torch::Tensor& grads, int target, float score) {
  switch (cam.method) {
    case CamMethod::kScoreCam:
      return WeightedCam(
          ScoreCamWeights(input, activations, target, cam.score_cam_batch_size,
                          [this](const torch::Tensor& x) { return Forward(x); }),
          activations, cam.eigen_smooth);
    case CamMethod::kAblationCam:
      return WeightedCam(
          AblationCamWeights(activations, target, score, cam.ablation_cam_batch_size,
                             [this](const torch::Tensor& a) { return Head(a); }),
          activations, cam.eigen_smooth);
    default:
      return GradientMethodCam(cam.method, activations, grads, cam.eigen_smooth);
  }
}

std::vector<EngineResult> Engine::Impl::Compute(const torch::Tensor& input,
                                                const std::vector<Plan>& plans) {
  const int64_t n = input.size(0);
  std::vector<EngineResult> results(plans.size());
  const bool any_cam =
      std::any_of(plans.begin(), plans.end(), [](const Plan& p) { return p.target != -2; });
  torch::Tensor item_logits;  // [n, C] on the CPU
  if (!any_cam) {
    // Prediction only: no autograd bookkeeping at all.
    c10::InferenceMode inference;
    item_logits = module.forward({input}).toTensor().to(torch::kCPU, torch::kFloat).contiguous();
  } else {
    // Rows of the features pass: one per item, six per aug_smooth item.
    struct Row {
      int64_t item;
      Augmentation augmentation;
    };
    std::vector<Row> rows;
    std::vector<int64_t> identity_row(n);
    std::vector<torch::Tensor> row_inputs;
    bool any_gradient = false;
    for (int64_t i = 0; i < n; ++i) {
      const Plan& plan = plans[i];
      const bool augment = plan.target != -2 && plan.cam.aug_smooth;
      any_gradient |= plan.target != -2 && InfoOf(plan.cam.method).uses_gradients;
      if (!augment) {
        identity_row[i] = static_cast<int64_t>(rows.size());
        rows.push_back({i, {false, 1.0f}});
        row_inputs.push_back(input[i]);
        continue;
      }
      for (int a = 0; a < 6; ++a) {
        const Augmentation& aug = kAugmentations[a];
        if (a == kIdentityAugmentation) identity_row[i] = static_cast<int64_t>(rows.size());
        rows.push_back({i, aug});
        torch::Tensor x = aug.flip ? input[i].flip({2}) : input[i];
        row_inputs.push_back(aug.factor == 1.0f ? x : x * aug.factor);
      }
    }
    const torch::Tensor batch =
        rows.size() == static_cast<size_t>(n) ? input : torch::stack(row_inputs);
    torch::Tensor activations;
    {
      // Never backpropagate through the backbone: its graph is not even recorded.
      torch::NoGradGuard no_grad;
      activations = module.get_method("features")({batch}).toTensor();
    }
    activations = activations.detach().requires_grad_(any_gradient);
    torch::Tensor logits;
    {
      torch::AutoGradMode grad_on(any_gradient);
      logits = module.get_method("head")({activations}).toTensor();
    }
    const torch::Tensor row_logits = logits.detach().to(torch::kCPU, torch::kFloat).contiguous();
    item_logits = row_logits.index_select(0, torch::tensor(identity_row, torch::kLong));
    const int64_t classes = row_logits.size(1);
    auto item_logit = item_logits.accessor<float, 2>();
    std::vector<int> explained(n, -1);
    for (int64_t i = 0; i < n; ++i) {
      if (plans[i].target == -2) continue;
      int target = plans[i].target;
      if (target < 0) {
        target = 0;  // argmax, first maximum as numpy's
        for (int64_t c = 1; c < classes; ++c) {
          if (item_logit[i][c] > item_logit[i][target]) target = static_cast<int>(c);
        }
      }
      explained[i] = target;  // every augmented row explains it too
    }
    torch::Tensor grads;
    if (any_gradient) {
      // ClassifierOutputTarget per gradient row: d(sum of selected scores)/dA.
      torch::Tensor selection = torch::zeros({static_cast<int64_t>(rows.size()), classes});
      auto select = selection.accessor<float, 2>();
      for (size_t r = 0; r < rows.size(); ++r) {
        const Plan& plan = plans[rows[r].item];
        if (plan.target == -2 || !InfoOf(plan.cam.method).uses_gradients) continue;
        select[r][explained[rows[r].item]] = 1.0f;
      }
      torch::Tensor score =
          (logits * selection.to(logits.device(), logits.scalar_type())).sum();
      grads = torch::autograd::grad({score}, {activations})[0].detach();
    }
    activations = activations.detach();
    // Per row: the method's map, ReLU, scale + resize, ReLU, scale; flipped back.
    torch::NoGradGuard no_grad;
    std::vector<std::vector<cv::Mat>> maps(n);
    auto row_logit = row_logits.accessor<float, 2>();
    for (size_t r = 0; r < rows.size(); ++r) {
      const int64_t i = rows[r].item;
      if (plans[i].target == -2) continue;
      const int64_t ri = static_cast<int64_t>(r);
      torch::Tensor raw =
          MethodCam(plans[i].cam, batch[ri], activations[ri],
                    grads.defined() ? grads[ri] : torch::Tensor(), explained[i],
                    row_logit[ri][explained[i]]);
      cv::Mat map = FinishCam(ToMat(raw.clamp_min(0)), spec.input_size);
      if (rows[r].augmentation.flip) cv::flip(map, map, 1);
      maps[i].push_back(std::move(map));
    }
    for (int64_t i = 0; i < n; ++i) {
      if (plans[i].target == -2) continue;
      results[i].explained_index = explained[i];
      if (maps[i].size() == 1) {
        results[i].cam = maps[i][0];
      } else {
        // np.mean(np.float32(cams), axis=0): a float32 running sum, then / count.
        cv::Mat sum = maps[i][0].clone();
        for (size_t a = 1; a < maps[i].size(); ++a) sum += maps[i][a];
        sum /= static_cast<float>(maps[i].size());
        results[i].cam = sum;
      }
      if (plans[i].faithfulness != nullptr &&
          (plans[i].faithfulness->cam_multiply || plans[i].faithfulness->road)) {
        results[i].faithfulness =
            Faithfulness(input[i], results[i].cam, explained[i], item_logit[i][explained[i]],
                         *plans[i].faithfulness,
                         [this](const torch::Tensor& x) { return Forward(x); });
      }
    }
  }
  // Softmax once, on the CPU copy of the logits.
  const torch::Tensor probabilities = torch::softmax(item_logits, 1).contiguous();
  const int64_t classes = probabilities.size(1);
  const float* probs = probabilities.data_ptr<float>();
  const float* logit = item_logits.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    results[i].probabilities.assign(probs + i * classes, probs + (i + 1) * classes);
    const float* row = logit + i * classes;
    results[i].predicted_index = static_cast<int>(std::max_element(row, row + classes) - row);
  }
  return results;
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
    if (item.explain) {
      EXPLAINER_RETURN_IF_ERROR(ValidateCamOptions(item.cam, item.faithfulness, spec),
                                "batch item ", i);
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
  std::vector<Plan> plans(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    std::memcpy(data + i * values, batch[i].input->chw.data(), values * sizeof(float));
    plans[i].target = !batch[i].explain ? -2 : batch[i].target_class.value_or(-1);
    plans[i].cam = batch[i].cam;
    plans[i].faithfulness = &batch[i].faithfulness;
  }
  return Compute(input.to(device), plans);
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = options.model_path;
  EXPLAINER_ASSIGN_OR_RETURN(impl->device_choice, ParseDevice(options.device));
  EXPLAINER_RETURN_IF_ERROR(CheckDeviceAvailable(impl->device_choice, options.device));
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
  EXPLAINER_RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<ModelRunner>> LoadModel(const EngineOptions& options) {
  return Engine::Create(options);
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const ModelSpec& Engine::spec() const { return impl_->spec; }

std::string Engine::device() const { return impl_->device_choice.canonical; }

std::optional<DeviceMemory> Engine::device_memory() const {
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
  EXPLAINER_RETURN_IF_ERROR(impl_->ValidateBatch(batch));
  try {
    return impl_->RunValidated(batch);
  } catch (const std::exception& e) {  // c10::Error, cv::Exception, JIT exceptions
    return absl::InternalError(absl::StrCat("engine: a batch of ", batch.size(), " on ",
                                            impl_->device_choice.canonical,
                                            " failed: ", TorchMessage(e)));
  }
}

absl::StatusOr<FaithfulnessScores> Engine::ScoreHeatmap(const common::ModelInput& input,
                                                        const cv::Mat& heatmap, int target_class,
                                                        const FaithfulnessOptions& options) {
  EngineItem item;
  item.input = &input;
  item.target_class = target_class;
  item.faithfulness = options;
  EXPLAINER_RETURN_IF_ERROR(impl_->ValidateBatch({&item, 1}));
  const cv::Size size = impl_->spec.input_size;
  if (heatmap.type() != CV_32FC1 || heatmap.size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("heatmap must be float32 ", SizeText(size), ", got type ", heatmap.type(),
                     " ", SizeText(heatmap.size())));
  }
  try {
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(input.chw.data()), {1, 3, size.height, size.width},
                         torch::kFloat)
            .clone()
            .to(impl_->device);
    auto forward = [this](const torch::Tensor& t) { return impl_->Forward(t); };
    const float score = forward(x).select(1, target_class).to(torch::kCPU).item<float>();
    return Faithfulness(x[0], heatmap, target_class, score, options, forward);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("engine: scoring a heatmap on ",
                                            impl_->device_choice.canonical,
                                            " failed: ", TorchMessage(e)));
  }
}

}  // namespace explainer::engine
