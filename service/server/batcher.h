// The one dynamic batcher in front of the engine: items from every stream and unary
// call queue here, and a single thread (the only caller of the engine) runs them in
// batches of up to max_batch_size, waiting at most max_delay for a batch to fill.
#ifndef EXPLAINER_SERVICE_SERVER_BATCHER_H_
#define EXPLAINER_SERVICE_SERVER_BATCHER_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "service/engine/engine_api.h"
#include "service/server/call_token.h"

namespace explainer::server {

// Runs one batch; one result per item, in order. In the server this is the loaded
// engine::ModelRunner's Run; tests pass fakes, so the batcher needs no LibTorch.
using BatchRunner = engine::BatchRunner;

struct BatcherOptions {
  int max_batch_size = 8;
  // Longest time the first item of a batch waits for more items to arrive.
  absl::Duration max_delay = absl::Milliseconds(5);
};

// What an item's batch looked like, for StageTimings.
struct BatchStats {
  int batch_size = 0;
  absl::Duration queue_time;  // this item: submitted -> its batch started
  absl::Duration run_time;    // the runner call, shared by the batch
};

class Batcher {
 public:
  // Called exactly once per submitted item, on the batcher thread (inside Submit
  // after Stop): keep it short and hand heavy work to a pool.
  using Done = absl::AnyInvocable<void(absl::StatusOr<engine::EngineResult> result,
                                       const BatchStats& stats) &&>;

  // Starts the batching thread. max_batch_size < 1 counts as 1.
  Batcher(BatchRunner runner, BatcherOptions options);
  // Stop().
  ~Batcher();

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one item; never blocks on the engine. item.input must stay valid until
  // `done` runs (the caller's Done usually owns it). After Stop(), `done` runs at
  // once with Unavailable. An item whose `call` is cancelled by the time its batch
  // is formed never reaches the runner: `done` gets Cancelled instead.
  void Submit(const engine::EngineItem& item, Done done,
              std::shared_ptr<const CallToken> call = nullptr);

  // Answers every queued item whose call is cancelled with Cancelled, on the calling
  // thread, without waiting for the batch in the engine to end.
  void DropCancelled();

  // Runs everything already queued, then ends the thread. Idempotent.
  void Stop();

  // Items waiting for a batch (not counting the batch being run).
  int queued() const;
  // Items dropped because their call was cancelled (tests, metrics).
  int dropped() const;
  // How long items have been waiting while no batch finished: zero when nothing
  // waits (see WorkerPool::StalledFor).
  absl::Duration StalledFor(absl::Time now = absl::Now()) const;

 private:
  struct Pending {
    engine::EngineItem item;
    Done done;
    absl::Time submitted;
    std::shared_ptr<const CallToken> call;
  };

  void Loop();
  void RunBatch(std::vector<Pending> batch);
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool BatchFullLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatchRunner runner_;
  const BatcherOptions options_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int dropped_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_finished_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time waiting_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  absl::Mutex join_mu_;  // serialises concurrent Stop() calls around the join
  std::thread thread_;
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_BATCHER_H_
