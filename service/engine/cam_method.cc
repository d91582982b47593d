// The CAM family's names, costs and option checks (torch-free).
#include "service/engine/cam_method.h"

#include <cmath>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace explainer::engine {
namespace {

constexpr CamMethodInfo kMethods[] = {
    {CamMethod::kGradCam, "grad-cam", "GradCAM", true, true,
     "1 forward + 1 backward through head(A)"},
    {CamMethod::kHiResCam, "hires-cam", "HiResCAM", true, true,
     "1 forward + 1 backward through head(A)"},
    {CamMethod::kGradCamPlusPlus, "grad-cam++", "GradCAMPlusPlus", true, true,
     "1 forward + 1 backward through head(A)"},
    {CamMethod::kXGradCam, "xgrad-cam", "XGradCAM", true, true,
     "1 forward + 1 backward through head(A)"},
    {CamMethod::kLayerCam, "layer-cam", "LayerCAM", true, true,
     "1 forward + 1 backward through head(A)"},
    {CamMethod::kEigenCam, "eigen-cam", "EigenCAM", false, false,
     "1 forward + 1 SVD of the activations"},
    {CamMethod::kEigenGradCam, "eigen-grad-cam", "EigenGradCAM", true, false,
     "1 forward + 1 backward through head(A) + 1 SVD"},
    {CamMethod::kGradCamElementWise, "grad-cam-elementwise", "GradCAMElementWise", true, true,
     "1 forward + 1 backward through head(A)"},
    {CamMethod::kScoreCam, "score-cam", "ScoreCAM", false, true,
     "1 + K full forwards (K masked inputs, score_cam_batch_size per pass)"},
    {CamMethod::kAblationCam, "ablation-cam", "AblationCAM", false, true,
     "1 forward + K head(A) passes (ablation_cam_batch_size per pass)"},
};

}  // namespace

absl::Span<const CamMethodInfo> AllCamMethods() { return kMethods; }

const CamMethodInfo& InfoOf(CamMethod method) {
  for (const CamMethodInfo& info : kMethods) {
    if (info.method == method) return info;
  }
  return kMethods[0];  // unreachable for a valid enum value
}

std::optional<CamMethod> CamMethodFromName(absl::string_view name) {
  for (const CamMethodInfo& info : kMethods) {
    if (name == info.name) return info.method;
  }
  return std::nullopt;
}

std::string CamMethodNames() {
  return absl::StrJoin(kMethods, ", ", [](std::string* out, const CamMethodInfo& info) {
    out->append(info.name);
  });
}

absl::Status ValidateCamOptions(const CamOptions& cam, const FaithfulnessOptions& faithfulness,
                                const ModelSpec& spec) {
  const CamMethodInfo& info = InfoOf(cam.method);
  if (cam.eigen_smooth && !info.eigen_smooth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "eigen_smooth does not apply to ", info.name, ": pytorch-grad-cam's ", info.reference,
        " ignores it (its map is already the first principal component); leave it unset"));
  }
  if (cam.score_cam_batch_size < 1 || cam.score_cam_batch_size > kMaxCamBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("score_cam_batch_size must be in 1..", kMaxCamBatchSize, ", got ",
                     cam.score_cam_batch_size, " (method ", info.name, ")"));
  }
  if (cam.ablation_cam_batch_size < 1 || cam.ablation_cam_batch_size > kMaxCamBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("ablation_cam_batch_size must be in 1..", kMaxCamBatchSize, ", got ",
                     cam.ablation_cam_batch_size, " (method ", info.name, ")"));
  }
  const bool projects = cam.eigen_smooth || cam.method == CamMethod::kEigenCam ||
                        cam.method == CamMethod::kEigenGradCam;
  const int positions = spec.feature_size.width * spec.feature_size.height;
  if (projects && !spec.feature_size.empty() && positions < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        info.name, cam.eigen_smooth ? " with eigen_smooth" : "", " is not supported by model '",
        spec.name, "': its features(x) map is ", spec.feature_size.height, "x",
        spec.feature_size.width,
        ", and a principal component over fewer than 2 positions is constant"));
  }
  for (float p : faithfulness.road_percentiles) {
    if (!(p > 0.0f && p < 100.0f)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "road_percentiles: each must be in (0, 100), got ", p, " (method ", info.name, ")"));
    }
  }
  if (!faithfulness.road_percentiles.empty() && !faithfulness.road) {
    return absl::InvalidArgumentError(
        "road_percentiles given but ROAD was not asked for (set road)");
  }
  return absl::OkStatus();
}

}  // namespace explainer::engine
