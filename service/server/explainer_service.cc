// The gRPC service: Explain (stream), ExplainImage (unary), GetModelInfo.
#include "service/server/explainer_service.h"

#include <chrono>
#include <memory>
#include <utility>

#include "absl/time/clock.h"
#include "service/server/call_token.h"
#include "service/server/explain_reactor.h"

namespace explainer::server {
namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// ExplainImage's reactor: like the default one, plus OnCancel, which cancels the
// call's token so that its item is dropped instead of run. Deletes itself in OnDone.
class UnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  UnaryReactor(std::shared_ptr<CallToken> token, ItemProcessor* processor,
               std::atomic<int>* open)
      : token_(std::move(token)), processor_(processor), open_(open) {
    open_->fetch_add(1);
  }
  void OnCancel() override {
    token_->Cancel();
    processor_->DropCancelled();
  }
  void OnDone() override {
    open_->fetch_sub(1);
    delete this;
  }

 private:
  const std::shared_ptr<CallToken> token_;
  ItemProcessor* const processor_;
  std::atomic<int>* const open_;
};

// A stream refused before it starts (--max_streams): finishes at once, deletes itself.
class RefusedStream final
    : public grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

ExplainerService::ExplainerService(ItemProcessor* processor, Admission* admission,
                                   v1::ModelInfo model_info, int stream_window)
    : processor_(processor),
      admission_(admission),
      model_info_(std::move(model_info)),
      stream_window_(stream_window) {}

grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse>*
ExplainerService::Explain(grpc::CallbackServerContext* context) {
  if (admission_ != nullptr) {
    // Counted until the reactor's OnDone (ExplainReactor closes it).
    if (absl::Status opened = admission_->TryOpenStream(); !opened.ok()) {
      return new RefusedStream(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                            std::string(opened.message())));
    }
  }
  return new ExplainReactor(processor_, admission_, stream_window_,  // deletes itself
                            DeadlineOf(*context), &open_streams_);
}

grpc::ServerUnaryReactor* ExplainerService::ExplainImage(
    grpc::CallbackServerContext* context, const v1::ExplainRequest* request,
    v1::ExplainResponse* response) {
  auto token = std::make_shared<CallToken>(DeadlineOf(*context));
  auto* reactor = new UnaryReactor(token, processor_, &open_unary_);
  Admission::Ticket ticket;
  if (admission_ != nullptr) {
    absl::StatusOr<Admission::Ticket> admitted = admission_->TryAdmit(EstimateItemBytes(
        *request, processor_->spec(), processor_->limits().max_image_pixels));
    if (!admitted.ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   std::string(admitted.status().message())));
      return reactor;
    }
    ticket = std::move(*admitted);
  }
  // gRPC keeps request and response alive until Finish, which runs only once the
  // answer is in: a non-owning pointer is enough. Same pipeline as the stream.
  std::shared_ptr<const v1::ExplainRequest> unowned(std::shared_ptr<void>(), request);
  processor_->Process(
      std::move(unowned), token, std::move(ticket),
      [reactor, response, token](v1::ExplainResponse answer) {
        if (token->cancelled()) {
          // Nobody is listening; the status only ends the call.
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                       "the call was cancelled"));
          return;
        }
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
