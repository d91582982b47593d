// The image-space half of pytorch-grad-cam 1.5 GradCAM, on the CPU with OpenCV
// (the library itself uses numpy + cv2.resize, so this reproduces it exactly).
#ifndef EXPLAINER_SERVICE_ENGINE_CAM_SCALE_H_
#define EXPLAINER_SERVICE_ENGINE_CAM_SCALE_H_

#include "opencv2/core.hpp"

namespace explainer::engine {

// pytorch-grad-cam's scale_cam_image for one map: (cam - min) / (1e-7 + max(cam - min)),
// then cv::resize INTER_LINEAR to `target` unless target is empty. cam is CV_32FC1.
cv::Mat ScaleCam(const cv::Mat& cam, cv::Size target);

// From the ReLU'd weighted activation sum at feature resolution (CV_32FC1, h x w) to
// the final heatmap at `input_size` in [0, 1]: scale + resize, ReLU, scale again
// (compute_cam_per_layer followed by aggregate_multi_layers for one target layer).
cv::Mat FinishCam(const cv::Mat& relu_cam, cv::Size input_size);

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_CAM_SCALE_H_
