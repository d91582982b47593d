// The gRPC service: Explain (stream), ExplainImage (unary), GetModelInfo.
#include "service/server/explainer_service.h"

#include <memory>
#include <utility>

#include "service/server/explain_reactor.h"

namespace explainer::server {

ExplainerService::ExplainerService(ItemProcessor* processor, v1::ModelInfo model_info,
                                   int stream_window)
    : processor_(processor),
      model_info_(std::move(model_info)),
      stream_window_(stream_window) {}

grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse>*
ExplainerService::Explain(grpc::CallbackServerContext* /*context*/) {
  return new ExplainReactor(processor_, stream_window_);  // deletes itself
}

grpc::ServerUnaryReactor* ExplainerService::ExplainImage(
    grpc::CallbackServerContext* context, const v1::ExplainRequest* request,
    v1::ExplainResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // gRPC keeps request and response alive until Finish, which runs only once the
  // answer is in: a non-owning pointer is enough. Same pipeline as the stream.
  std::shared_ptr<const v1::ExplainRequest> unowned(std::shared_ptr<void>(), request);
  processor_->Process(std::move(unowned),
                      [reactor, response](v1::ExplainResponse answer) {
                        *response = std::move(answer);
                        reactor->Finish(grpc::Status::OK);
                      });
  return reactor;
}

grpc::ServerUnaryReactor* ExplainerService::GetModelInfo(
    grpc::CallbackServerContext* context, const v1::GetModelInfoRequest* /*request*/,
    v1::ModelInfo* response) {
  *response = model_info_;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace explainer::server
