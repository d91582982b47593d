// `explainer gallery` as a whole (RunGallery) against a scripted in-process
// server: the two passes send what they should, the picks, metrics and reports
// are the hand-derived ones, every output is written and decodes, and bad inputs
// end with the documented exit status and message.
#include "client/gallery/gallery_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/gallery/comparison_render.h"
#include "client/gallery/gallery_render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/client/gallery/scripted_explainer_service.h"

namespace explainer::client::gallery {
namespace {

using ::explainer::testing::ScriptedAnswer;
using ::explainer::testing::ScriptedServer;
using ::explainer::testing::SeenRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::path(::testing::TempDir()) /
            absl::StrCat("explainer_gallery_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                         getpid(), "_", counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Path(const std::string& relative) const { return (path_ / relative).string(); }
  void Write(const std::string& relative, const std::string& bytes) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << bytes;
  }

 private:
  fs::path path_;
};

struct ImageSpec {
  std::string name;   // stem
  const char* label;  // BTXRD label
  std::vector<float> probabilities;
  float iou = -1;  // < 0: no annotation file
  bool error = false;
};

// The hand-derived case (k = 2). Predictions (argmax):
//   n1 N  n2 N  n3 B  n4 N  n5 N | b1 B  b2 B  b3 N  b4 M  b5 B  b6 B | m1 M  m2 B
// bad: per-item error in pass 1.
const std::vector<ImageSpec>& Specs() {
  static const auto* specs = new std::vector<ImageSpec>{
      {"n1", "Normal", {0.9f, 0.05f, 0.05f}},
      {"n2", "Normal", {0.7f, 0.2f, 0.1f}},
      {"n3", "Normal", {0.3f, 0.6f, 0.1f}},
      {"n4", "Normal", {0.6f, 0.1f, 0.3f}},
      {"n5", "Normal", {0.8f, 0.1f, 0.1f}},
      {"b1", "Benign", {0.1f, 0.8f, 0.1f}, 0.6f},
      {"b2", "Benign", {0.2f, 0.7f, 0.1f}, 0.2f},
      {"b3", "Benign", {0.5f, 0.4f, 0.1f}, 0.4f},
      {"b4", "Benign", {0.1f, 0.3f, 0.6f}, 0.0f},
      {"b5", "Benign", {0.1f, 0.6f, 0.3f}},
      {"b6", "Benign", {0.3f, 0.65f, 0.05f}, 0.1f},
      {"m1", "Malignant", {0.1f, 0.2f, 0.7f}, 0.5f},
      {"m2", "Malignant", {0.1f, 0.5f, 0.4f}, 0.3f},
      {"bad", "Benign", {0.3f, 0.3f, 0.4f}, -1, true},
  };
  return *specs;
}

std::string Png(int width, int height, int gray) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(gray, gray, gray));
  std::vector<uchar> bytes;
  cv::imencode(".png", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

std::string LabelMe(const std::string& image, int width, int height) {
  return absl::StrCat(
      R"({"version": "5.2.1", "flags": {}, "shapes": [{"label": "tumor", "points": [[10, 8], [40, 30]], )",
      R"("group_id": null, "shape_type": "rectangle", "flags": {}}], "imagePath": ")", image,
      R"(", "imageData": null, "imageHeight": )", height, R"(, "imageWidth": )", width, "}");
}

class GalleryCommandTest : public ::testing::Test {
 protected:
  GalleryCommandTest() {
    std::string csv = "image_id,center,tumor,benign,malignant\n";
    int gray = 40;
    for (const ImageSpec& spec : Specs()) {
      const std::string file = spec.name + ".png";
      gray += 10;
      const int width = 64 + gray % 7;  // varied sizes
      dir_.Write("in/images/" + file, Png(width, 48, gray));
      if (spec.iou >= 0) {
        dir_.Write("in/Annotations/" + spec.name + ".json", LabelMe(file, width, 48));
      }
      const bool benign = std::string(spec.label) == "Benign";
      const bool malignant = std::string(spec.label) == "Malignant";
      absl::StrAppend(&csv, file, ",1,", benign || malignant ? 1 : 0, ",", benign ? 1 : 0, ",",
                      malignant ? 1 : 0, "\n");
      script_["images/" + file] = ScriptedAnswer{spec.probabilities, spec.iou, spec.error};
    }
    absl::StrAppend(&csv, "ghost.jpeg,1,0,0,0\n");        // a label without an image
    dir_.Write("in/images/extra.png", Png(30, 30, 200));  // an image without a label
    dir_.Write("in/dataset.csv", csv);
    server_ = std::make_unique<ScriptedServer>(script_);
  }

  GalleryOptions Options() const {
    GalleryOptions options;
    options.connection.server = server_->address();
    options.connection.connect_timeout = absl::Seconds(10);
    options.input_dir = dir_.Path("in");
    options.labels = dir_.Path("in/dataset.csv");
    options.annotations_dir = dir_.Path("in/Annotations");
    options.out_dir = dir_.Path("out");
    options.k = 2;
    options.explain.thresholds = {0.3f, 0.5f, 0.7f};
    return options;
  }

  // Runs the command; stdout and stderr land in out_ / err_.
  int Run(const GalleryOptions& options) {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    const int code = RunGallery(options, out, err);
    out_ = Slurp(out);
    err_ = Slurp(err);
    return code;
  }

  static std::string Slurp(std::FILE* file) {
    std::rewind(file);
    std::string text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
    std::fclose(file);
    return text;
  }

  Json ReadJson(const std::string& name) const {
    return Json::parse(ReadAll(dir_.Path("out/" + name)));
  }

  TempDir dir_;
  std::map<std::string, ScriptedAnswer> script_;  // by request_id
  std::unique_ptr<ScriptedServer> server_;
  std::string out_, err_;
};

std::set<std::string> Ids(const std::vector<SeenRequest>& requests) {
  std::set<std::string> ids;
  for (const SeenRequest& r : requests) ids.insert(r.request_id);
  return ids;
}

std::set<std::string> Images(std::initializer_list<const char*> stems) {
  std::set<std::string> ids;
  for (const char* stem : stems) ids.insert(absl::StrCat("images/", stem, ".png"));
  return ids;
}

std::vector<std::string> Shown(const Json& gallery, int class_index, int row) {
  std::vector<std::string> files;
  for (const Json& pick : gallery["galleries"][class_index]["rows"][row]["shown"]) {
    files.push_back(pick["file"].get<std::string>().substr(7));  // drop "images/"
  }
  return files;
}

TEST_F(GalleryCommandTest, TwoPassesPicksMetricsReportsAndPage) {
  ASSERT_EQ(Run(Options()), kExitOk) << out_ << err_;

  // Pass 1: every labelled image, predictions only. Pass 2: the gallery picks and
  // the annotated tumour images, whose heatmap PNGs also serve the comparison's
  // best / median / worst: no image is sent a third time.
  const auto streams = server_->service().streams();
  ASSERT_EQ(streams.size(), 2u) << err_;
  EXPECT_EQ(Ids(streams[0]), Images({"n1", "n2", "n3", "n4", "n5", "b1", "b2", "b3", "b4", "b5",
                                     "b6", "m1", "m2", "bad"}));
  for (const SeenRequest& r : streams[0]) {
    EXPECT_TRUE(r.skip_explanation) << r.request_id;
    EXPECT_FALSE(r.overlay || r.raw_heatmap || r.heatmap_png || r.annotation) << r.request_id;
  }
  EXPECT_EQ(Ids(streams[1]), Images({"n1", "n3", "n5", "b1", "b2", "b3", "b4", "b6", "m1", "m2"}));
  for (const SeenRequest& r : streams[1]) {
    EXPECT_FALSE(r.skip_explanation);
    EXPECT_FALSE(r.raw_heatmap);
    // b6 is only needed for the report: no overlay for it.
    EXPECT_EQ(r.overlay, r.request_id != "images/b6.png") << r.request_id;
    // The annotated tumour images: report and heatmap PNG; the others neither.
    const bool tumour = r.request_id[7] == 'b' || r.request_id[7] == 'm';
    EXPECT_EQ(r.annotation, tumour) << r.request_id;
    EXPECT_EQ(r.heatmap_png, tumour) << r.request_id;
    EXPECT_THAT(r.thresholds, ElementsAre(0.3f, 0.5f, 0.7f));
  }

  // The picks (hand-derived from the script, k = 2).
  const Json gallery = ReadJson("gallery.json");
  EXPECT_THAT(Shown(gallery, 0, 0), ElementsAre("n1.png", "n5.png"));
  EXPECT_EQ(gallery["galleries"][0]["rows"][0]["available"], 4);
  EXPECT_THAT(Shown(gallery, 0, 1), ElementsAre("b3.png"));
  EXPECT_THAT(Shown(gallery, 0, 2), ElementsAre("n3.png"));
  EXPECT_THAT(Shown(gallery, 1, 0), ElementsAre("b1.png", "b2.png"));
  EXPECT_EQ(gallery["galleries"][1]["rows"][0]["available"], 4);
  EXPECT_THAT(Shown(gallery, 1, 1), ElementsAre("n3.png", "m2.png"));
  EXPECT_THAT(Shown(gallery, 1, 2), ElementsAre("b4.png", "b3.png"));
  EXPECT_THAT(Shown(gallery, 2, 0), ElementsAre("m1.png"));
  EXPECT_THAT(Shown(gallery, 2, 1), ElementsAre("b4.png"));
  EXPECT_THAT(Shown(gallery, 2, 2), ElementsAre("m2.png"));
  EXPECT_EQ(gallery["run"]["unlabelled_images"], Json::array({"images/extra.png"}));
  EXPECT_EQ(gallery["run"]["labels_without_image"], Json::array({"ghost"}));
  ASSERT_EQ(gallery["run"]["errors"].size(), 1u);
  EXPECT_EQ(gallery["run"]["errors"][0]["file"], "images/bad.png");
  EXPECT_THAT(gallery["run"]["errors"][0]["message"].get<std::string>(),
              HasSubstr("scripted: cannot decode images/bad.png"));
  const Json& comparison = gallery["comparison"]["classes"];
  ASSERT_EQ(comparison.size(), 2u);
  EXPECT_EQ(comparison[0]["class"], "Benign");
  EXPECT_EQ(comparison[0]["rows"][0]["file"], "images/b1.png");  // 0.6
  EXPECT_EQ(comparison[0]["rows"][1]["file"], "images/b2.png");  // 0.2 of .6 .4 .2 .1 0
  EXPECT_EQ(comparison[0]["rows"][2]["file"], "images/b4.png");  // 0
  EXPECT_EQ(comparison[1]["rows"].size(), 2u);                   // best and worst
  // Their panels were drawn from pass 2's heatmap PNGs.
  for (const Json& row : comparison[0]["rows"]) EXPECT_TRUE(row["error"].is_null()) << row;

  // results.jsonl: one line per labelled image, in input order, as infer writes
  // them: the explained images with their annotation figures, the rest predicted.
  std::vector<Json> lines;
  std::istringstream results(ReadAll(dir_.Path("out/results.jsonl")));
  for (std::string line; std::getline(results, line);) lines.push_back(Json::parse(line));
  ASSERT_EQ(lines.size(), 14u);
  std::map<std::string, Json> by_file;
  for (const Json& line : lines) by_file[line["file"].get<std::string>()] = line;
  EXPECT_EQ(by_file["images/n2.png"]["predicted_class"], "Normal");
  EXPECT_TRUE(by_file["images/n2.png"]["annotation"].is_null());
  EXPECT_EQ(by_file["images/b4.png"]["predicted_class"], "Malignant");
  EXPECT_DOUBLE_EQ(by_file["images/b1.png"]["annotation"]["iou"]["0.5"].get<double>(), 0.6);
  EXPECT_EQ(by_file["images/bad.png"]["error"]["source"], "server");
  EXPECT_TRUE(by_file["images/bad.png"]["predicted_class"].is_null());

  // Metrics: confusion [true][predicted] from the table above.
  const Json metrics = ReadJson("metrics.json");
  EXPECT_EQ(metrics["count"], 13);
  EXPECT_EQ(metrics["confusion_matrix"]["matrix"],
            Json::parse("[[4, 1, 0], [1, 4, 1], [0, 1, 1]]"));
  EXPECT_DOUBLE_EQ(metrics["accuracy"].get<double>(), 9.0 / 13.0);
  EXPECT_DOUBLE_EQ(metrics["balanced_accuracy"].get<double>(), (4.0 / 5 + 4.0 / 6 + 1.0 / 2) / 3);

  // Annotation report: the seven annotated tumour images, Normal left out.
  const Json report = ReadJson("annotation_report.json");
  EXPECT_EQ(report["left_out"]["normal"], 5);
  EXPECT_EQ(report["left_out"]["without_annotation"],
            Json::array({"images/b5.png", "images/bad.png"}));
  ASSERT_EQ(report["images"].size(), 7u);
  EXPECT_EQ(report["images"][0]["file"], "images/b1.png");
  EXPECT_DOUBLE_EQ(report["images"][0]["iou"]["0.5"].get<double>(), 0.6);
  EXPECT_EQ(report["per_class"]["Benign"]["count"], 5);
  EXPECT_NEAR(report["per_class"]["Benign"]["mean_iou"]["0.5"].get<double>(),
              (0.6 + 0.2 + 0.4 + 0.0 + 0.1) / 5, 1e-6);
  EXPECT_NEAR(report["per_class"]["Benign"]["median_iou"]["0.5"].get<double>(), 0.2, 1e-6);
  EXPECT_NEAR(report["per_class"]["Malignant"]["pointing_game_rate"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(report["overall"]["count"], 7);

  // Images: the expected grids, decodable.
  const GalleryLayout layout;
  for (const char* name : {"Normal", "Benign", "Malignant"}) {
    const cv::Mat image = cv::imread(dir_.Path(absl::StrCat("out/gallery_", name, ".png")));
    ASSERT_FALSE(image.empty()) << name;
    EXPECT_EQ(image.size(), GalleryCanvasSize(layout, 2)) << name;
  }
  const cv::Mat comparison_image = cv::imread(dir_.Path("out/annotation_comparison.png"));
  ASSERT_FALSE(comparison_image.empty());
  EXPECT_EQ(comparison_image.size(), ComparisonCanvasSize(ComparisonLayout(), {3, 2}));

  const std::string html = ReadAll(dir_.Path("out/index.html"));
  EXPECT_THAT(html, HasSubstr("src=\"gallery_Malignant.png\""));
  EXPECT_THAT(html, HasSubstr("src=\"annotation_comparison.png\""));

  // The summary.
  EXPECT_THAT(out_, HasSubstr("15 image(s), 14 labelled (BTXRD dataset.csv), 7 with annotations"));
  EXPECT_THAT(out_, HasSubstr("Images: 15 found, 14 labelled, 13 predicted"));
  EXPECT_THAT(out_, HasSubstr("1 image(s) without a label (not sent): images/extra.png"));
  EXPECT_THAT(out_, HasSubstr("1 label(s) without an image: ghost"));
  EXPECT_THAT(out_, HasSubstr("Accuracy 0.692"));
  EXPECT_THAT(out_, HasSubstr("mean IoU@0.5 0.300"));  // (.6 + .2 + .4 + 0 + .1 + .5 + .3) / 7
  EXPECT_THAT(out_, HasSubstr("Open " + dir_.Path("out/index.html")));
  EXPECT_THAT(err_, HasSubstr("pass 1/2: predictions (no heatmaps) for 14 image(s)"));
}

TEST_F(GalleryCommandTest, ExplanationErrorsAreReportedAndTheRunGoesOn) {
  // b2 is in the Benign TP row and in the report; it fails only when explained.
  script_["images/b2.png"].explain_error = true;
  server_ = std::make_unique<ScriptedServer>(script_);
  ASSERT_EQ(Run(Options()), kExitOk) << err_;
  const Json gallery = ReadJson("gallery.json");
  EXPECT_THAT(Shown(gallery, 1, 0), ElementsAre("b1.png", "b2.png"));  // still picked
  const Json& b2 = gallery["galleries"][1]["rows"][0]["shown"][1];
  EXPECT_THAT(b2["overlay_error"].get<std::string>(), HasSubstr("scripted: cannot decode"));
  ASSERT_EQ(gallery["run"]["errors"].size(), 2u);
  EXPECT_EQ(gallery["run"]["errors"][1]["file"], "images/b2.png");
  EXPECT_EQ(gallery["run"]["errors"][1]["pass"], "2/2");
  const Json report = ReadJson("annotation_report.json");
  EXPECT_EQ(report["images"].size(), 6u);
  ASSERT_EQ(report["left_out"]["failed"].size(), 1u);
  EXPECT_THAT(report["left_out"]["failed"][0].get<std::string>(),
              HasSubstr("images/b2.png: INVALID_ARGUMENT: scripted: cannot decode"));
  // Without b2 (0.2) the Benign ranking is b1 .6, b3 .4, b6 .1, b4 0: median b3.
  const Json& benign = gallery["comparison"]["classes"][0]["rows"];
  EXPECT_EQ(benign[1]["file"], "images/b3.png");
  const cv::Mat image = cv::imread(dir_.Path("out/gallery_Benign.png"));
  EXPECT_EQ(image.size(), GalleryCanvasSize(GalleryLayout(), 2));
}

TEST_F(GalleryCommandTest, UnknownLabelIsAUsageErrorNamingIt) {
  dir_.Write("labels.csv", "image,label\nn1.png,Normal\nb1.png,Tumour\n");
  GalleryOptions options = Options();
  options.labels = dir_.Path("labels.csv");
  EXPECT_EQ(Run(options), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("explainer gallery: --labels: unknown label 'Tumour' "
                              "(labels.csv line 3); the model's classes are Normal, Benign, "
                              "Malignant"));
  EXPECT_TRUE(server_->service().streams().empty());
}

TEST_F(GalleryCommandTest, NoMatchingLabelsSaysHowImagesAreMatched) {
  dir_.Write("labels.csv", "other1.png,Normal\nother2.png,Benign\n");
  GalleryOptions options = Options();
  options.labels = dir_.Path("labels.csv");
  EXPECT_EQ(Run(options), kExitFailed);
  EXPECT_THAT(err_, HasSubstr("has a label in"));
  EXPECT_THAT(err_, HasSubstr("images are matched by file stem"));
}

TEST_F(GalleryCommandTest, WithoutAnnotationsThereIsNoReport) {
  GalleryOptions options = Options();
  options.annotations_dir = "";
  ASSERT_EQ(Run(options), kExitOk) << err_;
  EXPECT_EQ(server_->service().streams().size(), 2u);
  EXPECT_FALSE(fs::exists(dir_.Path("out/annotation_report.json")));
  EXPECT_FALSE(fs::exists(dir_.Path("out/annotation_comparison.png")));
  EXPECT_TRUE(fs::exists(dir_.Path("out/index.html")));
  EXPECT_THAT(out_, HasSubstr("not measured (no --annotations-dir)"));
}

TEST_F(GalleryCommandTest, ServerDownIsExitThree) {
  GalleryOptions options = Options();
  server_.reset();
  options.connection.connect_timeout = absl::Milliseconds(300);
  EXPECT_EQ(Run(options), kExitServer);
  EXPECT_THAT(err_, HasSubstr("cannot reach the explainer server at"));
}

TEST_F(GalleryCommandTest, MethodTheServerDoesNotOfferIsRefusedBeforeAnyPass) {
  GalleryOptions options = Options();
  options.compared_methods = {explainer::v1::CAM_METHOD_GRAD_CAM,
                              explainer::v1::CAM_METHOD_GRAD_CAM_PLUS_PLUS};
  EXPECT_EQ(Run(options), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("explainer gallery: --methods: the server does not offer "
                              "grad-cam++ (it offers grad-cam)"));
  EXPECT_TRUE(server_->service().streams().empty());
}

TEST_F(GalleryCommandTest, OutEqualToInputIsAUsageErrorNamingBothFlags) {
  GalleryOptions options = Options();
  options.out_dir = dir_.Path("in/images/..");
  EXPECT_EQ(Run(options), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("explainer gallery: --out: " + dir_.Path("in/images/..") +
                              " is the same folder as --input-dir " + dir_.Path("in")));
  EXPECT_TRUE(server_->service().streams().empty());
  EXPECT_FALSE(fs::exists(dir_.Path("in/gallery.json")));
}

TEST_F(GalleryCommandTest, NonUtf8NamesFifosAndOutsideLinksDoNotBreakTheRun) {
  // n\xff sorts after n5: item 15 of the walk, hence its request id.
  dir_.Write(std::string("in/images/n\xff.png"), Png(64, 48, 30));
  ASSERT_EQ(::mkfifo(dir_.Path("in/images/p1.png").c_str(), 0600), 0);
  dir_.Write("secret.png", Png(64, 48, 30));
  fs::create_symlink(dir_.Path("secret.png"), dir_.Path("in/images/q1.png"));
  std::string csv = ReadAll(dir_.Path("in/dataset.csv"));
  csv += std::string("n\xff.png,1,0,0,0\np1.png,1,0,0,0\nq1.png,1,1,1,0\n");
  dir_.Write("in/dataset.csv", csv);
  script_["15:images/n\\xff.png"] = ScriptedAnswer{{0.95f, 0.03f, 0.02f}};
  server_ = std::make_unique<ScriptedServer>(script_);

  auto run = std::async(std::launch::async, [&] { return Run(Options()); });
  if (run.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "gallery blocked on the FIFO";
    const int fd = ::open(dir_.Path("in/images/p1.png").c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  ASSERT_EQ(run.get(), kExitOk) << out_ << err_;
  const auto streams = server_->service().streams();
  ASSERT_FALSE(streams.empty());
  EXPECT_EQ(Ids(streams[0]).count("15:images/n\\xff.png"), 1u);
  EXPECT_EQ(Ids(streams[0]).count("images/p1.png"), 0u);  // never read or sent
  EXPECT_EQ(Ids(streams[0]).count("images/q1.png"), 0u);

  const Json gallery = ReadJson("gallery.json");  // parses: the name is escaped
  EXPECT_THAT(Shown(gallery, 0, 0), ElementsAre("n\\xff.png", "n1.png"));
  std::map<std::string, std::string> errors;
  for (const Json& e : gallery["run"]["errors"]) errors[e["file"]] = e["message"];
  EXPECT_EQ(errors["images/p1.png"],
            "not sent: " + dir_.Path("in/images/p1.png") + " is a FIFO, not a regular file");
  EXPECT_THAT(errors["images/q1.png"], HasSubstr("q1.png is a symbolic link to "));
  EXPECT_THAT(errors["images/q1.png"], HasSubstr("outside --input-dir"));
  EXPECT_THAT(ReadAll(dir_.Path("out/index.html")), HasSubstr("is a FIFO, not a regular file"));
  EXPECT_THAT(out_, HasSubstr("Images: 18 found, 17 labelled, 14 predicted"));
}

TEST_F(GalleryCommandTest, OutInsideClassFoldersIsSkippedHoweverItIsSpelled) {
  // Labels from class folders that also hold --out, given with ".." and a
  // trailing '/': a previous run's gallery must not become a class "out".
  dir_.Write("cf/Normal/n1.png", Png(40, 40, 90));
  dir_.Write("cf/Benign/b1.png", Png(40, 40, 120));
  dir_.Write("cf/out/gallery_Normal.png", Png(40, 40, 10));
  script_["Normal/n1.png"] = ScriptedAnswer{{0.9f, 0.05f, 0.05f}};
  script_["Benign/b1.png"] = ScriptedAnswer{{0.1f, 0.8f, 0.1f}};
  server_ = std::make_unique<ScriptedServer>(script_);
  GalleryOptions options = Options();
  options.input_dir = dir_.Path("cf");
  options.labels = dir_.Path("cf");
  options.annotations_dir = "";
  options.out_dir = dir_.Path("cf/new/../out/");  // "new" does not exist yet
  ASSERT_EQ(Run(options), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("Images: 2 found, 2 labelled, 2 predicted"));
}

TEST_F(GalleryCommandTest, MissingLabelsFileIsAUsageError) {
  GalleryOptions options = Options();
  options.labels = dir_.Path("nope.csv");
  EXPECT_EQ(Run(options), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--labels: " + dir_.Path("nope.csv") + " does not exist"));
}

}  // namespace
}  // namespace explainer::client::gallery
