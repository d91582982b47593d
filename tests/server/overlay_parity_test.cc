// The client-rendered overlay (client/overlay_render.h, from the float32 heatmap the
// server sends) against the server-rendered one (item_stages FinishItem with
// return_overlay_png) for the same file and CAM: within one colour level per channel.
// Inputs: phantom radiographs (tools/phantom, JPEG as explainer-phantom writes them,
// 600-1600 px) and the decode fixtures with EXIF orientation, 16-bit and gray PNG, WebP.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/overlay_render.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "service/server/item_stages.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"
#include "tools/phantom/phantom.h"

namespace explainer::server {
namespace {

using ::explainer::testing::IsOk;

engine::ModelSpec Spec224() {
  engine::ModelSpec spec = testing::FakeSpec();
  spec.input_size = cv::Size(224, 224);
  return spec;
}

// A Grad-CAM-like map: a 7x7 grid upsampled bilinearly to the input and min-max scaled.
cv::Mat SmoothCam(int seed) {
  cv::Mat grid(7, 7, CV_32FC1);
  cv::RNG rng(seed);
  rng.fill(grid, cv::RNG::UNIFORM, 0.0f, 1.0f);
  cv::Mat cam;
  cv::resize(grid, cam, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
  cv::normalize(cam, cam, 0.0, 1.0, cv::NORM_MINMAX);
  cv::max(cam, 0.0f, cam);  // normalize may leave -1e-9
  cv::min(cam, 1.0f, cam);
  return cam;
}

// A file under the test's temporary folder, unique to this process.
std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + "/overlay_parity_" +
                           std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

cv::Mat DecodePng(const std::string& bytes) {
  return cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_UNCHANGED);
}

// Server overlay vs client overlay of `path`; returns the largest channel difference.
int MaxOverlayDifference(const std::string& path, int seed, float weight) {
  v1::ExplainRequest request;
  request.set_request_id(path);
  request.set_image(ReadFile(path));
  request.mutable_options()->set_return_overlay_png(true);
  request.mutable_options()->set_return_raw_heatmap(true);
  request.mutable_options()->set_overlay_image_weight(weight);
  const engine::ModelSpec spec = Spec224();
  absl::StatusOr<PreparedItem> item = PrepareItem(request, spec, ItemLimits{});
  EXPECT_THAT(item, IsOk());
  if (!item.ok()) return 256;
  engine::EngineResult engine_result;
  engine_result.probabilities = {0.2f, 0.3f, 0.5f};
  engine_result.predicted_index = 2;
  engine_result.explained_index = 2;
  engine_result.cam = SmoothCam(seed);
  absl::StatusOr<v1::ExplainResult> served = FinishItem(*item, engine_result, spec, {});
  EXPECT_THAT(served, IsOk());
  if (!served.ok()) return 256;

  v1::ExplainResult client_side = *served;
  client_side.clear_overlay_png();
  const absl::Status rendered = client::RenderOverlay(
      client::OverlayRenderRequest{path, int64_t{1} << 30, weight}, &client_side);
  EXPECT_THAT(rendered, IsOk());
  if (!rendered.ok()) return 256;

  const cv::Mat server_overlay = DecodePng(served->overlay_png());
  const cv::Mat client_overlay = DecodePng(client_side.overlay_png());
  EXPECT_EQ(client_overlay.size(), server_overlay.size());
  EXPECT_EQ(client_overlay.size(), cv::Size(served->original_width(), served->original_height()));
  if (client_overlay.size() != server_overlay.size()) return 256;
  cv::Mat diff;
  cv::absdiff(client_overlay, server_overlay, diff);
  double max_diff = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &max_diff);
  return static_cast<int>(max_diff);
}

TEST(OverlayParityTest, PhantomRadiographs) {
  for (int id = 1; id <= 4; ++id) {
    const phantom::PhantomCase c =
        phantom::GenerateCase(11, id, static_cast<phantom::Diagnosis>(id % 3));
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpeg", c.image, jpeg, {cv::IMWRITE_JPEG_QUALITY, c.jpeg_quality}));
    const std::string path = WriteTemp(c.stem + ".jpeg", std::string(jpeg.begin(), jpeg.end()));
    for (const float weight : {0.5f, 0.3f}) {
      SCOPED_TRACE(absl::StrCat(c.stem, " ", c.image.cols, "x", c.image.rows, " w", weight));
      EXPECT_LE(MaxOverlayDifference(path, id, weight), 1);
    }
    std::filesystem::remove(path);
  }
}

TEST(OverlayParityTest, OrientedSixteenBitGrayAndWebpFixtures) {
  for (const char* name : {"quad_exif6.jpg", "quad_progressive.jpg", "rgb16.png", "gray.png",
                           "rgb_exif5.webp", "rgb.tif"}) {
    SCOPED_TRACE(name);
    EXPECT_LE(MaxOverlayDifference(
                  explainer::testing::SourcePath(std::string("tests/data/common/images/") + name),
                  3, 0.5f),
              1);
  }
}

TEST(OverlayParityTest, RefusesAnswersItCannotRender) {
  const std::string path = WriteTemp("a.png", testing::PngBytes(40, 30));
  v1::ExplainResult result;
  absl::Status status = client::RenderOverlay(client::OverlayRenderRequest{path, 1 << 20}, &result);
  EXPECT_EQ(status.message(), "overlay: the answer has no raw heatmap");

  result.mutable_heatmap()->set_width(4);
  result.mutable_heatmap()->set_height(4);
  result.mutable_heatmap()->mutable_values()->Resize(16, 0.5f);
  result.set_original_width(30);  // the server saw it the other way round
  result.set_original_height(40);
  status = client::RenderOverlay(client::OverlayRenderRequest{path, 1 << 20}, &result);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            absl::StrCat("overlay: ", path, " decodes to 40x30 here but the server saw 30x40"));

  status = client::RenderOverlay(client::OverlayRenderRequest{path + ".gone", 1 << 20},
                                 &result);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(status.message(), "overlay: cannot read ")) << status;
  EXPECT_TRUE(result.overlay_png().empty());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace explainer::server
