// pytorch-grad-cam 1.5 scale_cam_image / aggregate_multi_layers in OpenCV.
#include "service/engine/cam_scale.h"

#include "opencv2/imgproc.hpp"

namespace explainer::engine {

cv::Mat ScaleCam(const cv::Mat& cam, cv::Size target) {
  CV_Assert(cam.type() == CV_32FC1);
  // Plain float32 loops: numpy's exact operations, no reciprocal or double detours.
  cv::Mat out = cam.clone();
  double min_value = 0.0;
  cv::minMaxLoc(out, &min_value, nullptr);
  const float min_f = static_cast<float>(min_value);
  for (int y = 0; y < out.rows; ++y) {
    float* row = out.ptr<float>(y);
    for (int x = 0; x < out.cols; ++x) row[x] = row[x] - min_f;
  }
  double max_value = 0.0;
  cv::minMaxLoc(out, nullptr, &max_value);
  // numpy evaluates `img / (1e-7 + np.max(img))` as a float32 division by the double
  // sum rounded to float32.
  const float denominator = static_cast<float>(1e-7 + max_value);
  for (int y = 0; y < out.rows; ++y) {
    float* row = out.ptr<float>(y);
    for (int x = 0; x < out.cols; ++x) row[x] = row[x] / denominator;
  }
  if (target.empty()) return out;
  cv::Mat resized;
  cv::resize(out, resized, target, 0.0, 0.0, cv::INTER_LINEAR);
  return resized;
}

cv::Mat FinishCam(const cv::Mat& relu_cam, cv::Size input_size) {
  cv::Mat per_layer = ScaleCam(relu_cam, input_size);
  // aggregate_multi_layers: ReLU, mean over the (single) layer, scale without resize.
  cv::Mat relu = cv::max(per_layer, 0.0);
  return ScaleCam(relu, cv::Size());
}

}  // namespace explainer::engine
