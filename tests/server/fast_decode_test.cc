// --decode=fast (ItemLimits.fast_decode) against the exact path in PrepareItem: the
// server goldens' images (tests/server/data, made by make_server_goldens.py, checked
// against PyTorch in explainer_server_engine_test) prepare bit-identically, so their
// references hold in both modes; a big JPEG keeps its full size and annotation frame,
// and its model input stays close; an item that asks for the overlay decodes exactly.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "service/server/item_stages.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::LabelMeJson;
using ::explainer::testing::IsOk;

engine::ModelSpec Spec() {
  engine::ModelSpec spec = testing::FakeSpec();
  spec.input_size = cv::Size(80, 64);  // the golden bundle's input
  return spec;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

PreparedItem Prepare(const v1::ExplainRequest& request, bool fast) {
  ItemLimits limits;
  limits.fast_decode = fast;
  absl::StatusOr<PreparedItem> item = PrepareItem(request, Spec(), limits);
  EXPECT_THAT(item, IsOk());
  return item.ok() ? *std::move(item) : PreparedItem{};
}

float MaxInputDifference(const PreparedItem& a, const PreparedItem& b) {
  EXPECT_EQ(a.input.chw.size(), b.input.chw.size());
  float worst = 0;
  for (size_t i = 0; i < a.input.chw.size() && i < b.input.chw.size(); ++i) {
    worst = std::max(worst, std::abs(a.input.chw[i] - b.input.chw[i]));
  }
  return worst;
}

void ExpectSameFrame(const PreparedItem& exact, const PreparedItem& fast) {
  EXPECT_EQ(fast.original_width, exact.original_width);
  EXPECT_EQ(fast.original_height, exact.original_height);
  ASSERT_EQ(fast.mask.has_value(), exact.mask.has_value());
  if (exact.mask.has_value()) EXPECT_EQ(cv::norm(*fast.mask, *exact.mask, cv::NORM_INF), 0);
}

TEST(FastDecodeTest, ServerGoldenImagesPrepareIdentically) {
  for (const char* name : {"case_0", "case_1"}) {
    SCOPED_TRACE(name);
    const std::string data = explainer::testing::SourcePath("tests/server/data/") + name;
    v1::ExplainRequest request;
    request.set_image(ReadFile(data + ".png"));
    request.set_annotation_json(ReadFile(data + ".json"));
    const PreparedItem exact = Prepare(request, false);
    const PreparedItem fast = Prepare(request, true);
    ExpectSameFrame(exact, fast);
    EXPECT_EQ(MaxInputDifference(exact, fast), 0.0f);
  }
}

TEST(FastDecodeTest, BigJpegKeepsItsFrameAndACloseModelInput) {
  cv::Mat film(1200, 1500, CV_8UC1);
  for (int y = 0; y < film.rows; ++y) {
    for (int x = 0; x < film.cols; ++x) {
      film.at<uint8_t>(y, x) = static_cast<uint8_t>(40 + (x * 7 + y * 3) % 160);
    }
  }
  cv::GaussianBlur(film, film, cv::Size(0, 0), 6);
  std::vector<uchar> jpeg;
  cv::imencode(".jpeg", film, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95});
  v1::ExplainRequest request;
  request.set_image(std::string(jpeg.begin(), jpeg.end()));
  request.set_annotation_json(LabelMeJson(1500, 1200, {{"tumor", 300, 200, 700, 900}}));
  const PreparedItem exact = Prepare(request, false);
  const PreparedItem fast = Prepare(request, true);
  ExpectSameFrame(exact, fast);
  EXPECT_EQ(fast.original_width, 1500);
  // Normalised units (about 4.4 per 255 levels): a smooth film differs by a few levels.
  const float difference = MaxInputDifference(exact, fast);
  EXPECT_GT(difference, 0.0f);  // it did take the reduced path
  EXPECT_LT(difference, 0.25f);

  request.mutable_options()->set_return_overlay_png(true);  // needs the full image
  const PreparedItem with_overlay = Prepare(request, true);
  EXPECT_EQ(MaxInputDifference(exact, with_overlay), 0.0f);
  EXPECT_EQ(with_overlay.image.size(), cv::Size(1500, 1200));
}

}  // namespace
}  // namespace explainer::server
