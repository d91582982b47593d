// Server-wide admission: one bound on the items in flight (queued + running) and on
// the memory they may hold, shared by Explain streams and ExplainImage calls.
// Streams that find the server full wait their turn and stop reading meanwhile:
// backpressure, no error. Room goes to the waiting stream that has had the fewest
// items admitted so far (ties: first come, first served), so a new small stream is
// not queued behind one item of every busy stream. Unary calls are refused at once
// with RESOURCE_EXHAUSTED naming the limit.
#ifndef EXPLAINER_SERVICE_SERVER_ADMISSION_H_
#define EXPLAINER_SERVICE_SERVER_ADMISSION_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "explainer/v1/explainer.pb.h"
#include "service/engine/model_spec.h"

namespace explainer::server {

struct AdmissionOptions {
  // Items admitted and not yet answered, over all calls (--max_inflight_items).
  int max_inflight_items = 256;
  // Their estimated memory (EstimateItemBytes), over all calls (--max_inflight_mb).
  int64_t max_inflight_bytes = 2048LL * 1024 * 1024;
  // Explain streams open at once (--max_streams); a stream over it is refused at
  // once with RESOURCE_EXHAUSTED naming the flag. 0: no limit.
  int max_streams = 0;
};

// What an item may hold while in flight: the request as received (encoded image,
// annotation), its decoded RGB8 pixels (from the image header, capped at
// max_image_pixels; nothing when the header is unreadable, as such an item fails at
// once), and the model-sized input tensor and heatmap.
int64_t EstimateItemBytes(const v1::ExplainRequest& request,
                          const engine::ModelSpec& spec, int64_t max_image_pixels);

class Admission {
 public:
  // One admitted item. Gives its share back when destroyed (move-only).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { Reset(); }
    bool valid() const { return owner_ != nullptr; }
    void Reset();

   private:
    friend class Admission;
    Ticket(Admission* owner, int64_t bytes) : owner_(owner), bytes_(bytes) {}
    Admission* owner_ = nullptr;
    int64_t bytes_ = 0;
  };

  // Runs once the waiting item is admitted, on the thread whose item freed the room.
  using Granted = absl::AnyInvocable<void(Ticket ticket) &&>;

  explicit Admission(AdmissionOptions options);
  // Every ticket must be gone by then.
  ~Admission() = default;

  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // For unary calls: a ticket, or ResourceExhausted ("server busy: 256 items in
  // flight, limit 256 (--max_inflight_items)"). Also refused while streams are
  // waiting: they were first.
  absl::StatusOr<Ticket> TryAdmit(int64_t cost_bytes);

  // For streams: the ticket at once when there is room and nobody waits; otherwise
  // nullopt, and `granted` runs later (unless CancelWait(*wait_id) returns true).
  // `served`: items this stream had admitted before; fewer goes first.
  std::optional<Ticket> AdmitOrWait(int64_t cost_bytes, Granted granted,
                                    uint64_t* wait_id, int64_t served = 0);

  // Withdraws a waiting item: true if it was still waiting (then `granted` never
  // runs), false if it has been granted already.
  bool CancelWait(uint64_t wait_id);

  // A new Explain stream: OK and counted until CloseStream(), or ResourceExhausted
  // ("server busy: 64 streams open, limit 64 (--max_streams)").
  absl::Status TryOpenStream();
  void CloseStream();
  int open_streams() const;

  int items_in_flight() const;
  int64_t bytes_in_flight() const;
  int waiting() const;
  const AdmissionOptions& options() const { return options_; }

 private:
  struct Waiter {
    uint64_t id;
    int64_t served;
    int64_t cost_bytes;
    Granted granted;
  };

  // The one place a limit is checked. A later per-client limit (issue: security) is
  // one more condition here plus a per-client count kept next to items_, taken and
  // given back by the same Ticket; callers do not change.
  bool FitsLocked(int64_t cost_bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Ticket TakeLocked(int64_t cost_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(int64_t bytes);

  const AdmissionOptions options_;
  mutable absl::Mutex mu_;
  int items_ ABSL_GUARDED_BY(mu_) = 0;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Waiter> waiters_ ABSL_GUARDED_BY(mu_);  // in arrival order
  uint64_t next_wait_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_ADMISSION_H_
