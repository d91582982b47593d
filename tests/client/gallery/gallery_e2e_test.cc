// End-to-end: explainer-phantom makes a demo folder, the real explainer-server
// serves the demo model, `explainer infer` and `explainer gallery` run over the
// same folder; every output must exist and decode, the grids must have the
// expected size, the picks, metrics and IoU report must agree with infer's
// results.jsonl, and index.html must load every image in headless Chromium.
// The gallery also compares grad-cam with hires-cam and xgrad-cam (--methods):
// each method's figures must be those `infer --method` gives for the same images.
//
// Outputs (gallery folder, Chromium screenshot) are kept for people to look at:
// in $TEST_UNDECLARED_OUTPUTS_DIR under bazel, else $EXPLAINER_TEST_OUTPUT_DIR,
// else <gtest temp dir>/explainer_gallery_e2e. The test prints where. The model is
// the demo bundle (models/demo/explainer-demo.pt) unless $EXPLAINER_E2E_MODEL names
// another.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/gallery/comparison_render.h"
#include "client/gallery/gallery_render.h"
#include "client/gallery/method_comparison_render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/e2e/e2e_support.h"
#include "tests/test_paths.h"

namespace explainer::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int kCount = 40;
constexpr int kSeed = 11;
constexpr int kK = 3;
constexpr char kChromium[] = "/usr/bin/chromium";
// The run's --method (grad-cam) and two methods as cheap (one forward, one backward).
const std::vector<std::string> kComparedMethods = {"grad-cam", "hires-cam", "xgrad-cam"};
// Answers of two runs may come from differently composed batches: allow float noise.
constexpr double kTolerance = 1e-5;

std::string OutputDir() {
  for (const char* name : {"TEST_UNDECLARED_OUTPUTS_DIR", "EXPLAINER_TEST_OUTPUT_DIR"}) {
    if (const char* dir = std::getenv(name)) return (fs::path(dir) / "gallery_e2e").string();
  }
  return (fs::path(::testing::TempDir()) / "explainer_gallery_e2e").string();
}

// One image as `infer` saw it, plus its label from the phantom's dataset.csv.
struct Truth {
  int label = -1;
  int predicted = -1;
  std::vector<double> probabilities;
  json annotation;  // null when none
};

// dataset.csv as the phantom writes it (BTXRD's header, no quoting): label by
// file stem, read here independently of the client's parser.
std::map<std::string, int> ReadPhantomLabels(const std::string& path) {
  std::map<std::string, int> labels;
  std::vector<std::string> lines = absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
  const std::vector<std::string> header = absl::StrSplit(lines.at(0), ',');
  const auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  const size_t id = column("image_id"), benign = column("benign"), malignant = column("malignant");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    const std::string stem = fs::path(cells.at(id)).stem().string();
    labels[stem] = cells.at(malignant) == "1" ? 2 : (cells.at(benign) == "1" ? 1 : 0);
  }
  return labels;
}

// The picks the gallery should show, from infer's probabilities (rules of
// client/gallery/selection.h, restated).
std::vector<std::string> ExpectedRow(const std::map<std::string, Truth>& truth, int c, int row,
                                     size_t* available) {
  std::vector<std::pair<double, std::string>> candidates;
  for (const auto& [file, t] : truth) {
    const bool is_true = t.label == c, is_predicted = t.predicted == c;
    const bool qualifies = row == 0   ? (is_true && is_predicted)
                           : row == 1 ? (!is_true && is_predicted)
                                      : (is_true && !is_predicted);
    if (qualifies) candidates.emplace_back(t.probabilities[c], file);
  }
  std::sort(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return row == 2 ? a.first < b.first : a.first > b.first;
    return a.second < b.second;
  });
  *available = candidates.size();
  std::vector<std::string> files;
  for (size_t i = 0; i < candidates.size() && i < static_cast<size_t>(kK); ++i) {
    files.push_back(candidates[i].second);
  }
  return files;
}

TEST(GalleryE2eTest, DemoFolderGalleryAgreesWithInferAndOpensInChromium) {
  // EXPLAINER_E2E_MODEL: another bundle with the classes Normal, Benign, Malignant.
  const char* model_override = std::getenv("EXPLAINER_E2E_MODEL");
  const std::string model =
      model_override ? model_override : SourcePath("models/demo/explainer-demo.pt");
  ASSERT_TRUE(fs::exists(model)) << "the demo bundle " << model
                                 << " is missing (tools/train_demo_model.py makes it)";
  const std::string work =
      (fs::path(::testing::TempDir()) / absl::StrCat("explainer_gallery_e2e_", getpid())).string();
  const std::string kept = OutputDir();
  fs::remove_all(work);
  fs::remove_all(kept);
  fs::create_directories(kept);
  std::cout << "gallery e2e outputs: " << kept << std::endl;

  const CommandResult phantom = RunCommand({PhantomBinary(), "--out", work + "/demo", "--count",
                                            absl::StrCat(kCount), "--seed", absl::StrCat(kSeed)});
  ASSERT_EQ(phantom.exit_code, 0) << phantom.out << phantom.err;

  auto server = ServerUnderTest::Start(model, work + "/server");
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();

  const CommandResult infer = RunCommand(
      {ClientBinary(), "infer", "--server", address, "--input-dir", work + "/demo/images",
       "--annotations-dir", work + "/demo/Annotations", "--out", work + "/infer"},
      absl::Minutes(5));
  ASSERT_EQ(infer.exit_code, 0) << infer.out << infer.err;

  // The compared methods' figures, independently: one infer run per method.
  std::map<std::string, std::map<std::string, json>> method_annotations;  // method -> file ->
  for (size_t m = 1; m < kComparedMethods.size(); ++m) {
    const std::string dir = work + "/infer_" + kComparedMethods[m];
    const CommandResult run = RunCommand(
        {ClientBinary(), "infer", "--server", address, "--input-dir", work + "/demo/images",
         "--annotations-dir", work + "/demo/Annotations", "--out", dir, "--method",
         kComparedMethods[m]},
        absl::Minutes(5));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    for (absl::string_view line :
         absl::StrSplit(ReadFile(dir + "/results.jsonl"), '\n', absl::SkipEmpty())) {
      const json r = json::parse(line);
      method_annotations[kComparedMethods[m]][r["file"].get<std::string>()] = r["annotation"];
    }
  }

  const std::string out = kept + "/gallery";
  const CommandResult gallery = RunCommand(
      {ClientBinary(), "gallery", "--server", address, "--input-dir", work + "/demo/images",
       "--labels", work + "/demo/dataset.csv", "--annotations-dir", work + "/demo/Annotations",
       "--out", out, "--k", absl::StrCat(kK), "--methods", absl::StrJoin(kComparedMethods, ",")},
      absl::Minutes(5));
  ASSERT_EQ(gallery.exit_code, 0) << gallery.out << gallery.err;
  EXPECT_THAT(gallery.out, HasSubstr("Open " + out + "/index.html"));
  EXPECT_THAT(gallery.err, HasSubstr("pass 1/2"));
  EXPECT_THAT(gallery.err, HasSubstr("pass 2/2"));
  EXPECT_TRUE((*server)->Running()) << (*server)->Log();
  std::cout << gallery.out;

  // Every output exists and decodes.
  const json run_json = json::parse(ReadFile(out + "/gallery.json"));
  const json metrics = json::parse(ReadFile(out + "/metrics.json"));
  const json report = json::parse(ReadFile(out + "/annotation_report.json"));
  const std::vector<std::string> classes = run_json["run"]["model"]["classes"];
  ASSERT_EQ(classes, (std::vector<std::string>{"Normal", "Benign", "Malignant"}));

  // infer's view of the same folder.
  const std::map<std::string, int> labels = ReadPhantomLabels(work + "/demo/dataset.csv");
  std::map<std::string, Truth> truth;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(work + "/infer/results.jsonl"), '\n', absl::SkipEmpty())) {
    const json r = json::parse(line);
    ASSERT_TRUE(r["error"].is_null()) << r.dump();
    const std::string file = r["file"];
    Truth t;
    t.label = labels.at(fs::path(file).stem().string());
    t.predicted = r["predicted_index"];
    for (const std::string& name : classes) t.probabilities.push_back(r["probabilities"][name]);
    t.annotation = r["annotation"];
    truth[file] = t;
  }
  ASSERT_EQ(truth.size(), static_cast<size_t>(kCount));

  // Galleries: the picks infer's numbers imply, on the expected grid.
  ASSERT_EQ(run_json["galleries"].size(), classes.size());
  for (size_t c = 0; c < classes.size(); ++c) {
    const json& g = run_json["galleries"][c];
    EXPECT_EQ(g["class"], classes[c]);
    const cv::Mat image = cv::imread(out + "/" + g["image"].get<std::string>());
    ASSERT_FALSE(image.empty()) << g["image"];
    EXPECT_EQ(image.size(), explainer::client::gallery::GalleryCanvasSize(
                                explainer::client::gallery::GalleryLayout(), kK))
        << g["image"];
    for (int row = 0; row < 3; ++row) {
      size_t available = 0;
      const std::vector<std::string> expected = ExpectedRow(truth, c, row, &available);
      const json& shown = g["rows"][row]["shown"];
      EXPECT_EQ(g["rows"][row]["available"].get<size_t>(), available) << classes[c] << row;
      ASSERT_EQ(shown.size(), expected.size()) << classes[c] << " row " << row;
      for (size_t i = 0; i < expected.size(); ++i) {
        const std::string file = shown[i]["file"];
        if (file != expected[i]) {
          // Only a near-tie (batch-dependent float noise) may reorder picks.
          EXPECT_NEAR(truth.at(file).probabilities[c], truth.at(expected[i]).probabilities[c],
                      kTolerance)
              << classes[c] << " row " << row << ": " << file << " vs " << expected[i];
        }
        EXPECT_TRUE(shown[i]["overlay_error"].is_null()) << shown[i].dump();
      }
    }
  }

  // Metrics: the confusion matrix of infer's predictions against the labels.
  std::vector<std::vector<int>> confusion(3, std::vector<int>(3, 0));
  for (const auto& [file, t] : truth) ++confusion[t.label][t.predicted];
  EXPECT_EQ(metrics["confusion_matrix"]["matrix"], json(confusion));
  EXPECT_EQ(metrics["count"], kCount);
  EXPECT_TRUE(metrics["accuracy"].is_number());

  // Annotation report: exactly the annotated tumour images, with infer's numbers.
  const std::vector<double> thresholds = report["thresholds"];
  ASSERT_EQ(thresholds, (std::vector<double>{0.3, 0.5, 0.7}));
  std::set<std::string> tumour_files;
  int normal = 0;
  for (const auto& [file, t] : truth) {
    if (t.label == 0) ++normal;
    if (t.label != 0 && !t.annotation.is_null()) tumour_files.insert(file);
  }
  EXPECT_EQ(report["left_out"]["normal"], normal);
  std::set<std::string> report_files;
  for (const json& image : report["images"]) {
    const std::string file = image["file"];
    report_files.insert(file);
    const json& expected = truth.at(file).annotation;
    ASSERT_FALSE(expected.is_null()) << file;
    for (const char* key : {"0.3", "0.5", "0.7"}) {
      EXPECT_NEAR(image["iou"][key].get<double>(), expected["iou"][key].get<double>(), kTolerance)
          << file << " IoU@" << key;
    }
    EXPECT_EQ(image["pointing_game_hit"], expected["pointing_game_hit"]) << file;
    EXPECT_NEAR(image["energy_inside"].get<double>(), expected["energy_inside"].get<double>(),
                kTolerance)
        << file;
  }
  EXPECT_EQ(report_files, tumour_files);
  ASSERT_FALSE(tumour_files.empty()) << "the demo folder should hold annotated tumours";
  EXPECT_EQ(report["overall"]["count"].get<size_t>(), tumour_files.size());

  // The comparison: best / median / worst per annotated class.
  std::vector<int> rows_per_class;
  for (const json& c : run_json["comparison"]["classes"]) {
    rows_per_class.push_back(static_cast<int>(c["rows"].size()));
    EXPECT_EQ(c["rows"].size(), std::min<size_t>(3, c["images_ranked"].get<size_t>()));
    for (const json& row : c["rows"]) EXPECT_TRUE(row["error"].is_null()) << row.dump();
  }
  ASSERT_EQ(rows_per_class.size(), 2u);  // Benign and Malignant
  const cv::Mat comparison = cv::imread(out + "/annotation_comparison.png");
  ASSERT_FALSE(comparison.empty());
  EXPECT_EQ(comparison.size(), explainer::client::gallery::ComparisonCanvasSize(
                                   explainer::client::gallery::ComparisonLayout(), rows_per_class));

  // The method comparison: grad-cam's figures are the report's; the others are
  // those infer gives with --method, image by image, and their means.
  const json& methods = report["method_comparison"];
  ASSERT_TRUE(methods.is_object()) << report.dump().substr(0, 2000);
  EXPECT_EQ(methods["methods"], json(kComparedMethods));
  EXPECT_THAT(gallery.err, HasSubstr("pass method hires-cam: method comparison"));
  EXPECT_EQ(methods["per_method"]["grad-cam"]["overall"], report["overall"]);
  EXPECT_EQ(methods["per_method"]["grad-cam"]["per_class"], report["per_class"]);
  bool any_differs = false;  // a method's figures must not be grad-cam's copied
  for (size_t m = 1; m < kComparedMethods.size(); ++m) {
    const std::string& method = kComparedMethods[m];
    const json& figures = methods["per_method"][method];
    EXPECT_EQ(figures["failed_count"], 0) << figures["failed"];
    ASSERT_EQ(figures["images"].size(), tumour_files.size()) << method;
    double sum_iou = 0;
    for (size_t i = 0; i < figures["images"].size(); ++i) {
      const json& image = figures["images"][i];
      const std::string file = image["file"];
      const json& expected = method_annotations.at(method).at(file);
      ASSERT_FALSE(expected.is_null()) << method << " " << file;
      for (const char* key : {"0.3", "0.5", "0.7"}) {
        EXPECT_NEAR(image["iou"][key].get<double>(), expected["iou"][key].get<double>(),
                    kTolerance)
            << method << " " << file << " IoU@" << key;
      }
      EXPECT_EQ(image["pointing_game_hit"], expected["pointing_game_hit"]) << method << file;
      EXPECT_NEAR(image["energy_inside"].get<double>(), expected["energy_inside"].get<double>(),
                  kTolerance)
          << method << " " << file;
      sum_iou += expected["iou"]["0.5"].get<double>();
      any_differs = any_differs || std::fabs(image["energy_inside"].get<double>() -
                                             report["images"][i]["energy_inside"].get<double>()) >
                                       1e-4;
    }
    EXPECT_NEAR(figures["overall"]["mean_iou"]["0.5"].get<double>(),
                sum_iou / static_cast<double>(tumour_files.size()), kTolerance)
        << method;
  }
  EXPECT_TRUE(any_differs) << "every method gave grad-cam's energy inside on every image";
  // The same best / median / worst as the annotation comparison (grad-cam's IoU).
  std::vector<int> picks_per_class;
  for (size_t c = 0; c < methods["picks"].size(); ++c) {
    const json& rows = methods["picks"][c]["rows"];
    picks_per_class.push_back(static_cast<int>(rows.size()));
    for (size_t r = 0; r < rows.size(); ++r) {
      EXPECT_TRUE(rows[r]["errors"].empty()) << rows[r].dump();
      EXPECT_EQ(rows[r]["file"], run_json["comparison"]["classes"][c]["rows"][r]["file"]);
    }
  }
  EXPECT_EQ(picks_per_class, rows_per_class);
  const cv::Mat method_image = cv::imread(out + "/method_comparison.png");
  ASSERT_FALSE(method_image.empty());
  EXPECT_EQ(method_image.size(),
            explainer::client::gallery::MethodComparisonCanvasSize(
                explainer::client::gallery::MethodComparisonLayout(), kComparedMethods.size(),
                picks_per_class));

  // The page in a real browser: every <img> loads (the page's own script marks
  // broken ones), and a screenshot for people.
  ASSERT_TRUE(fs::exists(kChromium)) << kChromium << " is not installed (apt-get install chromium)";
  const std::string html = ReadFile(out + "/index.html");
  size_t images = 0;
  for (size_t at = html.find("<img "); at != std::string::npos; at = html.find("<img ", at + 1)) {
    ++images;
  }
  EXPECT_EQ(images, classes.size() + 2);  // galleries, annotation and method comparisons
  EXPECT_THAT(html, HasSubstr("<h2>Method comparison</h2>"));
  // HOME: Chromium writes caches there, and under bazel's sandbox the user's home
  // is read-only or unset.
  const std::vector<std::string> chromium = {"/usr/bin/env",
                                             "HOME=" + work,
                                             kChromium,
                                             "--headless",
                                             "--no-sandbox",
                                             "--disable-gpu",
                                             "--disable-quic",
                                             "--no-first-run",
                                             "--disable-background-networking",
                                             "--disable-component-update",
                                             "--disable-sync",
                                             "--hide-scrollbars"};
  auto browse = [&](const std::vector<std::string>& extra, const std::string& profile) {
    std::vector<std::string> argv = chromium;
    argv.push_back("--user-data-dir=" + work + "/" + profile);
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("file://" + out + "/index.html");
    return RunCommand(argv, absl::Minutes(2));
  };
  const CommandResult dom = browse({"--virtual-time-budget=10000", "--dump-dom"}, "chrome-dom");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_THAT(dom.out, HasSubstr(absl::StrCat("data-images-loaded=\"", images, "\"")));
  EXPECT_THAT(dom.out, HasSubstr("data-images-broken=\"0\""));
  const std::string screenshot = kept + "/index_screenshot.png";
  const CommandResult shot =
      browse({"--window-size=1400,3000", "--screenshot=" + screenshot}, "chrome-shot");
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  const cv::Mat page = cv::imread(screenshot);
  ASSERT_FALSE(page.empty()) << screenshot;
  EXPECT_EQ(page.size(), cv::Size(1400, 3000));
  std::cout << "screenshot: " << screenshot << std::endl;
  fs::remove_all(work);
}

}  // namespace
}  // namespace explainer::testing
