// A fixed pool of threads for the CPU work around the engine (decode, preprocess,
// post-processing), so that gRPC threads never do heavy work.
#ifndef EXPLAINER_SERVICE_SERVER_WORKER_POOL_H_
#define EXPLAINER_SERVICE_SERVER_WORKER_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace explainer::server {

class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

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
  void Schedule(Task task, Priority priority = Priority::kNormal);

  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();
  bool ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::deque<Task> high_ ABSL_GUARDED_BY(mu_);
  std::deque<Task> normal_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_WORKER_POOL_H_
