// The item pipeline shared by every call: worker pool (prepare) -> the batcher ->
// worker pool (finish) -> the caller's callback. Never blocks its caller.
#ifndef EXPLAINER_SERVICE_SERVER_ITEM_PROCESSOR_H_
#define EXPLAINER_SERVICE_SERVER_ITEM_PROCESSOR_H_

#include <atomic>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "explainer/v1/explainer.pb.h"
#include "service/engine/model_spec.h"
#include "service/server/batcher.h"
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
  void Process(std::shared_ptr<const v1::ExplainRequest> request, Done done);

  const engine::ModelSpec& spec() const { return spec_; }
  const ItemLimits& limits() const { return limits_; }

  // Requests taken by Process whose `done` has not run yet (for tests and metrics).
  int in_flight() const { return in_flight_.load(); }

 private:
  void Prepare(std::shared_ptr<const v1::ExplainRequest> request, absl::Time received,
               Done done);

  const engine::ModelSpec spec_;
  const ItemLimits limits_;
  WorkerPool* const pool_;
  Batcher* const batcher_;
  std::atomic<int> in_flight_{0};
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_ITEM_PROCESSOR_H_
