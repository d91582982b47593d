// Server-wide admission (see admission.h).
#include "service/server/admission.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/image_decode.h"

namespace explainer::server {

int64_t EstimateItemBytes(const v1::ExplainRequest& request,
                          const engine::ModelSpec& spec, int64_t max_image_pixels) {
  int64_t bytes = static_cast<int64_t>(request.ByteSizeLong());
  // Header only: no pixels are decoded here, so this is cheap enough for a reactor.
  absl::StatusOr<common::ImageHeader> header = common::ReadImageHeader(request.image());
  if (header.ok()) {
    const int64_t pixels = std::min<int64_t>(
        static_cast<int64_t>(header->width) * header->height, max_image_pixels);
    bytes += pixels * 3;  // RGB8
  }
  const int64_t model_pixels =
      static_cast<int64_t>(spec.input_size.width) * spec.input_size.height;
  bytes += model_pixels * 4 * sizeof(float);  // 3-channel input + 1-channel CAM
  return bytes;
}

Admission::Ticket& Admission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = std::exchange(other.owner_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void Admission::Ticket::Reset() {
  if (owner_ == nullptr) return;
  Admission* owner = std::exchange(owner_, nullptr);
  owner->Release(std::exchange(bytes_, 0));
}

Admission::Admission(AdmissionOptions options) : options_(options) {}

bool Admission::FitsLocked(int64_t cost_bytes) const {
  if (items_ >= std::max(1, options_.max_inflight_items)) return false;
  // An item bigger than the whole byte budget still gets in alone, or it never would
  // (the message size limit bounds it anyway).
  return items_ == 0 || bytes_ + cost_bytes <= options_.max_inflight_bytes;
}

Admission::Ticket Admission::TakeLocked(int64_t cost_bytes) {
  ++items_;
  bytes_ += cost_bytes;
  return Ticket(this, cost_bytes);
}

absl::Status Admission::TryOpenStream() {
  absl::MutexLock lock(&mu_);
  if (options_.max_streams > 0 && streams_ >= options_.max_streams) {
    return absl::ResourceExhaustedError(absl::StrCat("server busy: ", streams_,
                                                     " streams open, limit ",
                                                     options_.max_streams, " (--max_streams)"));
  }
  ++streams_;
  return absl::OkStatus();
}

void Admission::CloseStream() {
  absl::MutexLock lock(&mu_);
  if (streams_ > 0) --streams_;
}

int Admission::open_streams() const {
  absl::MutexLock lock(&mu_);
  return streams_;
}

absl::StatusOr<Admission::Ticket> Admission::TryAdmit(int64_t cost_bytes) {
  absl::MutexLock lock(&mu_);
  if (waiters_.empty() && FitsLocked(cost_bytes)) return TakeLocked(cost_bytes);
  if (items_ >= std::max(1, options_.max_inflight_items)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", items_, " items in flight, limit ",
                     options_.max_inflight_items, " (--max_inflight_items)"));
  }
  if (bytes_ + cost_bytes > options_.max_inflight_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "server busy: ", bytes_, " bytes in flight and this request needs ", cost_bytes,
        " more, limit ", options_.max_inflight_bytes, " bytes (--max_inflight_mb)"));
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("server busy: ", waiters_.size(),
                   " stream items are waiting for room (", bytes_,
                   " bytes in flight, limit ", options_.max_inflight_bytes,
                   " bytes, --max_inflight_mb)"));
}

std::optional<Admission::Ticket> Admission::AdmitOrWait(int64_t cost_bytes,
                                                        Granted granted,
                                                        uint64_t* wait_id,
                                                        int64_t served) {
  absl::MutexLock lock(&mu_);
  if (waiters_.empty() && FitsLocked(cost_bytes)) return TakeLocked(cost_bytes);
  *wait_id = next_wait_id_++;
  waiters_.push_back(Waiter{*wait_id, served, cost_bytes, std::move(granted)});
  return std::nullopt;
}

bool Admission::CancelWait(uint64_t wait_id) {
  Granted dropped;  // destroyed outside the lock: it may own a reactor reference
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(waiters_.begin(), waiters_.end(),
                           [wait_id](const Waiter& w) { return w.id == wait_id; });
    if (it == waiters_.end()) return false;
    dropped = std::move(it->granted);
    waiters_.erase(it);
  }
  return true;
}

void Admission::Release(int64_t bytes) {
  std::vector<std::pair<Granted, Ticket>> grants;
  {
    absl::MutexLock lock(&mu_);
    --items_;
    bytes_ -= bytes;
    // The least-served waiter next (the first of those on a tie). It is not
    // overtaken when it does not fit yet: a big item would starve otherwise.
    while (!waiters_.empty()) {
      auto next = waiters_.begin();
      for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->served < next->served) next = it;
      }
      if (!FitsLocked(next->cost_bytes)) break;
      Waiter waiter = std::move(*next);
      waiters_.erase(next);
      grants.emplace_back(std::move(waiter.granted), TakeLocked(waiter.cost_bytes));
    }
  }
  for (auto& [granted, ticket] : grants) std::move(granted)(std::move(ticket));
}

int Admission::items_in_flight() const {
  absl::MutexLock lock(&mu_);
  return items_;
}

int64_t Admission::bytes_in_flight() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int Admission::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiters_.size());
}

}  // namespace explainer::server
