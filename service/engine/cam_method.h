// The CAM family the engine serves (pytorch-grad-cam 1.5.5 classes of the same names),
// its per-item options and the faithfulness metrics, torch-free so that the server can
// name and check them without LibTorch.
#ifndef EXPLAINER_SERVICE_ENGINE_CAM_METHOD_H_
#define EXPLAINER_SERVICE_ENGINE_CAM_METHOD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "service/engine/model_spec.h"

namespace explainer::engine {

enum class CamMethod {
  kGradCam,             // GradCAM
  kHiResCam,            // HiResCAM
  kGradCamPlusPlus,     // GradCAMPlusPlus
  kXGradCam,            // XGradCAM
  kLayerCam,            // LayerCAM
  kEigenCam,            // EigenCAM (forward only)
  kEigenGradCam,        // EigenGradCAM
  kGradCamElementWise,  // GradCAMElementWise
  kScoreCam,            // ScoreCAM (forward only: one full forward per channel)
  kAblationCam,         // AblationCAM (forward only: one head(A) per channel)
};

struct CamMethodInfo {
  CamMethod method;
  const char* name;       // wire / CLI name, e.g. "grad-cam++"
  const char* reference;  // pytorch-grad-cam class
  bool uses_gradients;    // one backward through head(A)
  bool eigen_smooth;      // honours eigen_smooth (EigenCAM / EigenGradCAM always project)
  // Passes per image, without smoothing (aug_smooth multiplies all by 6): K is the
  // number of channels of features(x).
  const char* cost;
};

// Every method, in enum order.
absl::Span<const CamMethodInfo> AllCamMethods();
const CamMethodInfo& InfoOf(CamMethod method);
// "grad-cam", "hires-cam", ...; nullopt for an unknown name.
std::optional<CamMethod> CamMethodFromName(absl::string_view name);
// The names, comma-separated, for error messages.
std::string CamMethodNames();

// pytorch-grad-cam's defaults.
constexpr int kDefaultScoreCamBatchSize = 16;     // ScoreCAM without a batch_size attribute
constexpr int kDefaultAblationCamBatchSize = 32;  // AblationCAM(batch_size=32)
constexpr int kMaxCamBatchSize = 1024;

struct CamOptions {
  CamMethod method = CamMethod::kGradCam;
  // Test-time augmentation: horizontal flip x multiply by 0.9 / 1 / 1.1 (6 passes), the
  // heatmaps flipped back and averaged (pytorch-grad-cam aug_smooth with ttach). Every
  // pass explains the same class (the requested or the predicted one).
  bool aug_smooth = false;
  // First principal component of the weighted activations instead of their sum.
  bool eigen_smooth = false;
  int score_cam_batch_size = kDefaultScoreCamBatchSize;  // masked inputs per forward
  // Ablated copies per head(A). pytorch-grad-cam ablates with (min - 1e7 per earlier row
  // of the batch) when activations go below 0, so the map depends on it.
  int ablation_cam_batch_size = kDefaultAblationCamBatchSize;
};

// pytorch-grad-cam's metrics on the served heatmap, the target being the explained
// class's logit (ClassifierOutputTarget).
struct FaithfulnessOptions {
  bool cam_multiply = false;  // CamMultImageConfidenceChange: score(x * cam) - score(x)
  bool road = false;          // ROADMostRelevantFirstAverage, ...LeastRelevant..., ROADCombined
  std::vector<float> road_percentiles;  // empty: 10, 20, ..., 90 (ROADCombined's default)
  uint64_t road_seed = 0;  // the imputer's noise: torch.manual_seed(road_seed) per image
};

struct FaithfulnessScores {
  std::optional<float> cam_multiply_change;
  bool road = false;
  std::vector<float> road_percentiles;  // as used
  // Mean score change over the percentiles (target logit after imputation - before).
  float road_morf = 0.0f;      // most relevant first removed
  float road_lerf = 0.0f;      // least relevant first removed
  float road_combined = 0.0f;  // (lerf - morf) / 2
};

// Checks one item's options against the model: InvalidArgument naming the method and
// the option (batch sizes in 1..kMaxCamBatchSize, eigen_smooth on a method that ignores
// it, a feature map too small for a principal component, ROAD percentiles in (0, 100)).
absl::Status ValidateCamOptions(const CamOptions& cam, const FaithfulnessOptions& faithfulness,
                                const ModelSpec& spec);

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_CAM_METHOD_H_
