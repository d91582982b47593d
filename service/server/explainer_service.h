// The explainer.v1.Explainer gRPC service (callback API): a thin layer that moves
// messages between gRPC and the item pipeline.
#ifndef EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVICE_H_
#define EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVICE_H_

#include <string>

#include "explainer/v1/explainer.grpc.pb.h"
#include "explainer/v1/explainer.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/server/item_processor.h"

namespace explainer::server {

class ExplainerService final : public v1::Explainer::CallbackService {
 public:
  // processor must outlive the service and every call it starts.
  ExplainerService(ItemProcessor* processor, v1::ModelInfo model_info, int stream_window);

  grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse>* Explain(
      grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* ExplainImage(grpc::CallbackServerContext* context,
                                         const v1::ExplainRequest* request,
                                         v1::ExplainResponse* response) override;

  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;

 private:
  ItemProcessor* const processor_;
  const v1::ModelInfo model_info_;
  const int stream_window_;
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVICE_H_
