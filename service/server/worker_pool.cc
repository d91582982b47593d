// Fixed thread pool with two priorities.
#include "service/server/worker_pool.h"

#include <utility>

namespace explainer::server {

WorkerPool::WorkerPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::Schedule(Task task, Priority priority) {
  absl::MutexLock lock(&mu_);
  (priority == Priority::kHigh ? high_ : normal_).push_back(std::move(task));
}

bool WorkerPool::ReadyLocked() const {
  return stopping_ || !high_.empty() || !normal_.empty();
}

void WorkerPool::Loop() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WorkerPool::ReadyLocked));
      std::deque<Task>& queue = !high_.empty() ? high_ : normal_;
      if (queue.empty()) return;  // stopping and drained
      task = std::move(queue.front());
      queue.pop_front();
    }
    std::move(task)();
  }
}

}  // namespace explainer::server
