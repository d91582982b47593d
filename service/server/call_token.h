// The cancellation token one call (a stream or a unary call) shares with every item
// it has in the pipeline: each stage checks it before it starts, so work for a call
// that is gone (cancelled, deadline passed, stream broken) is dropped instead of run.
#ifndef EXPLAINER_SERVICE_SERVER_CALL_TOKEN_H_
#define EXPLAINER_SERVICE_SERVER_CALL_TOKEN_H_

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace explainer::server {

class CallToken {
 public:
  CallToken() = default;
  // A call whose deadline passes counts as cancelled from then on, even before gRPC
  // gets round to telling the reactor.
  explicit CallToken(absl::Time deadline) : deadline_(deadline) {}

  CallToken(const CallToken&) = delete;
  CallToken& operator=(const CallToken&) = delete;

  // Thread-safe, idempotent.
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }

  bool cancelled() const {
    if (cancelled_.load(std::memory_order_relaxed)) return true;
    return deadline_ != absl::InfiniteFuture() && absl::Now() >= deadline_;
  }

 private:
  std::atomic<bool> cancelled_{false};
  const absl::Time deadline_ = absl::InfiniteFuture();
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_CALL_TOKEN_H_
