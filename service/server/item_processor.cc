// The item pipeline: prepare on the pool, run in the shared batcher, finish on the pool.
#include "service/server/item_processor.h"

#include <string>
#include <utility>

namespace explainer::server {

ItemProcessor::ItemProcessor(engine::ModelSpec spec, ItemLimits limits, WorkerPool* pool,
                             Batcher* batcher)
    : spec_(std::move(spec)), limits_(limits), pool_(pool), batcher_(batcher) {}

void ItemProcessor::Process(std::shared_ptr<const v1::ExplainRequest> request,
                            Done done) {
  in_flight_.fetch_add(1);
  // Wraps `done` so that the in-flight count drops exactly when the answer leaves.
  Done counted = [this, done = std::move(done)](v1::ExplainResponse response) mutable {
    in_flight_.fetch_sub(1);
    std::move(done)(std::move(response));
  };
  const absl::Time received = absl::Now();
  pool_->Schedule([this, request = std::move(request), received,
                   done = std::move(counted)]() mutable {
    Prepare(std::move(request), received, std::move(done));
  });
}

void ItemProcessor::Prepare(std::shared_ptr<const v1::ExplainRequest> request,
                            absl::Time received, Done done) {
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
  batcher_->Submit(engine_item, [this, item = std::move(item), done = std::move(done)](
                                    absl::StatusOr<engine::EngineResult> result,
                                    const BatchStats& stats) mutable {
    // Off the batcher thread at once: it must get back to the engine.
    pool_->Schedule(
        [this, item = std::move(item), done = std::move(done), result = std::move(result),
         stats]() mutable {
          if (!result.ok()) {
            std::move(done)(ErrorResponse(item->request_id, result.status()));
            return;
          }
          absl::StatusOr<v1::ExplainResult> finished =
              FinishItem(*item, *result, spec_, stats);
          if (!finished.ok()) {
            std::move(done)(ErrorResponse(item->request_id, finished.status()));
            return;
          }
          std::move(done)(
              ResultResponse(item->request_id, std::move(*finished), limits_));
        },
        WorkerPool::Priority::kHigh);
  });
}

}  // namespace explainer::server
