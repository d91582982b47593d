// Tests of client/gallery/html_report.h: self-contained page, relative links,
// escaping, the image check script and the tables.
#include "client/gallery/html_report.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client::gallery {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::ordered_json;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

HtmlReportInput Input() {
  HtmlReportInput input;
  input.gallery = Json::parse(R"({
    "run": {"server": "127.0.0.1:5", "model": {"name": "demo <b>", "version": "1",
            "device": "cpu", "classes_text": "Normal, Benign"}, "method": "grad-cam", "k": 3,
            "input_dir": "in", "labels": {"path": "in/dataset.csv", "format": "BTXRD dataset.csv"},
            "images_found": 4, "labelled": 3, "predicted": 3, "explained": 2,
            "unlabelled_images": ["odd & end.jpeg"], "labels_without_image": ["IMG9"],
            "errors": [{"file": "bad.jpeg", "pass": "1/2", "message": "INVALID_ARGUMENT: not an image"}]},
    "galleries": [
      {"class": "Normal", "image": "gallery_Normal.png",
       "rows": [{"outcome": "TP", "available": 2, "shown": [{}, {}]},
                {"outcome": "FP", "available": 0, "shown": []},
                {"outcome": "FN", "available": 1, "shown": [{}]}]},
      {"class": "Benign", "image": "gallery_Benign.png", "rows": []}],
    "comparison": {"image": "annotation_comparison.png", "ranked_by": "IoU@0.5", "classes": []}
  })");
  input.metrics = Json::parse(R"({
    "classes": ["Normal", "Benign"], "count": 3,
    "confusion_matrix": {"rows": "true class", "columns": "predicted class", "matrix": [[2, 0], [1, 0]]},
    "per_class": {"Normal": {"support": 2, "predicted": 3, "sensitivity": 1.0, "specificity": 0.0,
                             "precision": 0.6667, "auc": 0.75},
                  "Benign": {"support": 1, "predicted": 0, "sensitivity": 0.0, "specificity": 1.0,
                             "precision": null, "auc": 0.75}},
    "accuracy": 0.6666666, "balanced_accuracy": 0.5, "macro_auc": 0.75})");
  input.annotation_report = Json::parse(R"({
    "method": "grad-cam", "thresholds": [0.3, 0.5], "explained_class": "the predicted class",
    "left_out": {"normal": 2, "without_annotation_count": 0, "failed_count": 0},
    "overall": {"count": 1, "mean_iou": {"0.3": 0.25, "0.5": 0.125}, "median_iou": {"0.3": 0.25, "0.5": 0.125},
                "pointing_game_rate": 1.0, "mean_energy_inside": 0.5},
    "per_class": {"Benign": {"count": 1, "mean_iou": {"0.3": 0.25, "0.5": 0.125},
                             "median_iou": {"0.3": 0.25, "0.5": 0.125},
                             "pointing_game_rate": 1.0, "mean_energy_inside": 0.5}},
    "images": [{"file": "b1.jpeg", "true_class": "Benign", "predicted_class": "Normal",
                "confidence": 0.6, "iou": {"0.3": 0.25, "0.5": 0.125}, "pointing_game_hit": true,
                "energy_inside": 0.5}]})");
  return input;
}

TEST(HtmlReportTest, SelfContainedWithRelativeImageLinks) {
  const std::string html = RenderIndexHtml(Input());
  EXPECT_EQ(html.substr(0, 15), "<!DOCTYPE html>");
  EXPECT_EQ(Count(html, "<img "), 3u);  // two galleries + the comparison
  EXPECT_THAT(html, HasSubstr("src=\"gallery_Normal.png\""));
  EXPECT_THAT(html, HasSubstr("src=\"gallery_Benign.png\""));
  EXPECT_THAT(html, HasSubstr("src=\"annotation_comparison.png\""));
  EXPECT_EQ(Count(html, "onerror=\"explainerBroken(this)\""), 3u);
  // No external assets: no scheme-qualified or protocol-relative URLs, no <link>.
  EXPECT_THAT(html, Not(HasSubstr("http:")));
  EXPECT_THAT(html, Not(HasSubstr("https:")));
  EXPECT_THAT(html, Not(HasSubstr("src=\"/")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("data-images-broken"));
}

TEST(HtmlReportTest, EscapesNamesAndShowsTheFigures) {
  const std::string html = RenderIndexHtml(Input());
  EXPECT_THAT(html, HasSubstr("demo &lt;b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("demo <b>")));
  EXPECT_THAT(html, HasSubstr("odd &amp; end.jpeg"));
  EXPECT_THAT(html, HasSubstr("accuracy <b>0.667</b>"));
  EXPECT_THAT(html, HasSubstr("balanced accuracy <b>0.500</b>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"diag\">2</td>"));
  EXPECT_THAT(html, HasSubstr("title=\"undefined\">n/a"));  // Benign precision null
  EXPECT_THAT(html, HasSubstr("<th>mean IoU@0.3</th>"));
  EXPECT_THAT(html, HasSubstr("<td>0.125</td>"));
  EXPECT_THAT(html, HasSubstr("2 Normal image(s) left out"));
  EXPECT_THAT(html, HasSubstr("bad.jpeg (pass 1/2): INVALID_ARGUMENT: not an image"));
  EXPECT_THAT(html, HasSubstr("<b>FP</b> 0 shown of 0"));
}

TEST(HtmlReportTest, WithoutAnnotationsSaysHowToGetThem) {
  HtmlReportInput input = Input();
  input.gallery["comparison"] = nullptr;
  input.annotation_report = nullptr;
  const std::string html = RenderIndexHtml(input);
  EXPECT_EQ(Count(html, "<img "), 2u);
  // The annotation comparison, the report and the method comparison.
  EXPECT_EQ(Count(html, "run with --annotations-dir"), 3u);
}

TEST(HtmlReportTest, MethodComparisonFromTheReport) {
  HtmlReportInput input = Input();
  EXPECT_THAT(RenderIndexHtml(input), HasSubstr("No method comparison: run with"));
  input.annotation_report["method_comparison"] = Json::parse(R"({
    "methods": ["grad-cam", "hires-cam"], "image": "method_comparison.png",
    "per_method": {"grad-cam": {"overall": {"count": 2, "mean_iou": {"0.5": 0.25}}},
                   "hires-cam": {"overall": {"count": 2, "mean_iou": {"0.5": 0.5}}}},
    "leaders": {"mean_iou": {"0.5": ["hires-cam"]}}})");
  const std::string html = RenderIndexHtml(input);
  EXPECT_EQ(Count(html, "<img "), 4u);  // two galleries + both comparisons
  EXPECT_THAT(html, HasSubstr("<h2>Method comparison</h2>"));
  EXPECT_THAT(html, HasSubstr("title=\"best of the methods\">0.500</td>"));
}

TEST(HtmlReportTest, HtmlEscape) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x">'&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace explainer::client::gallery
