// gallery --methods: method list, the comparison's passes against a scripted
// runner (what is sent, once per image and extra method), its figures and JSON,
// method_comparison.png's geometry and the page section.
#include "client/gallery/method_comparison.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/gallery/method_comparison_html.h"
#include "client/gallery/method_comparison_render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "tests/client/temp_dir.h"

namespace explainer::client::gallery {
namespace {

using explainer::v1::CamMethod;
using explainer::v1::ExplainOptions;
using explainer::v1::ExplainResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::ordered_json;

constexpr CamMethod kGradCam = explainer::v1::CAM_METHOD_GRAD_CAM;
constexpr CamMethod kHiRes = explainer::v1::CAM_METHOD_HIRES_CAM;
constexpr CamMethod kPlusPlus = explainer::v1::CAM_METHOD_GRAD_CAM_PLUS_PLUS;

TEST(MethodListTest, ParsesNamesInOrderWithoutRepeats) {
  auto methods = ParseMethodList(" grad-cam++, hires-cam ,grad-cam++,GRAD-CAM");
  ASSERT_TRUE(methods.ok()) << methods.status();
  EXPECT_THAT(*methods, ElementsAre(kPlusPlus, kHiRes, kGradCam));
  auto none = ParseMethodList("");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

TEST(MethodListTest, UnknownNameIsNamedWithTheFlag) {
  auto methods = ParseMethodList("grad-cam,gradcam-pp");
  ASSERT_FALSE(methods.ok());
  EXPECT_THAT(methods.status().message(), HasSubstr("--methods: unknown CAM method 'gradcam-pp'"));
}

TEST(MethodListTest, PrimaryComesFirstOnce) {
  EXPECT_THAT(ComparedMethods(kHiRes, {kGradCam, kHiRes, kPlusPlus}),
              ElementsAre(kHiRes, kGradCam, kPlusPlus));
  EXPECT_THAT(ComparedMethods(kGradCam, {}), ElementsAre(kGradCam));
}

TEST(MethodListTest, MethodTheServerDoesNotOfferIsNamed) {
  explainer::v1::ModelInfo info;
  EXPECT_TRUE(CheckMethodsOffered({kGradCam, kPlusPlus}, info).ok());  // lists none
  info.add_methods(kGradCam);
  info.add_methods(kHiRes);
  EXPECT_TRUE(CheckMethodsOffered({kGradCam, kHiRes}, info).ok());
  const absl::Status status = CheckMethodsOffered({kGradCam, kPlusPlus}, info);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("--methods: the server does not offer grad-cam++ (it offers grad-cam, "
                        "hires-cam)"));
}

TEST(AnnotatedImageFromResultTest, TakesIouByThresholdValue) {
  ExplainResult result;
  result.set_predicted_index(2);
  result.set_explained_index(2);
  auto* p = result.add_probabilities();
  p->set_index(2);
  p->set_probability(0.75f);
  auto* a = result.mutable_annotation();
  for (auto [t, iou] : {std::pair{0.7f, 0.1f}, std::pair{0.3f, 0.6f}}) {
    auto* at = a->add_iou();
    at->set_threshold(t);
    at->set_iou(iou);
  }
  a->set_pointing_game_hit(true);
  a->set_energy_inside(0.4f);
  auto image = AnnotatedImageFromResult(result, "x.png", "x.json", 1, {0.3f, 0.5f, 0.7f});
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->iou, ElementsAre(0.6f, 0.0f, 0.1f));
  EXPECT_EQ(image->true_class, 1);
  EXPECT_EQ(image->predicted_class, 2);
  EXPECT_FLOAT_EQ(image->confidence, 0.75f);
  EXPECT_TRUE(image->pointing_game_hit);
  result.clear_annotation();
  EXPECT_THAT(AnnotatedImageFromResult(result, "x.png", "x.json", 1, {0.5f}).status().message(),
              HasSubstr("no annotation report"));
}

std::string Png(int width, int height, const cv::Scalar& color) {
  cv::Mat image(height, width, CV_8UC3, color);
  std::vector<uchar> bytes;
  cv::imencode(".png", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

// An 8-bit heatmap PNG, a left-to-right ramp.
std::string GrayPng(int width, int height) {
  cv::Mat image(height, width, CV_8UC1);
  for (int x = 0; x < width; ++x) image.col(x).setTo(255 * x / (width - 1));
  std::vector<uchar> bytes;
  cv::imencode(".png", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

std::string LabelMe(int width, int height) {
  return absl::StrCat(
      R"({"shapes": [{"label": "tumor", "points": [[4, 4], [20, 16]], "shape_type": "rectangle"}],)",
      R"( "imageHeight": )", height, R"(, "imageWidth": )", width, "}");
}

AnnotatedImage Image(const std::string& file, int true_class, float iou) {
  AnnotatedImage image;
  image.file = file;
  image.annotation = file + ".json";
  image.true_class = true_class;
  image.predicted_class = true_class;
  image.explained_class = true_class;
  image.iou = {iou + 0.1f, iou};
  image.pointing_game_hit = iou > 0.3f;
  image.energy_inside = iou;
  return image;
}

// A primary (grad-cam) report of 5 Benign and 1 Malignant images, and a runner
// that answers method m's request for an image with IoU = primary IoU + m / 10
// (a failure for "b3" under grad-cam++).
class MethodComparisonRunTest : public ::testing::Test {
 protected:
  MethodComparisonRunTest() {
    primary_.class_names = {"Normal", "Benign", "Malignant"};
    primary_.normal_class = 0;
    primary_.thresholds = {0.3f, 0.5f};
    primary_.method = "grad-cam";
    primary_.normal_left_out = 4;
    const std::vector<std::pair<std::string, float>> benign = {
        {"b1", 0.5f}, {"b2", 0.1f}, {"b3", 0.3f}, {"b4", 0.2f}, {"b5", 0.4f}};
    for (const auto& [name, iou] : benign) primary_.images.push_back(Image(name, 1, iou));
    primary_.images.push_back(Image("m1", 2, 0.25f));
    for (const AnnotatedImage& image : primary_.images) {
      const std::string path = dir_.Write("in/" + image.file + ".png", Png(32, 24, {90, 90, 90}));
      const std::string annotation = dir_.Write("in/" + image.file + ".json", LabelMe(32, 24));
      input_.images[image.file] = ComparedImage{100 + input_.images.size(), path, annotation};
      iou_[image.file] = image.iou[1];
    }
    input_.methods = {kGradCam, kHiRes, kPlusPlus};
    input_.primary = &primary_;
    input_.base_options.add_iou_thresholds(0.3f);
    input_.base_options.add_iou_thresholds(0.5f);
    input_.base_options.set_overlay_image_weight(0.5f);
    input_.panel_box = cv::Size(40, 40);
    // The annotation comparison's panels of grad-cam's picks; m1's failed.
    for (const char* file : {"b1", "b3", "b2"}) {
      ComparisonPanels panels;
      panels.mask = cv::Mat(10, 10, CV_8UC3, cv::Scalar(0, 255, 0));
      panels.overlay = cv::Mat(10, 10, CV_8UC3, cv::Scalar(0, 0, 255));
      input_.primary_panels[file] = panels;
    }
    input_.primary_errors["m1"] = "overlay did not decode";
  }

  absl::Status Run(MethodComparison* comparison) {
    return RunMethodComparison(
        input_,
        [&](const std::string& what, const std::vector<size_t>& keys,
            const std::function<ExplainOptions(size_t)>& options_for,
            const OnComparisonAnswer& on_answer) {
          passes_.push_back(what);
          for (size_t key : keys) {
            const ExplainOptions options = options_for(key);
            const size_t i = key - 100;  // the keys are 100 + the report's index
            const std::string file = primary_.images[i].file;
            sent_[options.method()].push_back(file);
            EXPECT_FALSE(options.return_overlay_png() || options.return_raw_heatmap());
            if (options.return_heatmap_png()) picks_sent_[options.method()].push_back(file);
            if (options.method() == kPlusPlus && file == "b3") {
              on_answer(key, nullptr, "INVALID_ARGUMENT: scripted failure");
              continue;
            }
            ExplainResult result;
            result.set_predicted_index(primary_.images[i].true_class);
            auto* a = result.mutable_annotation();
            for (float t : options.iou_thresholds()) {
              auto* at = a->add_iou();
              at->set_threshold(t);
              at->set_iou(iou_[file] + 0.1f * static_cast<float>(options.method() == kHiRes ? 1 : 2));
            }
            a->set_pointing_game_hit(options.method() == kHiRes);
            a->set_energy_inside(0.5f);
            if (options.return_heatmap_png()) result.set_heatmap_png(GrayPng(8, 6));
            on_answer(key, &result, "");
          }
          return absl::OkStatus();
        },
        comparison);
  }

  testing::TempDir dir_;
  AnnotationReport primary_;
  MethodComparisonInput input_;
  std::map<std::string, float> iou_;  // at 0.5
  std::vector<std::string> passes_;
  std::map<int, std::vector<std::string>> sent_, picks_sent_;
};

TEST_F(MethodComparisonRunTest, SendsEachImageOncePerExtraMethodAndPicksByThePrimary) {
  MethodComparison comparison;
  ASSERT_TRUE(Run(&comparison).ok());
  EXPECT_THAT(passes_, ElementsAre("hires-cam", "grad-cam++"));
  EXPECT_EQ(sent_.count(kGradCam), 0u);  // the primary's figures are the report's
  EXPECT_THAT(sent_[kHiRes], ElementsAre("b1", "b2", "b3", "b4", "b5", "m1"));
  EXPECT_THAT(sent_[kPlusPlus], ElementsAre("b1", "b2", "b3", "b4", "b5", "m1"));
  // Benign ranked by grad-cam's IoU@0.5: best b1 (0.5), median b3 (0.3), worst b2 (0.1).
  ASSERT_EQ(comparison.classes.size(), 2u);
  ASSERT_EQ(comparison.classes[0].picks.size(), 3u);
  EXPECT_EQ(comparison.classes[0].ranked, 5);
  EXPECT_EQ(comparison.classes[0].picks[0].file, "b1");
  EXPECT_EQ(comparison.classes[0].picks[1].file, "b3");
  EXPECT_EQ(comparison.classes[0].picks[2].file, "b2");
  EXPECT_THAT(picks_sent_[kHiRes], ElementsAre("b1", "b2", "b3", "m1"));

  ASSERT_EQ(comparison.reports.size(), 3u);
  EXPECT_EQ(comparison.reports[1].method, "hires-cam");
  ASSERT_EQ(comparison.reports[1].images.size(), 6u);
  EXPECT_FLOAT_EQ(comparison.reports[1].images[0].iou[1], 0.6f);  // b1: 0.5 + 0.1
  EXPECT_EQ(comparison.reports[1].normal_left_out, 4);
  EXPECT_THAT(comparison.reports[2].failed,
              ElementsAre("b3: INVALID_ARGUMENT: scripted failure"));
  EXPECT_EQ(comparison.reports[2].images.size(), 5u);

  // Panels: the primary's from the input, the others built from the answers.
  const PickedImage& best = comparison.classes[0].picks[0];
  EXPECT_FALSE(best.mask.empty());
  for (size_t m = 0; m < 3; ++m) EXPECT_FALSE(best.overlays[m].empty()) << m;
  const PickedImage& median = comparison.classes[0].picks[1];  // b3
  EXPECT_TRUE(median.overlays[2].empty());
  EXPECT_THAT(median.errors[2], HasSubstr("scripted failure"));
  const PickedImage& malignant = comparison.classes[1].picks[0];
  EXPECT_EQ(malignant.errors[0], "overlay did not decode");
  EXPECT_FALSE(malignant.overlays[1].empty());
}

TEST_F(MethodComparisonRunTest, JsonCarriesEveryMethodsFiguresAndLeaders) {
  MethodComparison comparison;
  ASSERT_TRUE(Run(&comparison).ok());
  const Json j = MethodComparisonToJson(comparison);
  EXPECT_EQ(j["methods"], Json::array({"grad-cam", "hires-cam", "grad-cam++"}));
  EXPECT_EQ(j["ranked_by"], "IoU@0.5 of grad-cam (the run's --method)");
  // grad-cam: the primary's own figures. Mean IoU@0.5 over b1..b5, m1.
  const double primary_mean = (0.5 + 0.1 + 0.3 + 0.2 + 0.4 + 0.25) / 6;
  EXPECT_NEAR(j["per_method"]["grad-cam"]["overall"]["mean_iou"]["0.5"].get<double>(),
              primary_mean, 1e-6);
  EXPECT_NEAR(j["per_method"]["hires-cam"]["overall"]["mean_iou"]["0.5"].get<double>(),
              primary_mean + 0.1, 1e-6);
  // grad-cam++ lost b3 (0.3): mean over the other five, each + 0.2.
  EXPECT_NEAR(j["per_method"]["grad-cam++"]["overall"]["mean_iou"]["0.5"].get<double>(),
              (0.5 + 0.1 + 0.2 + 0.4 + 0.25) / 5 + 0.2, 1e-6);
  EXPECT_EQ(j["per_method"]["grad-cam++"]["failed_count"], 1);
  EXPECT_EQ(j["per_method"]["hires-cam"]["per_class"]["Benign"]["count"], 5);
  EXPECT_EQ(j["leaders"]["mean_iou"]["0.5"], Json::array({"grad-cam++"}));
  EXPECT_EQ(j["leaders"]["pointing_game_rate"], Json::array({"hires-cam"}));
  EXPECT_EQ(j["leaders"]["mean_energy_inside"], Json::array({"hires-cam", "grad-cam++"}));
  const Json& best = j["picks"][0]["rows"][0];
  EXPECT_EQ(best["role"], "best");
  EXPECT_EQ(best["file"], "b1");
  EXPECT_NEAR(best["iou"]["hires-cam"].get<double>(), 0.6, 1e-6);
  EXPECT_TRUE(j["picks"][0]["rows"][1]["iou"]["grad-cam++"].is_null());  // b3 failed
}

TEST_F(MethodComparisonRunTest, ImageHasTheLayoutsSize) {
  MethodComparison comparison;
  ASSERT_TRUE(Run(&comparison).ok());
  const MethodComparisonLayout layout;
  auto image = RenderMethodComparison(comparison, layout);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->size(), MethodComparisonCanvasSize(layout, 3, {3, 1}));
  EXPECT_EQ(image->cols, 4 * layout.tile_width);
  comparison.classes[0].picks[0].overlays.pop_back();
  EXPECT_THAT(RenderMethodComparison(comparison).status().message(),
              HasSubstr("b1 has 2 overlay(s) and 3 error(s) for 3 method(s)"));
}

TEST_F(MethodComparisonRunTest, StreamFailureKeepsWhatCameAndSaysWhy) {
  MethodComparison comparison;
  const absl::Status status = RunMethodComparison(
      input_,
      [&](const std::string&, const std::vector<size_t>&,
          const std::function<ExplainOptions(size_t)>&, const OnComparisonAnswer&) {
        return absl::UnavailableError("the stream broke");
      },
      &comparison);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(comparison.reports.size(), 2u);  // stopped after hires-cam's pass
  EXPECT_THAT(comparison.reports[1].images, IsEmpty());
}

TEST(MethodComparisonHtmlTest, NullSaysHowToAskForIt) {
  EXPECT_THAT(MethodComparisonHtml(Json(nullptr), Json::array()),
              HasSubstr("run with --annotations-dir and --methods"));
}

TEST_F(MethodComparisonRunTest, PageTableMarksTheLeadersAndEscapes) {
  primary_.class_names[1] = "Be<nign";
  MethodComparison comparison;
  ASSERT_TRUE(Run(&comparison).ok());
  const Json j = MethodComparisonToJson(comparison);
  const std::string html = MethodComparisonHtml(j, Json({0.3, 0.5}));
  EXPECT_THAT(html, HasSubstr("<th>mean IoU@0.3</th><th>mean IoU@0.5</th>"));
  EXPECT_THAT(html, HasSubstr("Which explanation agrees best"));
  EXPECT_THAT(html, HasSubstr("src=\"method_comparison.png\""));
  // grad-cam++ leads mean IoU@0.5 (marked), hires-cam the pointing game.
  EXPECT_THAT(html, HasSubstr(absl::StrFormat("<td class=\"diag\" title=\"best of the methods\">%.3f</td>",
                                              j["per_method"]["grad-cam++"]["overall"]["mean_iou"]["0.5"].get<double>())));
  EXPECT_THAT(html, HasSubstr("Be&lt;nign / hires-cam"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("Be<nign")));
}

}  // namespace
}  // namespace explainer::client::gallery
