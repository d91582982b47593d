// Fixed thread pool with two priorities and round-robin lanes for normal tasks.
#include "service/server/worker_pool.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

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

void WorkerPool::Schedule(Task task, Priority priority, Lane lane) {
  absl::MutexLock lock(&mu_);
  if (high_.empty() && normal_count_ == 0) waiting_since_ = absl::Now();
  if (priority == Priority::kHigh) {
    high_.push_back(std::move(task));
    return;
  }
  const CallToken* key = lane.get();
  LaneQueue& queue = lanes_[key];
  if (queue.tasks.empty()) {
    queue.lane = std::move(lane);
    turns_.push_back(key);
  }
  queue.tasks.push_back(std::move(task));
  ++normal_count_;
}

std::vector<WorkerPool::Task> WorkerPool::TakeCancelled() {
  std::vector<Task> tasks;
  absl::MutexLock lock(&mu_);
  for (auto turn = turns_.begin(); turn != turns_.end();) {
    auto it = lanes_.find(*turn);
    if (it->second.lane == nullptr || !it->second.lane->cancelled()) {
      ++turn;
      continue;
    }
    for (Task& task : it->second.tasks) tasks.push_back(std::move(task));
    normal_count_ -= static_cast<int>(it->second.tasks.size());
    lanes_.erase(it);
    turn = turns_.erase(turn);
  }
  return tasks;
}

int WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(high_.size()) + normal_count_;
}

absl::Duration WorkerPool::StalledFor(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (high_.empty() && normal_count_ == 0) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(),
                  now - std::max(last_finished_, waiting_since_));
}

bool WorkerPool::ReadyLocked() const {
  return stopping_ || !high_.empty() || normal_count_ > 0;
}

std::vector<WorkerPool::Task> WorkerPool::TakeLocked() {
  std::vector<Task> tasks;
  if (!high_.empty()) {
    tasks.push_back(std::move(high_.front()));
    high_.pop_front();
    return tasks;
  }
  if (turns_.empty()) return tasks;
  const CallToken* key = turns_.front();
  turns_.pop_front();
  auto it = lanes_.find(key);
  LaneQueue& queue = it->second;
  const bool cancelled = queue.lane != nullptr && queue.lane->cancelled();
  do {
    tasks.push_back(std::move(queue.tasks.front()));
    queue.tasks.pop_front();
    --normal_count_;
  } while (cancelled && !queue.tasks.empty());
  if (queue.tasks.empty()) {
    lanes_.erase(it);
  } else {
    turns_.push_back(key);  // back of the line: the others go first
  }
  return tasks;
}

void WorkerPool::Loop() {
  bool ran = false;
  while (true) {
    std::vector<Task> tasks;
    {
      absl::MutexLock lock(&mu_);
      if (ran) last_finished_ = absl::Now();
      mu_.Await(absl::Condition(this, &WorkerPool::ReadyLocked));
      tasks = TakeLocked();
      if (tasks.empty()) return;  // stopping and drained
    }
    for (Task& task : tasks) std::move(task)();
    ran = true;
  }
}

}  // namespace explainer::server
