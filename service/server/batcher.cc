// Dynamic batching in front of the engine.
#include "service/server/batcher.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace explainer::server {

Batcher::Batcher(BatchRunner runner, BatcherOptions options)
    : runner_(std::move(runner)), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

Batcher::~Batcher() { Stop(); }

void Batcher::Submit(const engine::EngineItem& item, Done done,
                     std::shared_ptr<const CallToken> call) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      const absl::Time now = absl::Now();
      if (queue_.empty()) waiting_since_ = now;
      queue_.push_back(Pending{item, std::move(done), now, std::move(call)});
      return;
    }
  }
  std::move(done)(absl::UnavailableError("the server is shutting down"), BatchStats{});
}

void Batcher::Stop() {
  absl::MutexLock join_lock(&join_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int Batcher::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

void Batcher::DropCancelled() {
  std::vector<Pending> cancelled;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->call != nullptr && it->call->cancelled()) {
        cancelled.push_back(std::move(*it));
        it = queue_.erase(it);
        ++dropped_;
      } else {
        ++it;
      }
    }
  }
  for (Pending& pending : cancelled) {
    std::move(pending.done)(
        absl::CancelledError("the call was cancelled before this item's batch ran"),
        BatchStats{});
  }
}

int Batcher::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

absl::Duration Batcher::StalledFor(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (queue_.empty()) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(),
                  now - std::max(last_finished_, waiting_since_));
}

bool Batcher::HasWorkLocked() const { return stopping_ || !queue_.empty(); }

bool Batcher::BatchFullLocked() const {
  return stopping_ ||
         static_cast<int>(queue_.size()) >= std::max(1, options_.max_batch_size);
}

void Batcher::Loop() {
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch_size));
  bool ran = false;
  while (true) {
    std::vector<Pending> batch;
    std::vector<Pending> cancelled;
    {
      absl::MutexLock lock(&mu_);
      if (ran) {
        last_finished_ = absl::Now();
        waiting_since_ = last_finished_;
      }
      mu_.Await(absl::Condition(this, &Batcher::HasWorkLocked));
      if (queue_.empty()) return;  // stopping, and everything queued has run
      // The delay counts from the oldest item, so no item waits longer than
      // max_delay for company (the engine being busy aside).
      const absl::Time deadline = queue_.front().submitted + options_.max_delay;
      mu_.AwaitWithDeadline(absl::Condition(this, &Batcher::BatchFullLocked), deadline);
      // Items of calls that are gone leave here instead of taking a batch slot.
      while (!queue_.empty() && batch.size() < max_batch) {
        Pending& front = queue_.front();
        if (front.call != nullptr && front.call->cancelled()) {
          cancelled.push_back(std::move(front));
          ++dropped_;
        } else {
          batch.push_back(std::move(front));
        }
        queue_.pop_front();
      }
    }
    for (Pending& pending : cancelled) {
      std::move(pending.done)(
          absl::CancelledError("the call was cancelled before this item's batch ran"),
          BatchStats{});
    }
    if (!batch.empty()) RunBatch(std::move(batch));
    ran = true;
  }
}

void Batcher::RunBatch(std::vector<Pending> batch) {
  std::vector<engine::EngineItem> items;
  items.reserve(batch.size());
  for (const Pending& pending : batch) items.push_back(pending.item);

  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<engine::EngineResult>> results;
  try {
    results = runner_(items);
  } catch (const std::exception& e) {
    // The engine converts its own exceptions; this only keeps a stray one from
    // taking the whole server down.
    results = absl::InternalError(absl::StrCat("engine batch failed: ", e.what()));
  }
  if (results.ok() && results->size() != batch.size()) {
    results = absl::InternalError(absl::StrCat("engine returned ", results->size(),
                                               " results for a batch of ", batch.size()));
  }

  BatchStats stats;
  stats.batch_size = static_cast<int>(batch.size());
  stats.run_time = absl::Now() - start;
  for (size_t i = 0; i < batch.size(); ++i) {
    stats.queue_time = start - batch[i].submitted;
    if (results.ok()) {
      std::move(batch[i].done)(std::move((*results)[i]), stats);
    } else {
      std::move(batch[i].done)(results.status(), stats);
    }
  }
}

}  // namespace explainer::server
