// A fixed pool of threads for the CPU work around the engine (decode, preprocess,
// post-processing), so that gRPC threads never do heavy work.
#ifndef EXPLAINER_SERVICE_SERVER_WORKER_POOL_H_
#define EXPLAINER_SERVICE_SERVER_WORKER_POOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/server/call_token.h"

namespace explainer::server {

class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;
  // The call a task belongs to; nullptr: none (a lane of its own).
  using Lane = std::shared_ptr<const CallToken>;

  // kHigh tasks run before any waiting kNormal task: finishing items already through
  // the engine (post-processing) comes before admitting new ones (decode), which
  // keeps latency and memory bounded under load.
  enum class Priority { kNormal, kHigh };

  // threads <= 0: one per hardware thread.
  explicit WorkerPool(int threads);
  // Runs every task already scheduled, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Never blocks. Tasks that running tasks schedule during destruction still run.
  // kNormal tasks queue per lane (call) and the lanes take turns, one task each, so
  // a call with many items cannot starve a call with few. When a lane's call is
  // cancelled, its next turn runs all its queued tasks at once: they only answer
  // "cancelled", so the call's backlog leaves in one go instead of one per round.
  void Schedule(Task task, Priority priority = Priority::kNormal, Lane lane = nullptr);

  int size() const { return static_cast<int>(threads_.size()); }

  // Takes every queued task of the lanes whose call is cancelled, for the caller to
  // run at once (they only answer "cancelled"): a cancelled call's backlog leaves
  // even while every thread is stuck in a long task.
  std::vector<Task> TakeCancelled();

  // Tasks waiting for a thread.
  int queued() const;
  // How long tasks have been waiting while no task finished: zero when nothing waits,
  // else now - max(last task finished, queue became non-empty). The health watchdog
  // reads this to tell a stuck pool from a busy one.
  absl::Duration StalledFor(absl::Time now = absl::Now()) const;

 private:
  struct LaneQueue {
    Lane lane;
    std::deque<Task> tasks;
  };

  void Loop();
  bool ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next task(s) to run: the next high-priority task, else the next lane's.
  std::vector<Task> TakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::deque<Task> high_ ABSL_GUARDED_BY(mu_);
  // kNormal tasks per lane, and the lanes with tasks in turn order.
  absl::flat_hash_map<const CallToken*, LaneQueue> lanes_ ABSL_GUARDED_BY(mu_);
  std::deque<const CallToken*> turns_ ABSL_GUARDED_BY(mu_);
  int normal_count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_finished_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time waiting_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_WORKER_POOL_H_
