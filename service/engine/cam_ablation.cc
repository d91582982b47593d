// pytorch-grad-cam 1.5.5 AblationCAM.get_cam_weights for one image, with the bundle's
// split: the target layer's output is features(x), so ablating a channel costs one
// head(A), batched ablation_cam_batch_size at a time. weights = (s - s_k) / s.
//
// AblationLayer's ablated value, kept for parity: 0 when the activations' minimum is 0,
// otherwise, for row j of a batch, torch.min(output) - 1e7 evaluated after rows 0..j-1
// were ablated, i.e. min - (j + 1) * 1e7 in float32 steps. The map therefore depends on
// the batch size, as in pytorch-grad-cam.
#include <torch/torch.h>

#include "service/engine/cam_family.h"

namespace explainer::engine {

torch::Tensor AblationCamWeights(const torch::Tensor& activations, int target,
                                 float original_score, int batch_size, const BatchFn& head) {
  torch::NoGradGuard no_grad;
  const int64_t channels = activations.size(0);
  const float minimum = activations.min().item<float>();
  std::vector<torch::Tensor> scores;
  for (int64_t begin = 0; begin < channels; begin += batch_size) {
    const int64_t rows = std::min<int64_t>(batch_size, channels - begin);
    torch::Tensor ablated = activations.unsqueeze(0).repeat({rows, 1, 1, 1});
    float value = minimum;
    for (int64_t j = 0; j < rows; ++j) {
      if (minimum != 0.0f) value = value - 1e7f;  // float32, as torch.min(output) - 1e7
      ablated[j][begin + j].fill_(minimum == 0.0f ? 0.0f : value);
    }
    scores.push_back(head(ablated).select(1, target).to(torch::kCPU, torch::kFloat));
  }
  const torch::Tensor new_scores = torch::cat(scores);
  return ((original_score - new_scores) / original_score).to(activations.device());
}

}  // namespace explainer::engine
