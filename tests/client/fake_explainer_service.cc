// The scripted fake server of the client tests; see fake_explainer_service.h.
#include "tests/client/fake_explainer_service.h"

#include <algorithm>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"

namespace explainer::testing {

using explainer::v1::ExplainRequest;
using explainer::v1::ExplainResponse;

ExplainResponse FakeExplainerService::Answer(const ExplainRequest& request) {
  ExplainResponse response;
  response.set_request_id(request.request_id());
  if (absl::StartsWith(request.image(), "bad")) {
    response.mutable_error()->set_code(3);
    response.mutable_error()->set_message(
        absl::StrCat("fake: cannot decode image of request ", request.request_id()));
    return response;
  }
  static const char* kNames[] = {"Normal", "Benign", "Malignant"};
  const int predicted = static_cast<int>(request.image().size() % 3);
  auto* result = response.mutable_result();
  result->set_predicted_index(predicted);
  result->set_predicted_name(kNames[predicted]);
  for (int i = 0; i < 3; ++i) {
    auto* p = result->add_probabilities();
    p->set_index(i);
    p->set_name(kNames[i]);
    p->set_probability(i == predicted ? 0.8f : 0.1f);
  }
  const auto& options = request.options();
  result->set_explained_index(options.has_target_class() ? options.target_class() : predicted);
  if (options.return_overlay_png()) result->set_overlay_png("overlay:" + request.request_id());
  if (options.return_heatmap_png()) result->set_heatmap_png("heatmap:" + request.request_id());
  if (options.return_raw_heatmap()) {
    result->mutable_heatmap()->set_width(3);
    result->mutable_heatmap()->set_height(2);
    for (int i = 0; i < 6; ++i) result->mutable_heatmap()->add_values(i / 5.0f);
  }
  if (!request.annotation_json().empty()) {
    for (float t : options.iou_thresholds()) {
      auto* at = result->mutable_annotation()->add_iou();
      at->set_threshold(t);
      at->set_iou(t / 2);
    }
    result->mutable_annotation()->set_pointing_game_hit(true);
    result->mutable_annotation()->set_shape_count(1);
  }
  result->set_original_width(10);
  result->set_original_height(20);
  return response;
}

grpc::Status FakeExplainerService::Explain(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<ExplainResponse, ExplainRequest>* stream) {
  // A reader thread takes requests while this thread answers, so that a client
  // that sent more than its window would show up in max_outstanding.
  absl::Mutex mu;
  std::deque<ExplainRequest> waiting;
  bool reading_done = false;
  int outstanding = 0;
  std::thread reader([&] {
    ExplainRequest request;
    while (stream->Read(&request)) {
      absl::MutexLock lock(&mu);
      waiting.push_back(request);
      ++outstanding;
      absl::MutexLock stats(&mu_);
      ++requests_seen_;
      max_outstanding_ = std::max(max_outstanding_, outstanding);
    }
    absl::MutexLock lock(&mu);
    reading_done = true;
  });
  int answered = 0;
  bool stopped = false;
  while (!stopped) {
    std::vector<ExplainRequest> batch;
    {
      absl::MutexLock lock(&mu);
      auto ready = [&]() {
        return reading_done || context->IsCancelled() ||
               (!behaviour_.silent && static_cast<int>(waiting.size()) >= behaviour_.hold);
      };
      while (!ready()) mu.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(20));
      if (behaviour_.silent || context->IsCancelled()) {
        if (reading_done || context->IsCancelled()) break;
        continue;
      }
      if (waiting.empty() && reading_done) break;
      batch.assign(waiting.begin(), waiting.end());
      waiting.clear();
    }
    std::reverse(batch.begin(), batch.end());
    for (const ExplainRequest& request : batch) {
      if (behaviour_.stop_after >= 0 && answered >= behaviour_.stop_after) {
        stopped = true;
        break;
      }
      {
        absl::MutexLock lock(&mu);
        --outstanding;
      }
      ExplainResponse response = Answer(request);
      if (answered == behaviour_.garble_answer) {
        response.clear_result();
        response.mutable_error()->set_code(3);
        response.mutable_error()->set_message("fake: cannot decode \xff\xfe");
      }
      stream->Write(response);
      ++answered;
    }
  }
  // After stop_after answers the rest goes unanswered: the reader still drains the
  // requests (the tests give the client a window larger than the run, so it
  // finishes sending), then the stream ends OK, early.
  reader.join();
  while (behaviour_.hold_open && !context->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
  return grpc::Status::OK;
}

grpc::Status FakeExplainerService::ExplainImage(grpc::ServerContext*, const ExplainRequest* request,
                                                ExplainResponse* response) {
  *response = Answer(*request);
  return grpc::Status::OK;
}

grpc::Status FakeExplainerService::GetModelInfo(grpc::ServerContext*,
                                                const explainer::v1::GetModelInfoRequest*,
                                                explainer::v1::ModelInfo* info) {
  info->set_name("fake");
  info->set_version("0.1");
  for (const char* name : {"Normal", "Benign", "Malignant"}) info->add_class_names(name);
  info->set_input_width(224);
  info->set_input_height(224);
  for (float m : {0.485f, 0.456f, 0.406f}) info->add_mean(m);
  for (float s : {0.229f, 0.224f, 0.225f}) info->add_std(s);
  info->set_device("cpu");
  info->set_target_layer("features");
  info->add_methods(explainer::v1::CAM_METHOD_GRAD_CAM);
  info->set_max_batch_size(8);
  info->set_max_image_pixels(64LL * 1024 * 1024);
  return grpc::Status::OK;
}

int FakeExplainerService::max_outstanding() const {
  absl::MutexLock lock(&mu_);
  return max_outstanding_;
}

int FakeExplainerService::requests_seen() const {
  absl::MutexLock lock(&mu_);
  return requests_seen_;
}

FakeServer::FakeServer(FakeBehaviour behaviour) : service_(behaviour) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeServer::~FakeServer() { Shutdown(); }

void FakeServer::Shutdown() { server_->Shutdown(gpr_now(GPR_CLOCK_REALTIME)); }

std::unique_ptr<explainer::v1::Explainer::Stub> FakeServer::NewStub() const {
  return explainer::v1::Explainer::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

}  // namespace explainer::testing
