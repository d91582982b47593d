// ScaleCam / FinishCam against hand-computed pytorch-grad-cam scale_cam_image results.
#include "service/engine/cam_scale.h"

#include "gtest/gtest.h"
#include "opencv2/core.hpp"

namespace explainer::engine {
namespace {

TEST(CamScaleTest, ScalesToZeroOneWithTheEpsilon) {
  const cv::Mat cam = (cv::Mat_<float>(2, 2) << 1.0f, 2.0f, 3.0f, 5.0f);
  const cv::Mat scaled = ScaleCam(cam, cv::Size());
  ASSERT_EQ(scaled.size(), cv::Size(2, 2));
  // (x - 1) / (1e-7 + 4), in float32 as numpy does it.
  const float denominator = static_cast<float>(1e-7 + 4.0);
  EXPECT_EQ(scaled.at<float>(0, 0), 0.0f);
  EXPECT_EQ(scaled.at<float>(0, 1), 1.0f / denominator);
  EXPECT_EQ(scaled.at<float>(1, 0), 2.0f / denominator);
  EXPECT_EQ(scaled.at<float>(1, 1), 4.0f / denominator);
}

TEST(CamScaleTest, TheEpsilonShowsOnATinyRange) {
  // numpy: np.float32([0, 1e-6]) / (1e-7 + 1e-6) = [0, 0.90909...], not [0, 1].
  const cv::Mat cam = (cv::Mat_<float>(1, 2) << 0.0f, 1e-6f);
  const cv::Mat scaled = ScaleCam(cam, cv::Size());
  EXPECT_NEAR(scaled.at<float>(0, 1), 1.0 / 1.1, 1e-6);
}

TEST(CamScaleTest, AFlatMapBecomesZeros) {
  const cv::Mat flat(3, 4, CV_32FC1, cv::Scalar(7.0f));
  const cv::Mat scaled = FinishCam(flat, cv::Size(8, 6));
  ASSERT_EQ(scaled.size(), cv::Size(8, 6));
  EXPECT_EQ(cv::countNonZero(scaled), 0);
}

TEST(CamScaleTest, FinishResizesToWidthByHeightAndRescales) {
  const cv::Mat cam = (cv::Mat_<float>(2, 3) << 0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 6.0f);
  const cv::Mat finished = FinishCam(cam, cv::Size(12, 8));  // width 12, height 8
  ASSERT_EQ(finished.rows, 8);
  ASSERT_EQ(finished.cols, 12);
  ASSERT_EQ(finished.type(), CV_32FC1);
  double lo = 0.0, hi = 0.0;
  cv::minMaxLoc(finished, &lo, &hi);
  EXPECT_EQ(lo, 0.0);
  EXPECT_NEAR(hi, 1.0, 1e-6);
  // Values from pytorch-grad-cam 1.5's scale_cam_image + aggregate in numpy/cv2:
  //   a = scale_cam_image(cam[None], (12, 8)); a = scale_cam_image(np.maximum(a, 0))[0]
  struct Pixel {
    int y, x;
    float value;
  };
  for (const Pixel& p :
       {Pixel{0, 0, 0.0f}, Pixel{0, 11, 0.3333333134651184f}, Pixel{7, 0, 0.4999999403953552f},
        Pixel{7, 11, 0.9999998807907104f}, Pixel{3, 5, 0.3333333432674408f},
        Pixel{4, 6, 0.5130208134651184f}, Pixel{2, 9, 0.3932291269302368f}}) {
    EXPECT_NEAR(finished.at<float>(p.y, p.x), p.value, 1e-7) << p.y << "," << p.x;
  }
}

}  // namespace
}  // namespace explainer::engine
