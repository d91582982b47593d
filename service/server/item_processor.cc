// The item pipeline: prepare on the pool, run in the shared batcher, finish on the pool.
#include "service/server/item_processor.h"

#include <string>
#include <utility>

#include "absl/status/status.h"

namespace explainer::server {

ItemProcessor::ItemProcessor(engine::ModelSpec spec, ItemLimits limits, WorkerPool* pool,
                             Batcher* batcher)
    : spec_(std::move(spec)), limits_(limits), pool_(pool), batcher_(batcher) {}

void ItemProcessor::Process(std::shared_ptr<const v1::ExplainRequest> request,
                            std::shared_ptr<const CallToken> call,
                            Admission::Ticket ticket, Done done) {
  in_flight_.fetch_add(1);
  // Wraps `done` so that the in-flight count drops exactly when the answer leaves,
  // and the admission share is given back right after (which may admit a waiting
  // stream's item, so nothing of ours may be locked here).
  Done counted = [this, done = std::move(done),
                  ticket = std::move(ticket)](v1::ExplainResponse response) mutable {
    in_flight_.fetch_sub(1);
    std::move(done)(std::move(response));
    ticket.Reset();
  };
  const absl::Time received = absl::Now();
  WorkerPool::Lane lane = call;
  pool_->Schedule(
      [this, request = std::move(request), call = std::move(call), received,
       done = std::move(counted)]() mutable {
        Prepare(std::move(request), std::move(call), received, std::move(done));
      },
      WorkerPool::Priority::kNormal, std::move(lane));
}

void ItemProcessor::DropCancelled() {
  // Each task is a Prepare whose call is cancelled: it answers without decoding.
  for (WorkerPool::Task& task : pool_->TakeCancelled()) std::move(task)();
  batcher_->DropCancelled();
}

void ItemProcessor::AnswerCancelled(const std::string& request_id, Done done) {
  cancelled_items_.fetch_add(1);
  std::move(done)(ErrorResponse(
      request_id, absl::CancelledError("the call was cancelled; item not processed")));
}

void ItemProcessor::Prepare(std::shared_ptr<const v1::ExplainRequest> request,
                            std::shared_ptr<const CallToken> call, absl::Time received,
                            Done done) {
  if (call != nullptr && call->cancelled()) {
    const std::string request_id = request->request_id();
    request.reset();
    AnswerCancelled(request_id, std::move(done));
    return;
  }
  stages_started_.fetch_add(1);
  absl::StatusOr<PreparedItem> prepared = PrepareItem(*request, spec_, limits_, received);
  const std::string request_id = request->request_id();
  request.reset();  // the encoded bytes are no longer needed
  if (!prepared.ok()) {
    std::move(done)(ErrorResponse(request_id, prepared.status()));
    return;
  }
  // The batcher keeps a pointer to item->input; the callback owns the item, so the
  // input lives until the batch has run.
  auto item = std::make_shared<PreparedItem>(std::move(*prepared));
  engine::EngineItem engine_item;
  engine_item.input = &item->input;
  engine_item.target_class = item->target_class;
  engine_item.explain = item->explain;
  engine_item.cam = item->cam;
  engine_item.faithfulness = item->faithfulness;
  std::shared_ptr<const CallToken> batch_call = call;
  batcher_->Submit(
      engine_item,
      [this, item = std::move(item), call = std::move(call), done = std::move(done)](
          absl::StatusOr<engine::EngineResult> result, const BatchStats& stats) mutable {
        if (call != nullptr && call->cancelled()) {
          // Cheap enough for the batcher thread, and saves a pool round trip.
          AnswerCancelled(item->request_id, std::move(done));
          return;
        }
        // Off the batcher thread at once: it must get back to the engine.
        pool_->Schedule(
            [this, item = std::move(item), call = std::move(call),
             done = std::move(done), result = std::move(result), stats]() mutable {
              Finish(std::move(item), std::move(call), std::move(result), stats,
                     std::move(done));
            },
            WorkerPool::Priority::kHigh);
      },
      std::move(batch_call));
}

void ItemProcessor::Finish(std::shared_ptr<PreparedItem> item,
                           std::shared_ptr<const CallToken> call,
                           absl::StatusOr<engine::EngineResult> result,
                           const BatchStats& stats, Done done) {
  if (call != nullptr && call->cancelled()) {
    AnswerCancelled(item->request_id, std::move(done));
    return;
  }
  if (!result.ok()) {
    std::move(done)(ErrorResponse(item->request_id, result.status()));
    return;
  }
  stages_started_.fetch_add(1);
  absl::StatusOr<v1::ExplainResult> finished = FinishItem(*item, *result, spec_, stats);
  if (!finished.ok()) {
    std::move(done)(ErrorResponse(item->request_id, finished.status()));
    return;
  }
  std::move(done)(ResultResponse(item->request_id, std::move(*finished), limits_));
}

}  // namespace explainer::server
