// Engine-internal (LibTorch) pieces of the CAM family, one file per family:
//   cam_gradient_methods.cc  GradCAM, HiResCAM, GradCAM++, XGradCAM, LayerCAM,
//                            EigenGradCAM, GradCAMElementWise (from A and dScore/dA)
//   cam_eigen.cc             the first-principal-component projection (EigenCAM, eigen_smooth)
//   cam_score.cc             ScoreCAM weights (masked full forwards, batched)
//   cam_ablation.cc          AblationCAM weights (head(A) with a channel ablated, batched)
//   faithfulness.cc          CAM-multiply confidence change and ROAD
// Each reproduces the pytorch-grad-cam 1.5.5 class of the same name on one image.
#ifndef EXPLAINER_SERVICE_ENGINE_CAM_FAMILY_H_
#define EXPLAINER_SERVICE_ENGINE_CAM_FAMILY_H_

#include <torch/script.h>

#include <functional>

#include "opencv2/core.hpp"
#include "service/engine/cam_method.h"

namespace explainer::engine {

// Logits [B, C] of a batch of inputs [B, 3, H, W] or activations [B, K, h, w].
using BatchFn = std::function<torch::Tensor(const torch::Tensor&)>;

// numpy's float32 add.reduce over the last axis (pairwise summation, 8 accumulators)
// of x [K, n] -> [K], and np.mean (that sum / n), on the CPU. The eigen methods need
// numpy's exact bits: the sign of an SVD vector can flip on a last-bit change.
torch::Tensor NumpySum(const torch::Tensor& x);
torch::Tensor NumpyMean(const torch::Tensor& x);

// get_2d_projection: [K, h, w] -> [h, w] float32 on the CPU (numpy's SVD, LAPACK gesdd).
torch::Tensor Projection2d(const torch::Tensor& activations);

// sum_k w_k A_k, or its projection with eigen_smooth (BaseCAM.get_cam_image): w [K], A [K,h,w].
torch::Tensor WeightedCam(const torch::Tensor& weights, const torch::Tensor& activations,
                          bool eigen_smooth);

// The map before ReLU of a gradient method (or EigenCAM, which ignores `grads`) for one
// image: activations and grads [K, h, w] -> [h, w].
torch::Tensor GradientMethodCam(CamMethod method, const torch::Tensor& activations,
                                const torch::Tensor& grads, bool eigen_smooth);

// ScoreCAM channel weights [K] for one image: input [3, H, W], activations [K, h, w].
torch::Tensor ScoreCamWeights(const torch::Tensor& input, const torch::Tensor& activations,
                              int target, int batch_size, const BatchFn& forward);

// AblationCAM channel weights [K] for one image; original_score: its target logit.
torch::Tensor AblationCamWeights(const torch::Tensor& activations, int target,
                                 float original_score, int batch_size, const BatchFn& head);

// The faithfulness scores of one heatmap (CV_32FC1 at input size) of input [3, H, W].
FaithfulnessScores Faithfulness(const torch::Tensor& input, const cv::Mat& cam, int target,
                                float original_score, const FaithfulnessOptions& options,
                                const BatchFn& forward);

// ROAD's NoisyLinearImputer without its noise: `image` [3, H, W] float32 CPU, `keep`
// [H, W] (1 keep, 0 impute). Returns the imputed values [n, 3] (float64 solve cast to
// float32), n = pixels to impute, in row-major order; 0 if no pixel is kept (scipy).
torch::Tensor LinearImputation(const torch::Tensor& image, const std::vector<uint8_t>& keep,
                               int height, int width);

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_CAM_FAMILY_H_
