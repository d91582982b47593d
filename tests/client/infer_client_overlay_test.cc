// `explainer infer` with the client rendering the overlays (the default): it asks for
// the raw heatmap instead of the overlay PNG and writes what common::OverlayPng makes of
// the file and that heatmap; an image it cannot render keeps its prediction.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/exit_codes.h"
#include "client/infer_command.h"
#include "common/overlay.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/client/fake_explainer_service.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::FakeServer;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadAll;
using ::explainer::testing::TempDir;
using ::testing::HasSubstr;
using json = nlohmann::json;

TEST(InferClientOverlayTest, RendersTheOverlayFromTheFileAndTheRawHeatmap) {
  FakeServer server;
  TempDir dir;
  cv::Mat image(20, 10, CV_8UC3);  // the fake says every image is 10x20
  cv::RNG(3).fill(image, cv::RNG::UNIFORM, 0, 256);
  std::vector<uchar> png;
  cv::imencode(".png", image, png);
  dir.Write("in/a.png", std::string(png.begin(), png.end()));
  dir.Write("in/b.png", "not decodable here");
  InferOptions options;
  options.connection.server = server.address();
  options.connection.connect_timeout = absl::Seconds(5);
  options.input_dir = dir.Path("in");
  options.out_dir = dir.Path("out");
  options.explain.image_weight = 0.3f;
  std::FILE* out = std::fopen(dir.Path("stdout.txt").c_str(), "w");
  std::FILE* err = std::fopen(dir.Path("stderr.txt").c_str(), "w");
  const int code = RunInfer(options, out, err);
  std::fclose(out);
  std::fclose(err);
  EXPECT_EQ(code, kExitOk) << ReadAll(dir.Path("stderr.txt"));

  // What the server would have made of the fake's 3x2 heatmap (i / 5).
  cv::Mat rgb;
  cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
  const cv::Mat heatmap = (cv::Mat_<float>(2, 3) << 0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f);
  absl::StatusOr<std::string> expected = common::OverlayPng(rgb, heatmap, 0.3f, -1);
  ASSERT_THAT(expected, IsOk());
  EXPECT_EQ(ReadAll(dir.Path("out/a_overlay.png")), *expected);

  std::vector<json> lines;
  for (absl::string_view line :
       absl::StrSplit(ReadAll(dir.Path("out/results.jsonl")), '\n', absl::SkipEmpty())) {
    lines.push_back(json::parse(line));
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["outputs"]["overlay"], "a_overlay.png");
  EXPECT_TRUE(lines[0]["output_error"].is_null());
  // The prediction stays; the overlay the client could not render is an output error.
  EXPECT_TRUE(lines[1]["predicted_class"].is_string()) << lines[1];
  EXPECT_TRUE(lines[1]["error"].is_null()) << lines[1];
  EXPECT_THAT(lines[1]["output_error"].get<std::string>(),
              HasSubstr("overlay: " + dir.Path("in/b.png") + ": not a supported image"));
  EXPECT_FALSE(std::filesystem::exists(dir.Path("out/b_overlay.png")));
}

}  // namespace
}  // namespace explainer::client
