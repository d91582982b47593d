// pytorch-grad-cam 1.5.5 ScoreCAM.get_cam_weights for one image: each channel's
// activation map, upsampled (bilinear, align_corners) and min-max scaled, masks the
// input; the softmax over channels of the target logits of those masked inputs are the
// weights. The masked inputs are made and run score_cam_batch_size at a time, so memory
// stays at one batch (upsampling is per channel, so chunking changes no value).
#include <torch/torch.h>

#include "service/engine/cam_family.h"

namespace explainer::engine {

torch::Tensor ScoreCamWeights(const torch::Tensor& input, const torch::Tensor& activations,
                              int target, int batch_size, const BatchFn& forward) {
  torch::NoGradGuard no_grad;
  const int64_t channels = activations.size(0);
  const std::vector<int64_t> size = {input.size(1), input.size(2)};
  std::vector<torch::Tensor> scores;
  for (int64_t begin = 0; begin < channels; begin += batch_size) {
    const int64_t end = std::min(channels, begin + batch_size);
    torch::Tensor up = torch::upsample_bilinear2d(activations.slice(0, begin, end).unsqueeze(0),
                                                  size, /*align_corners=*/true)[0];
    const torch::Tensor flat = up.reshape({end - begin, -1});
    const torch::Tensor maxs = std::get<0>(flat.max(1)).reshape({-1, 1, 1});
    const torch::Tensor mins = std::get<0>(flat.min(1)).reshape({-1, 1, 1});
    up = (up - mins) / (maxs - mins + 1e-8f);
    const torch::Tensor masked = input.unsqueeze(0) * up.unsqueeze(1);  // [b, 3, H, W]
    scores.push_back(forward(masked).select(1, target).to(torch::kCPU, torch::kFloat));
  }
  return torch::softmax(torch::cat(scores), 0).to(activations.device());
}

}  // namespace explainer::engine
