// The gradient methods of pytorch-grad-cam 1.5.5 on one image, from the activations A
// of features(x) and G = d(target logit)/dA through head(A): get_cam_weights /
// get_cam_image of each class, before the ReLU and scaling that BaseCAM applies.
#include <torch/torch.h>

#include "service/engine/cam_family.h"

namespace explainer::engine {
namespace {

// np.sum / np.mean over axis (2, 3) of one image's [K, h, w], with numpy's bits.
torch::Tensor SpatialSum(const torch::Tensor& x) {
  return NumpySum(x.reshape({x.size(0), -1}));
}
torch::Tensor SpatialMean(const torch::Tensor& x) {
  return NumpyMean(x.reshape({x.size(0), -1}));
}

}  // namespace

torch::Tensor WeightedCam(const torch::Tensor& weights, const torch::Tensor& activations,
                          bool eigen_smooth) {
  torch::Tensor weighted = weights.reshape({-1, 1, 1}) * activations;
  if (eigen_smooth) return Projection2d(weighted);
  return weighted.sum(0);
}

torch::Tensor GradientMethodCam(CamMethod method, const torch::Tensor& a, const torch::Tensor& g,
                                bool eigen_smooth) {
  switch (method) {
    case CamMethod::kGradCam:
      return WeightedCam(SpatialMean(g), a, eigen_smooth);
    case CamMethod::kHiResCam: {
      torch::Tensor elementwise = g * a;
      return eigen_smooth ? Projection2d(elementwise) : elementwise.sum(0);
    }
    case CamMethod::kGradCamPlusPlus: {
      // Equation 19 of arXiv:1710.11063, as GradCAMPlusPlus.get_cam_weights.
      const torch::Tensor g2 = g * g;
      const torch::Tensor g3 = g2 * g;
      const torch::Tensor sum_a = SpatialSum(a).reshape({-1, 1, 1});
      torch::Tensor aij = g2 / (2 * g2 + sum_a * g3 + 1e-6f);
      aij = torch::where(g != 0, aij, torch::zeros_like(aij));
      return WeightedCam(SpatialSum(g.clamp_min(0) * aij), a, eigen_smooth);
    }
    case CamMethod::kXGradCam: {
      const torch::Tensor sum_a = SpatialSum(a).reshape({-1, 1, 1});
      return WeightedCam(SpatialSum(g * a / (sum_a + 1e-7f)), a, eigen_smooth);
    }
    case CamMethod::kLayerCam: {
      torch::Tensor weighted = g.clamp_min(0) * a;
      return eigen_smooth ? Projection2d(weighted) : weighted.sum(0);
    }
    case CamMethod::kEigenCam:
      return Projection2d(a);
    case CamMethod::kEigenGradCam:
      return Projection2d(g * a);
    case CamMethod::kGradCamElementWise: {
      torch::Tensor elementwise = (g * a).clamp_min(0);
      return eigen_smooth ? Projection2d(elementwise) : elementwise.sum(0);
    }
    case CamMethod::kScoreCam:
    case CamMethod::kAblationCam:
      break;
  }
  TORCH_CHECK(false, "GradientMethodCam: ", InfoOf(method).name, " is not a gradient method");
}

}  // namespace explainer::engine
