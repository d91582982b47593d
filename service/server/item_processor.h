// The item pipeline shared by every call: worker pool (prepare) -> the batcher ->
// worker pool (finish) -> the caller's callback. Never blocks its caller.
#ifndef EXPLAINER_SERVICE_SERVER_ITEM_PROCESSOR_H_
#define EXPLAINER_SERVICE_SERVER_ITEM_PROCESSOR_H_

#include <atomic>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "explainer/v1/explainer.pb.h"
#include "service/engine/model_spec.h"
#include "service/server/admission.h"
#include "service/server/batcher.h"
#include "service/server/call_token.h"
#include "service/server/item_stages.h"
#include "service/server/worker_pool.h"

namespace explainer::server {

class ItemProcessor {
 public:
  // Receives the one answer to a request (result or per-item error).
  using Done = absl::AnyInvocable<void(v1::ExplainResponse response) &&>;

  // pool and batcher must outlive every callback of this processor.
  ItemProcessor(engine::ModelSpec spec, ItemLimits limits, WorkerPool* pool,
                Batcher* batcher);

  ItemProcessor(const ItemProcessor&) = delete;
  ItemProcessor& operator=(const ItemProcessor&) = delete;

  // Answers `request` exactly once through `done`, on a pool thread. The request is
  // released as soon as it is decoded (streams hand over ownership; unary calls
  // pass a non-owning pointer that stays valid until `done` has run).
  //
  // `call` is the calling stream's or unary call's token: its items share one lane of
  // the pool (calls take turns), and once it is cancelled no stage (prepare, engine
  // batch, finish) starts for them any more; they are answered with Cancelled
  // instead, cheaply. `ticket` (the item's admission) is given back right after
  // `done` has run.
  void Process(std::shared_ptr<const v1::ExplainRequest> request,
               std::shared_ptr<const CallToken> call, Admission::Ticket ticket,
               Done done);
  // A call of its own, not admitted through Admission (tests).
  void Process(std::shared_ptr<const v1::ExplainRequest> request, Done done) {
    Process(std::move(request), std::make_shared<CallToken>(), Admission::Ticket(),
            std::move(done));
  }

  // Answers at once, on the calling thread, every queued item (pool or batcher) of
  // calls that are cancelled, so their memory and admission leave even while the
  // engine or every worker is busy. Call it outside any lock a Done takes.
  void DropCancelled();

  const engine::ModelSpec& spec() const { return spec_; }
  const ItemLimits& limits() const { return limits_; }

  // Requests taken by Process whose `done` has not run yet (for tests and metrics).
  int in_flight() const { return in_flight_.load(); }
  // Stages started (prepare, finish) and items answered "cancelled" without starting
  // their next stage (tests, metrics).
  int stages_started() const { return stages_started_.load(); }
  int cancelled_items() const { return cancelled_items_.load(); }

 private:
  void Prepare(std::shared_ptr<const v1::ExplainRequest> request,
               std::shared_ptr<const CallToken> call, absl::Time received, Done done);
  void Finish(std::shared_ptr<PreparedItem> item, std::shared_ptr<const CallToken> call,
              absl::StatusOr<engine::EngineResult> result, const BatchStats& stats,
              Done done);
  // The answer for an item whose call is gone.
  void AnswerCancelled(const std::string& request_id, Done done);

  const engine::ModelSpec spec_;
  const ItemLimits limits_;
  WorkerPool* const pool_;
  Batcher* const batcher_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> stages_started_{0};
  std::atomic<int> cancelled_items_{0};
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_ITEM_PROCESSOR_H_
