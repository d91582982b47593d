// The scripted Explainer server; see scripted_explainer_service.h.
#include "tests/client/gallery/scripted_explainer_service.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::testing {

using explainer::v1::ExplainRequest;
using explainer::v1::ExplainResponse;

namespace {
const char* const kNames[] = {"Normal", "Benign", "Malignant"};
}  // namespace

ExplainResponse ScriptedExplainerService::Answer(const ExplainRequest& request) const {
  ExplainResponse response;
  response.set_request_id(request.request_id());
  auto it = script_.find(request.request_id());
  if (it == script_.end() || it->second.error ||
      (it->second.explain_error && !request.options().skip_explanation())) {
    response.mutable_error()->set_code(3);
    response.mutable_error()->set_message(
        absl::StrCat("scripted: cannot decode ", request.request_id()));
    return response;
  }
  const ScriptedAnswer& script = it->second;
  const std::vector<uchar> bytes(request.image().begin(), request.image().end());
  const cv::Mat image = cv::imdecode(bytes, cv::IMREAD_COLOR);
  auto* result = response.mutable_result();
  const int predicted =
      static_cast<int>(std::max_element(script.probabilities.begin(), script.probabilities.end()) -
                       script.probabilities.begin());
  result->set_predicted_index(predicted);
  result->set_predicted_name(kNames[predicted]);
  for (int i = 0; i < 3; ++i) {
    auto* p = result->add_probabilities();
    p->set_index(i);
    p->set_name(kNames[i]);
    p->set_probability(script.probabilities[i]);
  }
  result->set_original_width(image.cols);
  result->set_original_height(image.rows);
  const auto& options = request.options();
  if (options.skip_explanation()) {
    result->set_explained_index(-1);
    return response;
  }
  result->set_explained_index(predicted);
  if (options.return_overlay_png() && !image.empty()) {
    // A recognisable "overlay": the image tinted red (a true-colour PNG, as the
    // server's).
    const cv::Mat overlay = image * 0.5 + cv::Scalar(0, 0, 120);
    std::vector<uchar> png;
    cv::imencode(".png", overlay, png);
    result->set_overlay_png(std::string(png.begin(), png.end()));
  }
  if (options.return_raw_heatmap()) {
    auto* heatmap = result->mutable_heatmap();
    heatmap->set_width(16);
    heatmap->set_height(16);
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) heatmap->add_values((x + y) / 30.0f);
    }
  }
  if (options.return_heatmap_png()) {
    cv::Mat gray(16, 16, CV_8UC1);
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) gray.at<uchar>(y, x) = static_cast<uchar>(8 * (x + y));
    }
    std::vector<uchar> png;
    cv::imencode(".png", gray, png);
    result->set_heatmap_png(std::string(png.begin(), png.end()));
  }
  if (!request.annotation_json().empty()) {
    auto* report = result->mutable_annotation();
    for (float t : options.iou_thresholds()) {
      auto* at = report->add_iou();
      at->set_threshold(t);
      at->set_iou(script.iou);
    }
    report->set_pointing_game_hit(script.iou > 0.25f);
    report->set_energy_inside(script.iou);
    report->set_mask_area_fraction(0.1f);
    report->set_shape_count(2);
  }
  return response;
}

grpc::Status ScriptedExplainerService::Explain(
    grpc::ServerContext*, grpc::ServerReaderWriter<ExplainResponse, ExplainRequest>* stream) {
  size_t index;
  {
    absl::MutexLock lock(&mu_);
    streams_.emplace_back();
    index = streams_.size() - 1;
  }
  ExplainRequest request;
  while (stream->Read(&request)) {
    SeenRequest seen;
    seen.request_id = request.request_id();
    seen.skip_explanation = request.options().skip_explanation();
    seen.overlay = request.options().return_overlay_png();
    seen.raw_heatmap = request.options().return_raw_heatmap();
    seen.heatmap_png = request.options().return_heatmap_png();
    seen.annotation = !request.annotation_json().empty();
    seen.thresholds.assign(request.options().iou_thresholds().begin(),
                           request.options().iou_thresholds().end());
    {
      absl::MutexLock lock(&mu_);
      streams_[index].push_back(seen);
    }
    stream->Write(Answer(request));
  }
  return grpc::Status::OK;
}

grpc::Status ScriptedExplainerService::GetModelInfo(grpc::ServerContext*,
                                                    const explainer::v1::GetModelInfoRequest*,
                                                    explainer::v1::ModelInfo* info) {
  info->set_name("scripted");
  info->set_version("1");
  for (const char* name : kNames) info->add_class_names(name);
  info->set_input_width(224);
  info->set_input_height(224);
  info->set_device("cpu");
  info->add_methods(explainer::v1::CAM_METHOD_GRAD_CAM);
  return grpc::Status::OK;
}

std::vector<std::vector<SeenRequest>> ScriptedExplainerService::streams() const {
  absl::MutexLock lock(&mu_);
  return streams_;
}

ScriptedServer::ScriptedServer(std::map<std::string, ScriptedAnswer> script)
    : service_(std::move(script)) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

ScriptedServer::~ScriptedServer() { server_->Shutdown(gpr_now(GPR_CLOCK_REALTIME)); }

}  // namespace explainer::testing
