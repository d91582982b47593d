// The explainer.v1.Explainer gRPC service (callback API): a thin layer that moves
// messages between gRPC and the item pipeline, through the server-wide admission.
#ifndef EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVICE_H_
#define EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVICE_H_

#include <atomic>
#include <string>

#include "explainer/v1/explainer.grpc.pb.h"
#include "explainer/v1/explainer.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/server/admission.h"
#include "service/server/item_processor.h"

namespace explainer::server {

class ExplainerService final : public v1::Explainer::CallbackService {
 public:
  // processor and admission must outlive the service and every call it starts.
  ExplainerService(ItemProcessor* processor, Admission* admission,
                   v1::ModelInfo model_info, int stream_window);

  grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse>* Explain(
      grpc::CallbackServerContext* context) override;

  // Refused with RESOURCE_EXHAUSTED when the admission has no room; cancelled
  // (client, deadline, shutdown) before its item's next stage, the item is dropped.
  grpc::ServerUnaryReactor* ExplainImage(grpc::CallbackServerContext* context,
                                         const v1::ExplainRequest* request,
                                         v1::ExplainResponse* response) override;

  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;

  // Explain streams and ExplainImage calls gRPC has not finished with yet.
  int open_streams() const { return open_streams_.load(); }
  int open_unary_calls() const { return open_unary_.load(); }

 private:
  ItemProcessor* const processor_;
  Admission* const admission_;
  const v1::ModelInfo model_info_;
  const int stream_window_;
  std::atomic<int> open_streams_{0};
  std::atomic<int> open_unary_{0};
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVICE_H_
