// Tests of client/options: every bad flag value is rejected with a message naming
// the flag.
#include "client/options.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

InferFlagValues GoodValues() {
  InferFlagValues values;
  values.connection = {"127.0.0.1:50051", absl::Seconds(10), absl::Seconds(60), 64};
  values.input_dir = "/data/images";
  values.out = "/tmp/out";
  values.explain.method = "grad-cam";
  values.explain.thresholds = "0.3,0.5,0.7";
  return values;
}

std::string ErrorOf(const InferFlagValues& values) {
  auto options = ParseInferOptions(values);
  EXPECT_THAT(options, StatusIs(absl::StatusCode::kInvalidArgument));
  return std::string(options.status().message());
}

TEST(ParseInferOptionsTest, AcceptsGoodValues) {
  InferFlagValues values = GoodValues();
  values.explain.target_class = "Malignant";
  values.heatmap = true;
  values.window = 4;
  values.explain.image_weight = 0.25;
  auto options = ParseInferOptions(values);
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->connection.server, "127.0.0.1:50051");
  EXPECT_EQ(options->connection.max_message_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(options->input_dir, "/data/images");
  EXPECT_EQ(options->explain.method, explainer::v1::CAM_METHOD_GRAD_CAM);
  EXPECT_EQ(options->explain.target_class, "Malignant");
  EXPECT_THAT(options->explain.thresholds, ElementsAre(FloatEq(0.3f), FloatEq(0.5f), FloatEq(0.7f)));
  EXPECT_TRUE(options->heatmap);
  EXPECT_FALSE(options->save_cam);
  EXPECT_FLOAT_EQ(options->explain.image_weight, 0.25f);
  EXPECT_EQ(options->window, 4);
}

TEST(ParseInferOptionsTest, OverlayIsTheClientsByDefault) {
  auto options = ParseInferOptions(GoodValues());
  ASSERT_THAT(options, IsOk());
  EXPECT_FALSE(options->server_overlay);
  EXPECT_EQ(options->png_compression, -1);
  InferFlagValues values = GoodValues();
  values.overlay = "server";
  values.png_compression = 9;
  options = ParseInferOptions(values);
  ASSERT_THAT(options, IsOk());
  EXPECT_TRUE(options->server_overlay);
  EXPECT_EQ(options->png_compression, 9);

  values.overlay = "laptop";
  EXPECT_EQ(ErrorOf(values), "--overlay: 'laptop' is neither client nor server");
  values.overlay = "client";
  values.png_compression = 10;
  EXPECT_EQ(ErrorOf(values), "--png-compression: 10 is not -1 (fast) or 0..9");
}

TEST(ParseInferOptionsTest, NeedsExactlyOneInput) {
  InferFlagValues none = GoodValues();
  none.input_dir = "";
  EXPECT_THAT(ErrorOf(none), HasSubstr("--image / --input-dir: give one image"));
  InferFlagValues both = GoodValues();
  both.image = "/a.png";
  EXPECT_THAT(ErrorOf(both), HasSubstr("either --image or --input-dir, not both"));
}

TEST(ParseInferOptionsTest, NamesEachBadFlag) {
  InferFlagValues v = GoodValues();
  v.out = "";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--out: missing"));

  v = GoodValues();
  v.connection.server = " ";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--server: missing"));

  v = GoodValues();
  v.explain.method = "lime";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--method: unknown CAM method 'lime' (known: grad-cam, "
                                    "hires-cam, grad-cam++, xgrad-cam, layer-cam, eigen-cam, "
                                    "eigen-grad-cam, grad-cam-elementwise, score-cam, "
                                    "ablation-cam)"));

  v = GoodValues();
  v.explain.thresholds = "0.3,abc";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--thresholds: 'abc' is not a number"));

  v = GoodValues();
  v.explain.thresholds = "0.5,1.5";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--thresholds: 1.5 is outside [0, 1]"));

  v = GoodValues();
  v.explain.thresholds = "";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--thresholds: '' is not a number"));

  v = GoodValues();
  v.explain.thresholds = "0.5,0.5";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--thresholds: 0.5 is given twice"));

  v = GoodValues();
  v.explain.image_weight = 1.5;
  EXPECT_THAT(ErrorOf(v), HasSubstr("--image-weight: 1.5 is outside [0, 1]"));

  v = GoodValues();
  v.window = 0;
  EXPECT_THAT(ErrorOf(v), HasSubstr("--window: must be in [1, 1024], got 0"));

  v = GoodValues();
  v.explain.target_class = "-1";
  EXPECT_THAT(ErrorOf(v), HasSubstr("--target-class: -1 is negative"));

  v = GoodValues();
  v.connection.deadline = absl::ZeroDuration();
  EXPECT_THAT(ErrorOf(v), HasSubstr("--deadline: must be positive"));

  v = GoodValues();
  v.connection.connect_timeout = -absl::Seconds(1);
  EXPECT_THAT(ErrorOf(v), HasSubstr("--connect-timeout: must be positive"));

  v = GoodValues();
  v.connection.max_message_mb = 0;
  EXPECT_THAT(ErrorOf(v), HasSubstr("--max-message-mb: must be in [1, 2047], got 0"));
}

TEST(ParseInferOptionsTest, RoadPercentilesAndSeed) {
  InferFlagValues values = GoodValues();
  values.explain.faithfulness = "road";
  values.explain.road_percentiles = "20, 40,60.5";
  values.explain.road_seed = 7;
  auto options = ParseInferOptions(values);
  ASSERT_THAT(options, IsOk());
  EXPECT_THAT(options->explain.road_percentiles, ElementsAre(20.0f, 40.0f, 60.5f));
  EXPECT_EQ(options->explain.road_seed, 7u);

  values.explain.road_percentiles = "20,100";
  EXPECT_THAT(ErrorOf(values), HasSubstr("--road-percentiles: 100 is outside (0, 100)"));
  values.explain.road_percentiles = "0";
  EXPECT_THAT(ErrorOf(values), HasSubstr("--road-percentiles: 0 is outside (0, 100)"));
  values.explain.road_percentiles = "20,x";
  EXPECT_THAT(ErrorOf(values), HasSubstr("--road-percentiles: 'x' is not a number"));
  values.explain.road_percentiles = "";
  values.explain.road_seed = -1;
  EXPECT_THAT(ErrorOf(values), HasSubstr("--road-seed: must be 0 or more, got -1"));
  values.explain.road_seed = 3;
  values.explain.faithfulness = "cam-multiply";
  EXPECT_THAT(ErrorOf(values), HasSubstr("--road-seed: only with --faithfulness road"));
  values.explain.road_percentiles = "50";
  EXPECT_THAT(ErrorOf(values), HasSubstr("--road-percentiles: only with --faithfulness road"));
}

TEST(ParseCamMethodTest, AcceptsSpellings) {
  for (const char* name : {"grad-cam", "Grad-CAM", "gradcam", "grad_cam"}) {
    EXPECT_TRUE(ParseCamMethod(name).ok()) << name;
  }
  EXPECT_EQ(CamMethodName(explainer::v1::CAM_METHOD_GRAD_CAM), "grad-cam");
}

TEST(ResolveTargetClassTest, ByIndexOrNameInAnyCase) {
  const std::vector<std::string> classes = {"Normal", "Benign", "Malignant"};
  EXPECT_EQ(*ResolveTargetClass("2", classes), 2);
  EXPECT_EQ(*ResolveTargetClass("benign", classes), 1);
  EXPECT_EQ(*ResolveTargetClass(" Normal ", classes), 0);
  EXPECT_THAT(ResolveTargetClass("3", classes).status().message(),
              HasSubstr("--target-class: index 3 is out of range; the model has 3 classes "
                        "(0..2: Normal, Benign, Malignant)"));
  EXPECT_THAT(ResolveTargetClass("Osteo", classes).status().message(),
              HasSubstr("--target-class: the model has no class 'Osteo' (classes: Normal, "
                        "Benign, Malignant)"));
}

}  // namespace
}  // namespace explainer::client
