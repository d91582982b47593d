// Trims the heap on the busy -> idle edge (see idle_memory_trimmer.h).
#include "service/server/idle_memory_trimmer.h"

#include <utility>

namespace explainer::server {

IdleMemoryTrimmer::IdleMemoryTrimmer(std::function<int()> in_flight,
                                     std::function<void()> trim, absl::Duration period)
    : in_flight_(std::move(in_flight)), trim_(std::move(trim)), period_(period) {
  thread_ = std::thread([this] { Loop(); });
}

IdleMemoryTrimmer::~IdleMemoryTrimmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

bool IdleMemoryTrimmer::Poll() {
  absl::MutexLock lock(&poll_mu_);
  if (in_flight_() > 0) {
    busy_since_trim_ = true;
    return false;
  }
  if (!busy_since_trim_) return false;
  busy_since_trim_ = false;
  trim_();
  return true;
}

void IdleMemoryTrimmer::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(this, &IdleMemoryTrimmer::StoppingLocked),
                               period_)) {
        return;
      }
    }
    Poll();
  }
}

}  // namespace explainer::server
