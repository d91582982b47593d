// Tests of client/gallery/gallery_options.h: every bad flag value is named.
#include "client/gallery/gallery_options.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client::gallery {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

GalleryFlagValues Good() {
  GalleryFlagValues v;
  v.connection.server = "127.0.0.1:50051";
  v.connection.connect_timeout = absl::Seconds(5);
  v.connection.deadline = absl::Seconds(30);
  v.input_dir = "in";
  v.labels = "in/dataset.csv";
  v.out = "out";
  return v;
}

std::string Error(const GalleryFlagValues& v) {
  absl::StatusOr<GalleryOptions> options = ParseGalleryOptions(v);
  return options.ok() ? "OK" : std::string(options.status().message());
}

TEST(GalleryOptionsTest, Defaults) {
  absl::StatusOr<GalleryOptions> options = ParseGalleryOptions(Good());
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->k, 3);
  EXPECT_THAT(options->explain.thresholds, ElementsAre(0.3f, 0.5f, 0.7f));
  EXPECT_EQ(options->explain.method, explainer::v1::CAM_METHOD_GRAD_CAM);
  EXPECT_EQ(options->annotations_dir, "");
  EXPECT_EQ(options->window, 16);
}

TEST(GalleryOptionsTest, MethodsPutTheRunsMethodFirst) {
  GalleryFlagValues v = Good();
  v.annotations_dir = "ann";
  v.explain.method = "hires-cam";
  v.methods = "grad-cam++, hires-cam,grad-cam";
  absl::StatusOr<GalleryOptions> options = ParseGalleryOptions(v);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(options->compared_methods,
              ElementsAre(explainer::v1::CAM_METHOD_HIRES_CAM,
                          explainer::v1::CAM_METHOD_GRAD_CAM_PLUS_PLUS,
                          explainer::v1::CAM_METHOD_GRAD_CAM));
  EXPECT_TRUE(ParseGalleryOptions(Good())->compared_methods.empty());
  v.methods = "grad-cam,lime";
  EXPECT_THAT(Error(v), HasSubstr("--methods: unknown CAM method 'lime'"));
  v = Good();
  v.methods = "grad-cam++";
  EXPECT_EQ(Error(v),
            "--methods: needs --annotations-dir (the methods are compared against the "
            "annotations)");
}

TEST(GalleryOptionsTest, BadValuesNameTheFlag) {
  GalleryFlagValues v = Good();
  v.input_dir = " ";
  EXPECT_EQ(Error(v), "--input-dir: missing; give the folder of images");
  v = Good();
  v.labels = "";
  EXPECT_THAT(Error(v), HasSubstr("--labels: missing; give BTXRD's dataset.csv"));
  v = Good();
  v.out = "";
  EXPECT_EQ(Error(v), "--out: missing; give the output folder");
  v = Good();
  v.k = 0;
  EXPECT_EQ(Error(v), "--k: must be in [1, 20], got 0");
  v.k = 21;
  EXPECT_EQ(Error(v), "--k: must be in [1, 20], got 21");
  v = Good();
  v.explain.thresholds = "0.5,1.5";
  EXPECT_EQ(Error(v), "--thresholds: 1.5 is outside [0, 1]");
  v = Good();
  v.explain.method = "lime";
  EXPECT_THAT(Error(v), HasSubstr("lime"));
  v = Good();
  v.explain.image_weight = 2;
  EXPECT_EQ(Error(v), "--image-weight: 2 is outside [0, 1]");
  v = Good();
  v.window = 0;
  EXPECT_EQ(Error(v), "--window: must be in [1, 1024], got 0");
  v = Good();
  v.connection.server = "";
  EXPECT_THAT(Error(v), HasSubstr("--server: missing"));
}

TEST(GalleryOptionsTest, UsageMentionsEveryFlagAndOutput) {
  const std::string usage = GalleryUsageText();
  for (const char* word :
       {"--input-dir", "--labels", "--annotations-dir", "--out", "--k", "--thresholds", "--method",
        "--methods", "gallery_<Class>.png", "annotation_comparison.png", "method_comparison.png",
        "metrics.json",
        "annotation_report.json", "index.html"}) {
    EXPECT_THAT(usage, HasSubstr(word));
  }
}

}  // namespace
}  // namespace explainer::client::gallery
