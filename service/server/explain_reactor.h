// The bidirectional Explain stream: reads requests while the stream's window has
// room, hands them to the item pipeline, and writes answers back one at a time.
#ifndef EXPLAINER_SERVICE_SERVER_EXPLAIN_REACTOR_H_
#define EXPLAINER_SERVICE_SERVER_EXPLAIN_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "explainer/v1/explainer.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/server/admission.h"
#include "service/server/call_token.h"
#include "service/server/item_processor.h"

namespace explainer::server {

// Lifetime: gRPC holds one reference until OnDone, every item in the pipeline holds
// one until its answer is delivered; the last one deletes the reactor. So pool
// threads never touch a deleted reactor, even after cancellation or shutdown.
// A read item waiting for admission holds one more (see Admission::AdmitOrWait).
// gRPC operations are started outside mu_ (a reaction may run on any thread).
// Lock order: mu_, then the admission's lock.
//
// Cancellation: OnCancel (client cancel, deadline, shutdown) or a failed write marks
// the stream broken and cancels its CallToken, so the pipeline drops its queued items
// instead of running them; an item waiting for admission is withdrawn.
class ExplainReactor
    : public grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse> {
 public:
  // window: items read but not yet answered (written) before reading pauses.
  // A read item that the admission cannot take yet also pauses reading until it
  // is admitted. open_streams counts this stream until OnDone (may be null).
  ExplainReactor(ItemProcessor* processor, Admission* admission, int window,
                 absl::Time deadline, std::atomic<int>* open_streams);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // The gRPC operations to start after mu_ is released.
  struct Ops {
    bool read = false;
    bool write = false;
    std::optional<grpc::Status> finish;
  };

  ~ExplainReactor() override = default;

  void Deliver(v1::ExplainResponse response);  // an answer from the pipeline
  void OnAdmitted(Admission::Ticket ticket);    // the parked item got its ticket
  // Marks the stream broken; returns whether an admission wait is to be withdrawn.
  bool BreakLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WithdrawWait();
  Ops NextOpsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Start(const Ops& ops);
  void Unref();

  ItemProcessor* const processor_;
  Admission* const admission_;
  const int window_;
  const std::shared_ptr<CallToken> token_;
  std::atomic<int>* const open_streams_;

  absl::Mutex mu_;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, dropped in OnDone
  v1::ExplainRequest request_;         // read target; only touched by the read path
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  // Requests read whose answer has not been written yet: the window.
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<std::string> active_ids_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::ExplainResponse> queue_ ABSL_GUARDED_BY(mu_);
  v1::ExplainResponse writing_;  // stable until OnWriteDone, as gRPC requires
  bool write_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // cancelled, or a write failed
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // The read item the admission could not take yet; reading pauses meanwhile.
  std::shared_ptr<v1::ExplainRequest> parked_ ABSL_GUARDED_BY(mu_);
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t wait_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t admitted_count_ ABSL_GUARDED_BY(mu_) = 0;  // items sent to admission
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_EXPLAIN_REACTOR_H_
