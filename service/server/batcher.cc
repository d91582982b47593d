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

void Batcher::Submit(const engine::EngineItem& item, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(Pending{item, std::move(done), absl::Now()});
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

bool Batcher::HasWorkLocked() const { return stopping_ || !queue_.empty(); }

bool Batcher::BatchFullLocked() const {
  return stopping_ ||
         static_cast<int>(queue_.size()) >= std::max(1, options_.max_batch_size);
}

void Batcher::Loop() {
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch_size));
  while (true) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &Batcher::HasWorkLocked));
      if (queue_.empty()) return;  // stopping, and everything queued has run
      // The delay counts from the oldest item, so no item waits longer than
      // max_delay for company (the engine being busy aside).
      const absl::Time deadline = queue_.front().submitted + options_.max_delay;
      mu_.AwaitWithDeadline(absl::Condition(this, &Batcher::BatchFullLocked), deadline);
      const size_t n = std::min(queue_.size(), max_batch);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(std::move(batch));
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
