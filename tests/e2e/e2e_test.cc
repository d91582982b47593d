// End-to-end: the real explainer-server (small test bundle) and the real
// `explainer` client binary, over loopback.
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/streaming_explainer.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/e2e/e2e_support.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::testing {
namespace {

using ::explainer::testing::IsOk;

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kTinyBundle[] = "tests/data/engine/tiny_bundle.pt";
constexpr int kModelWidth = 80;  // the tiny bundle's input: 64 x 80 (h x w)
constexpr int kModelHeight = 64;

std::string EncodeImage(const std::string& ext, const cv::Mat& image) {
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes));
  return std::string(bytes.begin(), bytes.end());
}

std::map<std::string, json> ResultsByFile(const std::string& path) {
  std::map<std::string, json> lines;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    json parsed = json::parse(line);
    lines[parsed["file"].get<std::string>()] = parsed;
  }
  return lines;
}

size_t LineCount(const std::string& path) {
  const std::string text = ReadFile(path);
  return std::count(text.begin(), text.end(), '\n');
}

class E2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new std::string(
        (fs::path(::testing::TempDir()) / absl::StrCat("explainer_e2e_", getpid())).string());
    fs::remove_all(*work_);
    fs::create_directories(*work_);
    auto server = ServerUnderTest::Start(SourcePath(kTinyBundle), *work_ + "/server",
                                         {"--max_batch_size=4", "--batch_delay_ms=5"});
    if (server.ok()) {
      server_ = server->release();
    } else {
      start_error_ = new std::string(server.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    fs::remove_all(*work_);
  }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(SourcePath(kTinyBundle)))
        << kTinyBundle << " is missing (tests/data/engine/make_test_bundle.py makes it)";
    ASSERT_NE(server_, nullptr) << "explainer-server did not start: "
                                << (start_error_ ? *start_error_ : "");
    dir_ = (fs::path(*work_) / ::testing::UnitTest::GetInstance()->current_test_info()->name())
               .string();
    fs::create_directories(dir_);
  }

  std::string Dir(const std::string& relative) const {
    return (fs::path(dir_) / relative).string();
  }

  // A good image: returns its size.
  cv::Size WriteGood(const std::string& relative, int width, int height, bool color, int seed) {
    const cv::Rect lesion(width / 3, height / 3, width / 4, height / 5);
    const cv::Mat image = Radiograph(width, height, lesion, color, seed);
    const std::string ext = fs::path(relative).extension().string();
    WriteFile(Dir(relative), EncodeImage(ext == ".jpg" || ext == ".jpeg" ? ".jpg" : ext, image));
    return cv::Size(width, height);
  }

  CommandResult Client(std::vector<std::string> args) {
    args.insert(args.begin(), ClientBinary());
    return RunCommand(args);
  }

  static ServerUnderTest* server_;
  static std::string* work_;
  static std::string* start_error_;
  std::string dir_;
};

ServerUnderTest* E2eTest::server_ = nullptr;
std::string* E2eTest::work_ = nullptr;
std::string* E2eTest::start_error_ = nullptr;

TEST_F(E2eTest, FolderWithBadItemsAnswersEveryGoodOneAndReportsEveryBadOne) {
  std::map<std::string, cv::Size> good;
  good["good/g1.png"] = WriteGood("in/good/g1.png", 320, 400, true, 1);
  good["good/g2.jpg"] = WriteGood("in/good/g2.jpg", 500, 300, false, 2);
  good["good/sub/g3.png"] = WriteGood("in/good/sub/g3.png", 256, 256, false, 3);
  good["other/g1.png"] = WriteGood("in/other/g1.png", 300, 240, true, 4);  // same stem
  good["lesion/ann_ok.bmp"] = WriteGood("in/lesion/ann_ok.bmp", 400, 360, false, 5);
  good["lesion/ann_bad.png"] = WriteGood("in/lesion/ann_bad.png", 360, 300, false, 6);
  const cv::Rect lesion_ok(400 / 3, 360 / 3, 400 / 4, 360 / 5);
  WriteFile(Dir("ann/ann_ok.json"), LabelMeFor(lesion_ok, 400, 360, "ann_ok.bmp"));
  const cv::Rect lesion_bad(360 / 3, 300 / 3, 360 / 4, 300 / 5);
  WriteFile(Dir("ann/ann_bad.json"),
            LabelMeFor(lesion_bad, 360, 300, "ann_bad.png", /*extra_shape_type=*/"hexagon"));
  // Bad items.
  const std::string jpeg = EncodeImage(".jpg", Radiograph(300, 300, {100, 100, 50, 50}, false, 7));
  WriteFile(Dir("in/bad/truncated.jpg"), jpeg.substr(0, jpeg.size() / 2));
  WriteFile(Dir("in/bad/empty.png"), "");
  WriteFile(Dir("in/bad/text.png"), "this is a text file, not a PNG\n");
  fs::create_symlink(Dir("in/bad/nowhere.png"), Dir("in/bad/dangling.png"));
  WriteFile(Dir("in/readme.txt"), "not an image: skipped");
  const size_t image_files = good.size() + 4;

  const CommandResult run = Client({"infer", "--server", server_->address(), "--input-dir",
                                    Dir("in"), "--annotations-dir", Dir("ann"), "--out", Dir("out"),
                                    "--heatmap", "--save-cam", "--window=4"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  const std::string results_path = Dir("out/results.jsonl");
  EXPECT_EQ(LineCount(results_path), image_files) << "one line per image file, none lost";
  std::map<std::string, json> results = ResultsByFile(results_path);
  ASSERT_EQ(results.size(), image_files);

  for (const auto& [file, size] : good) {
    if (file == "lesion/ann_bad.png") continue;
    const json& line = results.at(file);
    ASSERT_TRUE(line["error"].is_null()) << file << ": " << line.dump();
    EXPECT_THAT(std::vector<std::string>({"Normal", "Benign", "Malignant"}),
                ::testing::Contains(line["predicted_class"].get<std::string>()));
    double sum = 0;
    for (const auto& [name, p] : line["probabilities"].items()) sum += p.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-5) << file;
    EXPECT_EQ(line["original_size"], json::array({size.width, size.height})) << file;
    // The overlay is at the original resolution, the heatmap at the model's.
    const cv::Mat overlay = cv::imread(Dir("out/" + line["outputs"]["overlay"].get<std::string>()));
    ASSERT_FALSE(overlay.empty()) << file;
    EXPECT_EQ(overlay.size(), size) << file;
    const cv::Mat heatmap = cv::imread(Dir("out/" + line["outputs"]["heatmap"].get<std::string>()),
                                       cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(heatmap.empty()) << file;
    EXPECT_EQ(heatmap.size(), cv::Size(kModelWidth, kModelHeight)) << file;
    const std::string npy = ReadFile(Dir("out/" + line["outputs"]["cam"].get<std::string>()));
    EXPECT_THAT(npy, HasSubstr("'descr': '<f4'")) << file;
    EXPECT_THAT(npy, HasSubstr("'shape': (64, 80)")) << file;
  }
  // Equal stems in different folders do not collide.
  EXPECT_TRUE(fs::exists(Dir("out/good/g1_overlay.png")));
  EXPECT_TRUE(fs::exists(Dir("out/other/g1_overlay.png")));

  const json& annotated = results.at("lesion/ann_ok.bmp");
  ASSERT_FALSE(annotated["annotation"].is_null()) << annotated.dump();
  for (const char* key : {"0.3", "0.5", "0.7"}) {
    const double iou = annotated["annotation"]["iou"][key].get<double>();
    EXPECT_GE(iou, 0.0);
    EXPECT_LE(iou, 1.0);
  }
  EXPECT_GT(annotated["annotation"]["mask_area_fraction"].get<double>(), 0.0);
  EXPECT_EQ(annotated["annotation"]["shape_count"], 2);
  EXPECT_TRUE(results.at("good/g1.png")["annotation"].is_null());

  auto expect_error = [&](const std::string& file, const std::string& source,
                          const std::vector<std::string>& parts) {
    const json& line = results.at(file);
    ASSERT_FALSE(line["error"].is_null()) << file << " should have failed";
    EXPECT_EQ(line["error"]["source"], source) << file;
    EXPECT_TRUE(line["predicted_class"].is_null()) << file;
    for (const std::string& part : parts) {
      EXPECT_THAT(line["error"]["message"].get<std::string>(), HasSubstr(part)) << file;
    }
  };
  expect_error("lesion/ann_bad.png", "server", {"unknown shape type", "hexagon"});
  expect_error("bad/truncated.jpg", "server", {"truncated or corrupt JPEG"});
  expect_error("bad/empty.png", "server", {"empty"});
  expect_error("bad/text.png", "server", {"not a supported image"});
  expect_error("bad/dangling.png", "client", {"cannot read", "dangling.png", "No such file"});
  EXPECT_EQ(results.at("lesion/ann_bad.png")["error"]["code"], 3);
  EXPECT_EQ(results.at("bad/dangling.png")["error"]["status"], "NOT_FOUND");

  // 6 good images (one with a bad annotation) + 4 bad files; the dangling link is
  // never sent.
  EXPECT_THAT(run.out, HasSubstr("images:     10 (9 answered by the server)"));
  EXPECT_THAT(run.out, HasSubstr("succeeded:  5"));
  EXPECT_THAT(run.out, HasSubstr("errors:     5 (4 from the server, 1 found by the client)"));
  EXPECT_THAT(run.out, HasSubstr("annotated:  1 images; mean IoU @0.3"));
  EXPECT_THAT(run.out, HasSubstr("results:    " + results_path));
  EXPECT_EQ(run.err, "") << "no progress bar when stderr is not a terminal";

  // The server is still healthy and answers the next request.
  ASSERT_TRUE(server_->Running()) << server_->Log();
  EXPECT_EQ(*HealthStatus(server_->Channel()), 1);
  const CommandResult again = Client({"infer", "--server", server_->address(), "--image",
                                      Dir("in/good/g1.png"), "--out", Dir("out2")});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(fs::exists(Dir("out2/g1_overlay.png")));
}

// The same request through ExplainImage and through an Explain stream (where it
// shares batches with other images) gives the same numbers.
TEST_F(E2eTest, UnaryAndStreamingAgree) {
  std::vector<v1::ExplainRequest> requests;
  for (int i = 0; i < 6; ++i) {
    const int w = 200 + 40 * i, h = 260 - 20 * i;
    const cv::Rect lesion(w / 3, h / 3, w / 4, h / 5);
    v1::ExplainRequest request;
    request.set_request_id(absl::StrCat("item-", i));
    request.set_image(
        EncodeImage(i % 2 ? ".jpg" : ".png", Radiograph(w, h, lesion, i % 3 == 0, 10 + i)));
    request.set_annotation_json(LabelMeFor(lesion, w, h, "x.png"));
    request.mutable_options()->set_return_raw_heatmap(true);
    requests.push_back(request);
  }
  auto stub = v1::Explainer::NewStub(server_->Channel());
  std::vector<v1::ExplainResponse> unary(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    grpc::ClientContext context;
    const grpc::Status status = stub->ExplainImage(&context, requests[i], &unary[i]);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(unary[i].has_result()) << unary[i].DebugString().substr(0, 500);
  }
  std::vector<v1::ExplainResponse> streamed(requests.size());
  client::StreamingExplainer explainer(stub.get(), client::StreamOptions{6, absl::Seconds(60)});
  const absl::Status status = explainer.Run(
      requests.size(), [&](size_t i) { return absl::StatusOr<v1::ExplainRequest>(requests[i]); },
      [&](client::StreamAnswer answer) {
        ASSERT_TRUE(answer.response.ok()) << answer.response.status();
        streamed[answer.index] = *answer.response;
      });
  ASSERT_TRUE(status.ok()) << status;

  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("item ", i));
    ASSERT_TRUE(streamed[i].has_result()) << streamed[i].DebugString().substr(0, 500);
    const v1::ExplainResult& a = unary[i].result();
    const v1::ExplainResult& b = streamed[i].result();
    EXPECT_EQ(a.predicted_index(), b.predicted_index());
    ASSERT_EQ(a.probabilities_size(), b.probabilities_size());
    for (int c = 0; c < a.probabilities_size(); ++c) {
      EXPECT_NEAR(a.probabilities(c).probability(), b.probabilities(c).probability(), 1e-6);
    }
    ASSERT_EQ(a.heatmap().values_size(), kModelWidth * kModelHeight);
    ASSERT_EQ(b.heatmap().values_size(), a.heatmap().values_size());
    float max_diff = 0;
    for (int k = 0; k < a.heatmap().values_size(); ++k) {
      max_diff = std::max(max_diff, std::abs(a.heatmap().values(k) - b.heatmap().values(k)));
    }
    EXPECT_LE(max_diff, 1e-5f);
    ASSERT_EQ(a.annotation().iou_size(), b.annotation().iou_size());
    for (int t = 0; t < a.annotation().iou_size(); ++t) {
      EXPECT_NEAR(a.annotation().iou(t).iou(), b.annotation().iou(t).iou(), 1e-6);
    }
  }
}

// Two clients stream the same folder at once: both complete, and both agree with
// the server's unary answers.
TEST_F(E2eTest, TwoClientsStreamingAtOnceBothGetCompleteCorrectResults) {
  constexpr int kImages = 10;
  for (int i = 0; i < kImages; ++i) {
    WriteGood(absl::StrCat("in/img", i, i % 2 ? ".jpg" : ".png"), 180 + 17 * i, 220 - 9 * i,
              i % 3 == 0, 100 + i);
  }
  std::vector<std::unique_ptr<ChildProcess>> clients;
  for (const char* name : {"a", "b"}) {
    auto process =
        ChildProcess::Start({ClientBinary(), "infer", "--server", server_->address(), "--input-dir",
                             Dir("in"), "--out", Dir(std::string("out_") + name), "--window=3"},
                            Dir(std::string(name) + ".out"), Dir(std::string(name) + ".err"));
    ASSERT_THAT(process, IsOk());
    clients.push_back(*std::move(process));
  }
  for (int c = 0; c < 2; ++c) {
    const absl::Time deadline = absl::Now() + absl::Minutes(2);
    while (clients[c]->Running() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(clients[c]->Stop(), 0) << ReadFile(Dir(c == 0 ? "a.err" : "b.err"));
  }
  auto stub = v1::Explainer::NewStub(server_->Channel());
  for (const char* name : {"a", "b"}) {
    SCOPED_TRACE(std::string("client ") + name);
    const auto results = ResultsByFile(Dir(std::string("out_") + name + "/results.jsonl"));
    ASSERT_EQ(results.size(), static_cast<size_t>(kImages));
    for (const auto& [file, line] : results) {
      ASSERT_TRUE(line["error"].is_null()) << file << ": " << line.dump();
      v1::ExplainRequest request;
      request.set_image(ReadFile(Dir("in/" + file)));
      request.mutable_options()->set_skip_explanation(true);
      v1::ExplainResponse expected;
      grpc::ClientContext context;
      ASSERT_TRUE(stub->ExplainImage(&context, request, &expected).ok());
      EXPECT_EQ(line["predicted_index"], expected.result().predicted_index()) << file;
      for (const auto& p : expected.result().probabilities()) {
        EXPECT_NEAR(line["probabilities"][p.name()].get<double>(), p.probability(), 1e-6) << file;
      }
    }
  }
}

TEST_F(E2eTest, EveryItemFailingExitsOne) {
  WriteFile(Dir("in/a.png"), "not a png");
  WriteFile(Dir("in/b.jpg"), "");
  const CommandResult run = Client(
      {"infer", "--server", server_->address(), "--input-dir", Dir("in"), "--out", Dir("out")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("explainer infer: every image failed (2 error(s)); see " +
                                 Dir("out/results.jsonl")));
  EXPECT_EQ(LineCount(Dir("out/results.jsonl")), 2u);
}

// The server dies in the middle of a stream: the client says so, exits 3, and
// still accounts for every image (answered, or "no answer" / "not sent").
TEST_F(E2eTest, ServerDyingMidStreamIsReportedAndNothingIsLost) {
  auto doomed = ServerUnderTest::Start(SourcePath(kTinyBundle), Dir("server"),
                                       {"--max_batch_size=1", "--workers=1"});
  ASSERT_THAT(doomed, IsOk());
  // Large images: each costs the server a full-resolution decode and overlay, so
  // the run lasts seconds and the kill lands in its middle.
  constexpr int kImages = 16;
  for (int i = 0; i < kImages; ++i) {
    WriteGood(absl::StrCat("in/big", i, ".jpg"), 1400, 1400, false, 200 + i);
  }
  auto client = ChildProcess::Start({ClientBinary(), "infer", "--server", (*doomed)->address(),
                                     "--input-dir", Dir("in"), "--out", Dir("out"), "--window=2"},
                                    Dir("client.out"), Dir("client.err"));
  ASSERT_THAT(client, IsOk());
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  while (LineCount(Dir("out/results.jsonl")) == 0 && (*client)->Running() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  (*doomed)->Kill();
  while ((*client)->Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  const std::string err = ReadFile(Dir("client.err"));
  EXPECT_EQ((*client)->Stop(), 3) << err;
  EXPECT_THAT(err, HasSubstr("the explainer server at " + (*doomed)->address() +
                             " is unavailable: it is down, restarting or unreachable"));
  EXPECT_THAT(err, HasSubstr("image(s) were answered; see " + Dir("out/results.jsonl")));

  const auto results = ResultsByFile(Dir("out/results.jsonl"));
  ASSERT_EQ(results.size(), static_cast<size_t>(kImages));
  int answered = 0, lost = 0;
  for (const auto& [file, line] : results) {
    if (line["error"].is_null()) {
      ++answered;
      continue;
    }
    ++lost;
    EXPECT_EQ(line["error"]["source"], "client") << file;
    EXPECT_EQ(line["error"]["status"], "UNAVAILABLE") << file;
    const std::string message = line["error"]["message"].get<std::string>();
    EXPECT_TRUE(message.rfind("no answer: ", 0) == 0 || message.rfind("not sent: ", 0) == 0)
        << file << ": " << message;
  }
  EXPECT_GE(answered, 1);
  EXPECT_GE(lost, 1);
}

// A stream that never half-closes holds the graceful shutdown for its 5 s grace; a
// second SIGINT meanwhile ends the server at once, exit 2, naming what was left.
// (Before the hard deadline existed, the second signal was ignored: exit 0.)
TEST_F(E2eTest, SecondSigintDuringShutdownExitsAtOnceWithTheUnansweredCalls) {
  auto server = ServerUnderTest::Start(SourcePath(kTinyBundle), Dir("server"));
  ASSERT_THAT(server, IsOk());
  auto stub = v1::Explainer::NewStub((*server)->Channel());
  grpc::ClientContext context;
  auto stream = stub->Explain(&context);
  v1::ExplainRequest request;
  request.set_request_id("open");
  request.set_image(EncodeImage(".png", cv::Mat(64, 80, CV_8UC3, cv::Scalar(90, 90, 90))));
  ASSERT_TRUE(stream->Write(request));
  v1::ExplainResponse response;
  ASSERT_TRUE(stream->Read(&response));  // the stream is open and served

  (*server)->Signal(SIGINT);
  const absl::Time give_up = absl::Now() + absl::Minutes(1);  // hang guard only
  while ((*server)->Log().find("SIGINT, shutting down") == std::string::npos &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  (*server)->Signal(SIGINT);
  EXPECT_EQ((*server)->Wait(absl::Minutes(1)), 2) << (*server)->Log();
  EXPECT_THAT((*server)->Log(),
              HasSubstr("explainer-server: second SIGINT during shutdown; exiting now (exit "
                        "2) with 1 Explain stream and 0 ExplainImage calls unanswered"));
  context.TryCancel();
}

TEST_F(E2eTest, InfoPrintsTheModel) {
  const CommandResult run = Client({"info", "--server", server_->address()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("server:        " + server_->address()));
  EXPECT_THAT(run.out, HasSubstr("classes:       0 Normal, 1 Benign, 2 Malignant\n"));
  EXPECT_THAT(run.out, HasSubstr("input size:    80 x 64 (width x height), RGB\n"));
  EXPECT_THAT(run.out, HasSubstr("device:        cpu\n"));
  EXPECT_THAT(run.out, HasSubstr("methods:       grad-cam, hires-cam, grad-cam++, xgrad-cam, "
                                 "layer-cam, eigen-cam, eigen-grad-cam, grad-cam-elementwise, "
                                 "score-cam, ablation-cam\n"));
  EXPECT_THAT(run.out, HasSubstr("  score-cam              1 + K full forwards (K masked inputs, "
                                 "score_cam_batch_size per pass) (ScoreCAM; eigen_smooth)\n"));
  EXPECT_THAT(run.out, HasSubstr("limits:        max batch size 4,"));
  // Name and version as the server announced them.
  const std::string model_line = run.out.substr(run.out.find("model:"));
  const std::string name_version = model_line.substr(15, model_line.find('\n') - 15);
  const size_t space = name_version.rfind(' ');
  EXPECT_THAT(server_->startup_line(), HasSubstr("\"" + name_version.substr(0, space) +
                                                 "\" version " + name_version.substr(space + 1)));
}

// No server needed: the suite's server is not started for this one.
TEST(E2eNoServerTest, DeadAddressFailsWithAClearMessage) {
  const std::string dir =
      (fs::path(::testing::TempDir()) / absl::StrCat("explainer_e2e_dead_", getpid())).string();
  WriteFile(dir + "/a.png", EncodeImage(".png", Radiograph(100, 100, {30, 30, 20, 20}, false, 1)));
  const std::string dead = absl::StrCat("127.0.0.1:", UnusedPort());
  const CommandResult infer =
      RunCommand({ClientBinary(), "infer", "--server", dead, "--image", dir + "/a.png", "--out",
                  dir + "/out", "--connect-timeout=1s"});
  EXPECT_EQ(infer.exit_code, 3);
  EXPECT_THAT(infer.err, HasSubstr("cannot reach the explainer server at " + dead));
  EXPECT_THAT(infer.err, HasSubstr("Is explainer-server running there? Start it with: "
                                   "explainer-server --address=" +
                                   dead));
  const CommandResult info =
      RunCommand({ClientBinary(), "info", "--server=" + dead, "--connect-timeout=1s"});
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_THAT(info.err, HasSubstr("explainer info: cannot reach the explainer server at " + dead));
  fs::remove_all(dir);
}

// The CAM family over the wire: method, smoothing and faithfulness reach the engine and
// come back in results.jsonl; an option the method does not take is a per-item error.
TEST_F(E2eTest, CamMethodsSmoothingAndFaithfulnessOverTheWire) {
  WriteGood("in/a.png", 180, 220, true, 7);
  WriteGood("in/b.jpg", 200, 160, false, 8);
  const CommandResult run =
      Client({"infer", "--server", server_->address(), "--input-dir", Dir("in"), "--out",
              Dir("out"), "--method", "grad-cam++", "--aug-smooth", "--faithfulness",
              "cam-multiply,road"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto results = ResultsByFile(Dir("out/results.jsonl"));
  ASSERT_EQ(results.size(), 2u);
  for (const auto& [file, line] : results) {
    ASSERT_TRUE(line["error"].is_null()) << file << ": " << line.dump();
    ASSERT_TRUE(line.contains("faithfulness")) << line.dump();
    const json& f = line["faithfulness"];
    EXPECT_TRUE(f["cam_multiply_change"].is_number()) << f.dump();
    EXPECT_EQ(f["road"]["percentiles"].size(), 9u) << f.dump();
    EXPECT_NEAR(f["road"]["combined"].get<double>(),
                (f["road"]["lerf"].get<double>() - f["road"]["morf"].get<double>()) / 2, 1e-6);
  }
  // ROAD at chosen percentiles with a chosen seed.
  const CommandResult road =
      Client({"infer", "--server", server_->address(), "--image", Dir("in/a.png"), "--out",
              Dir("out_road"), "--faithfulness", "road", "--road-percentiles", "25,75",
              "--road-seed", "3"});
  ASSERT_EQ(road.exit_code, 0) << road.err;
  const json road_line = ResultsByFile(Dir("out_road/results.jsonl")).begin()->second;
  EXPECT_EQ(road_line["faithfulness"]["road"]["percentiles"], json::array({25.0, 75.0}))
      << road_line.dump();
  const CommandResult bad =
      Client({"infer", "--server", server_->address(), "--image", Dir("in/a.png"), "--out",
              Dir("out_bad"), "--method", "eigen-cam", "--eigen-smooth"});
  EXPECT_EQ(bad.exit_code, 1);
  const auto errors = ResultsByFile(Dir("out_bad/results.jsonl"));
  ASSERT_EQ(errors.size(), 1u);
  const json& error = errors.begin()->second["error"];
  EXPECT_EQ(error["status"], "INVALID_ARGUMENT") << error.dump();
  EXPECT_THAT(error["message"].get<std::string>(),
              HasSubstr("eigen_smooth does not apply to eigen-cam"));
}

TEST_F(E2eTest, BadCommandLinesNameTheProblem) {
  WriteGood("in/a.png", 100, 100, false, 1);
  const std::string server = "--server=" + server_->address();

  CommandResult run = Client({"infer", server, "--input-dir", Dir("in")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("explainer infer: --out: missing"));

  run = Client({"infer", server, "--input-dir", Dir("in"), "--out", Dir("o"), "--window=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--window: must be in [1, 1024], got 0"));

  run =
      Client({"infer", server, "--input-dir", Dir("in"), "--out", Dir("o"), "--thresholds=0.3,2"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--thresholds: 2 is outside [0, 1]"));

  run = Client({"infer", server, "--input-dir", Dir("in"), "--out", Dir("o"),
                "--target-class=Osteosarcoma"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--target-class: the model has no class 'Osteosarcoma' "
                                 "(classes: Normal, Benign, Malignant)"));

  run = Client({"infer", server, "--input-dir", Dir("nope"), "--out", Dir("o")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--input-dir: " + Dir("nope") + " does not exist"));

  run = Client({"infer", "--no-such-flag=1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("explainer: --no-such-flag: unknown flag"));

  run = Client({"infer", server, "--window", "many"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("explainer: --window: bad value 'many'"));

  run = Client({"frobnicate"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err,
              HasSubstr("unknown subcommand 'frobnicate' (one of: infer, info, gallery, bench, help)"));

  run = Client({});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("missing subcommand"));

  for (std::vector<std::string> help :
       {std::vector<std::string>{"--help"}, std::vector<std::string>{"help"},
        std::vector<std::string>{"infer", "--help"}}) {
    run = Client(help);
    EXPECT_EQ(run.exit_code, 0) << help[0];
    EXPECT_THAT(run.out, HasSubstr("explainer infer --server ADDR")) << help[0];
    EXPECT_THAT(run.out, HasSubstr("--input-dir DIR")) << help[0];
  }
}

}  // namespace
}  // namespace explainer::testing
