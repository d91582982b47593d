// In-process gRPC tests of the server with the REAL engine on the committed tiny test
// bundle (tests/data/engine/tiny_bundle.pt, 64x80 input): start-up, health, model
// info, a stream of good and bad items, unary == streaming, and whole wire results
// against Python goldens (tests/server/data/make_server_goldens.py).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "service/engine/engine.h"
#include "service/server/explainer_server.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::HealthStatus;
using ::explainer::server::testing::LabelMeJson;
using ::explainer::server::testing::PngBytes;
using ::explainer::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::StartsWith;

constexpr int kServing = 1;

// The device the engine tests run on: cpu, or EXPLAINER_TEST_DEVICE (e.g. cuda on the
// GPU machine). The goldens come from CPU PyTorch; on a GPU (cuDNN kernels) they are
// compared with wider, GPU-sized tolerances.
std::string TestDevice() {
  const char* device = std::getenv("EXPLAINER_TEST_DEVICE");
  return device != nullptr && *device != '\0' ? device : "cpu";
}
bool OnCpu() { return TestDevice() == "cpu"; }

std::string TinyBundle() {
  return explainer::testing::SourcePath("tests/data/engine/tiny_bundle.pt");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

std::string ServerData(const std::string& name) {
  return explainer::testing::SourcePath("tests/server/data/" + name);
}

cv::Mat DecodePng(const std::string& bytes) {
  return cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()),
                      cv::IMREAD_UNCHANGED);
}

// A noisy RGB image (the tiny model's predictions depend on content).
std::string NoisePng(int width, int height, int seed) {
  cv::Mat image(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, 0, 256);
  std::vector<uchar> bytes;
  cv::imencode(".png", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

class ExplainerServerEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.address = "127.0.0.1:0";
    options.model_path = TinyBundle();
    options.device = TestDevice();
    options.intra_op_threads = 1;
    options.workers = 2;
    options.max_batch_size = 4;
    options.batch_delay = absl::Milliseconds(2);
    absl::StatusOr<std::unique_ptr<ExplainerServer>> server =
        ExplainerServer::Start(options, engine::LoadModel);
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Explainer::NewStub(channel_);
  }

  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  }

  static ExplainerServer* server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Explainer::Stub> stub_;
};

ExplainerServer* ExplainerServerEngineTest::server_ = nullptr;

TEST_F(ExplainerServerEngineTest, StartsServingTheBundle) {
  EXPECT_EQ(server_->StartupLine(),
            absl::StrCat("explainer-server: serving model \"tiny_efficientnet-test\" "
                         "version 1 (classes: Normal, Benign, Malignant) on ",
                         server_->device(), " at 127.0.0.1:", server_->port()));
  EXPECT_THAT(server_->device(), StartsWith(TestDevice()));
  EXPECT_EQ(HealthStatus(channel_, "").value_or(-1), kServing);
  EXPECT_EQ(HealthStatus(channel_, "explainer.v1.Explainer").value_or(-1), kServing);

  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.name(), "tiny_efficientnet-test");
  EXPECT_EQ(info.version(), "1");
  EXPECT_THAT(info.class_names(), ElementsAre("Normal", "Benign", "Malignant"));
  EXPECT_EQ(info.input_width(), 80);
  EXPECT_EQ(info.input_height(), 64);
  EXPECT_EQ(info.device(), server_->device());
  EXPECT_EQ(info.max_batch_size(), 4);
  ASSERT_EQ(info.methods_size(), 10);
  EXPECT_EQ(info.methods(0), v1::CAM_METHOD_GRAD_CAM);
  EXPECT_EQ(info.methods(9), v1::CAM_METHOD_ABLATION_CAM);
  ASSERT_EQ(info.method_info_size(), 10);
  EXPECT_EQ(info.method_info(8).name(), "score-cam");
  EXPECT_EQ(info.method_info(8).reference(), "ScoreCAM");
}

TEST_F(ExplainerServerEngineTest, StreamOfGoodAndBadItems) {
  std::vector<v1::ExplainRequest> requests;
  for (int i = 0; i < 10; ++i) {
    v1::ExplainRequest request;
    request.set_request_id(absl::StrCat("good-", i));
    request.set_image(NoisePng(60 + 7 * i, 50 + 3 * i, i));
    request.mutable_options()->set_return_raw_heatmap(true);
    request.mutable_options()->set_return_overlay_png(i % 2 == 0);
    request.mutable_options()->set_skip_explanation(i == 9);
    if (i == 3) {
      request.set_annotation_json(LabelMeJson(81, 59, {{"tumor", 10, 10, 40, 30}}));
    }
    requests.push_back(request);
  }
  v1::ExplainRequest corrupt;
  corrupt.set_request_id("corrupt");
  corrupt.set_image(NoisePng(40, 40, 1).substr(0, 100));
  requests.push_back(corrupt);
  v1::ExplainRequest empty;
  empty.set_request_id("empty");
  requests.push_back(empty);
  v1::ExplainRequest bad_annotation;
  bad_annotation.set_request_id("bad-annotation");
  bad_annotation.set_image(PngBytes(40, 30));
  bad_annotation.set_annotation_json(LabelMeJson(40, 30, {}, "hexagon"));
  requests.push_back(bad_annotation);
  v1::ExplainRequest bad_class;
  bad_class.set_request_id("bad-class");
  bad_class.set_image(PngBytes(40, 30));
  bad_class.mutable_options()->set_target_class(3);
  requests.push_back(bad_class);

  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  std::map<std::string, v1::ExplainResponse> by_id;
  int answers = 0;
  std::thread reader([&] {
    v1::ExplainResponse response;
    while (stream->Read(&response)) {
      by_id[response.request_id()] = response;
      ++answers;
    }
  });
  for (const v1::ExplainRequest& request : requests) ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  reader.join();
  ASSERT_TRUE(stream->Finish().ok());

  EXPECT_EQ(answers, static_cast<int>(requests.size()));  // none twice, none lost
  ASSERT_EQ(by_id.size(), requests.size());
  for (int i = 0; i < 10; ++i) {
    const v1::ExplainResponse& response = by_id[absl::StrCat("good-", i)];
    ASSERT_TRUE(response.has_result()) << response.DebugString();
    const v1::ExplainResult& result = response.result();
    EXPECT_EQ(result.original_width(), 60 + 7 * i);
    EXPECT_EQ(result.original_height(), 50 + 3 * i);
    ASSERT_EQ(result.probabilities_size(), 3);
    float sum = 0;
    float best = -1;
    for (const v1::ClassProbability& p : result.probabilities()) {
      sum += p.probability();
      best = std::max(best, p.probability());
    }
    EXPECT_NEAR(sum, 1.0f, 1e-5);
    EXPECT_FLOAT_EQ(result.probabilities(result.predicted_index()).probability(), best);
    EXPECT_GE(result.timings().batch_size(), 1);
    EXPECT_LE(result.timings().batch_size(), 4);
    if (i == 9) {  // prediction only
      EXPECT_EQ(result.explained_index(), -1);
      EXPECT_FALSE(result.has_heatmap());
      continue;
    }
    EXPECT_EQ(result.explained_index(), result.predicted_index());
    EXPECT_EQ(result.heatmap().width(), 80);
    EXPECT_EQ(result.heatmap().height(), 64);
    ASSERT_EQ(result.heatmap().values_size(), 80 * 64);
    float max = 0;
    for (float v : result.heatmap().values()) {
      ASSERT_GE(v, 0.0f);
      ASSERT_LE(v, 1.0f);
      max = std::max(max, v);
    }
    EXPECT_GT(max, 0.99f);  // min-max scaled
    if (i % 2 == 0) {
      const std::string& png = result.overlay_png();
      cv::Mat overlay =
          cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_UNCHANGED);
      EXPECT_EQ(overlay.size(), cv::Size(60 + 7 * i, 50 + 3 * i));
    }
  }
  EXPECT_EQ(by_id["good-3"].result().annotation().iou_size(), 3);
  EXPECT_EQ(by_id["good-3"].result().annotation().shape_count(), 1);
  EXPECT_THAT(by_id["corrupt"].error().message(),
              StartsWith("image: truncated or corrupt"));
  EXPECT_EQ(by_id["empty"].error().message(),
            "image: empty (the request carried no image bytes)");
  EXPECT_THAT(by_id["bad-annotation"].error().message(),
              StartsWith("annotation_json: shapes[0].shape_type: unknown shape type"));
  EXPECT_EQ(by_id["bad-class"].error().code(), 3);
  EXPECT_THAT(by_id["bad-class"].error().message(),
              StartsWith("options.target_class: 3 is out of range; the model has 3 "
                         "classes (0 Normal, 1 Benign, 2 Malignant)"));
  EXPECT_EQ(HealthStatus(channel_, "").value_or(-1), kServing);
}

TEST_F(ExplainerServerEngineTest, UnaryAndStreamingAgree) {
  v1::ExplainRequest request;
  request.set_request_id("same");
  request.set_image(NoisePng(97, 71, 42));
  request.set_annotation_json(LabelMeJson(97, 71, {{"tumor", 20, 10, 60, 50}}));
  request.mutable_options()->set_return_raw_heatmap(true);
  request.mutable_options()->set_return_heatmap_png(true);
  request.mutable_options()->set_return_overlay_png(true);

  grpc::ClientContext unary_context;
  SetDeadline(&unary_context);
  v1::ExplainResponse unary;
  ASSERT_TRUE(stub_->ExplainImage(&unary_context, request, &unary).ok());

  grpc::ClientContext stream_context;
  SetDeadline(&stream_context);
  auto stream = stub_->Explain(&stream_context);
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  v1::ExplainResponse streamed;
  ASSERT_TRUE(stream->Read(&streamed));
  ASSERT_TRUE(stream->Finish().ok());

  ASSERT_TRUE(unary.has_result()) << unary.DebugString();
  ASSERT_TRUE(streamed.has_result()) << streamed.DebugString();
  // Both ran alone in a batch (sequential calls), so the engine saw the same input.
  v1::ExplainResult a = unary.result();
  v1::ExplainResult b = streamed.result();
  a.clear_timings();
  b.clear_timings();
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
}

// The whole wire result, end to end through decode, preprocessing, engine, heatmap
// encodings, overlay and report, against the independent Python computation.
TEST_F(ExplainerServerEngineTest, ResultsMatchThePythonGoldens) {
  const nlohmann::json golden =
      nlohmann::json::parse(ReadFile(ServerData("golden.json")), nullptr, false);
  ASSERT_FALSE(golden.is_discarded()) << "cannot read tests/server/data/golden.json";
  ASSERT_EQ(golden["cases"].size(), 2u);
  const int width = golden["input_width"].get<int>();
  const int height = golden["input_height"].get<int>();
  for (const nlohmann::json& c : golden["cases"]) {
    SCOPED_TRACE(c["image"].get<std::string>());
    v1::ExplainRequest request;
    request.set_request_id(c["image"].get<std::string>());
    request.set_image(ReadFile(ServerData(c["image"].get<std::string>())));
    request.set_annotation_json(ReadFile(ServerData(c["annotation"].get<std::string>())));
    v1::ExplainOptions* options = request.mutable_options();
    options->set_return_raw_heatmap(true);
    options->set_return_heatmap_png(true);
    options->set_return_overlay_png(true);
    if (!c["target_class"].is_null())
      options->set_target_class(c["target_class"].get<int>());
    if (!c["overlay_image_weight"].is_null()) {
      options->set_overlay_image_weight(c["overlay_image_weight"].get<float>());
    }
    if (!c["iou_thresholds"].is_null()) {
      for (float t : c["iou_thresholds"]) options->add_iou_thresholds(t);
    }

    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ExplainResponse response;
    ASSERT_TRUE(stub_->ExplainImage(&context, request, &response).ok());
    ASSERT_TRUE(response.has_result()) << response.DebugString();
    const v1::ExplainResult& result = response.result();

    EXPECT_EQ(result.original_width(), c["original_width"].get<int>());
    EXPECT_EQ(result.original_height(), c["original_height"].get<int>());
    EXPECT_EQ(result.predicted_index(), c["predicted_index"].get<int>());
    EXPECT_EQ(result.explained_index(), c["explained_index"].get<int>());
    const std::vector<float> probabilities = c["probabilities"];
    ASSERT_EQ(result.probabilities_size(), 3);
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(result.probabilities(k).probability(), probabilities[k],
                  OnCpu() ? 1e-5 : 1e-3)
          << k;
    }

    // Raw heatmap and its 8-bit PNG.
    std::vector<float> cam(width * height);
    const std::string cam_bytes = ReadFile(ServerData(c["cam"].get<std::string>()));
    ASSERT_EQ(cam_bytes.size(), cam.size() * sizeof(float));
    std::copy(cam_bytes.begin(), cam_bytes.end(), reinterpret_cast<char*>(cam.data()));
    ASSERT_EQ(result.heatmap().width(), width);
    ASSERT_EQ(result.heatmap().height(), height);
    ASSERT_EQ(result.heatmap().values_size(), width * height);
    float cam_diff = 0;
    for (int i = 0; i < width * height; ++i) {
      cam_diff = std::max(cam_diff, std::abs(result.heatmap().values(i) - cam[i]));
    }
    EXPECT_LE(cam_diff, OnCpu() ? 1e-4 : 1e-2);
    const cv::Mat gray = DecodePng(result.heatmap_png());
    ASSERT_EQ(gray.type(), CV_8UC1);
    ASSERT_EQ(gray.size(), cv::Size(width, height));
    int gray_diff = 0;
    for (int i = 0; i < width * height; ++i) {
      const int expected = static_cast<int>(255.0f * cam[i]);  // np.uint8 truncates
      gray_diff = std::max(gray_diff, std::abs(gray.data[i] - expected));
    }
    EXPECT_LE(gray_diff, OnCpu() ? 1 : 3);

    // Overlay at the original resolution (PNG is RGB; OpenCV decodes to BGR).
    cv::Mat overlay = DecodePng(result.overlay_png());
    cv::Mat expected_overlay =
        cv::imread(ServerData(c["overlay"].get<std::string>()), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(overlay.size(), expected_overlay.size());
    ASSERT_EQ(overlay.type(), expected_overlay.type());
    cv::Mat diff;
    cv::absdiff(overlay, expected_overlay, diff);
    double max_diff = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &max_diff);
    // A CAM value a hair from a colormap step may take the neighbouring JET colour.
    EXPECT_LE(max_diff, OnCpu() ? 4 : 12);
    EXPECT_LE(cv::mean(diff)[0], OnCpu() ? 0.05 : 0.5);

    // Annotation report.
    const nlohmann::json& report = c["report"];
    const v1::AnnotationReport& got = result.annotation();
    const std::vector<float> thresholds = report["thresholds"];
    const std::vector<double> iou = report["iou"];
    const std::vector<double> tolerance = report["iou_tolerance"];
    ASSERT_EQ(got.iou_size(), static_cast<int>(thresholds.size()));
    for (size_t k = 0; k < thresholds.size(); ++k) {
      EXPECT_FLOAT_EQ(got.iou(k).threshold(), thresholds[k]);
      EXPECT_NEAR(got.iou(k).iou(), iou[k], OnCpu() ? tolerance[k] : 0.02)
          << "threshold " << thresholds[k];
    }
    EXPECT_EQ(got.pointing_game_hit(), report["pointing_game_hit"].get<bool>());
    EXPECT_NEAR(got.energy_inside(), report["energy_inside"].get<double>(),
                OnCpu() ? 1e-4 : 1e-3);
    EXPECT_NEAR(got.mask_area_fraction(), report["mask_area_fraction"].get<double>(),
                1e-6);
    EXPECT_EQ(got.shape_count(), report["shape_count"].get<int>());
  }
}

}  // namespace
}  // namespace explainer::server
