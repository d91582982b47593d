// The Explain stream reactor (see explain_reactor.h).
#include "service/server/explain_reactor.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/server/item_stages.h"

namespace explainer::server {

ExplainReactor::ExplainReactor(ItemProcessor* processor, Admission* admission,
                               int window, absl::Time deadline,
                               std::atomic<int>* open_streams)
    : processor_(processor),
      admission_(admission),
      window_(window < 1 ? 1 : window),
      token_(std::make_shared<CallToken>(deadline)),
      open_streams_(open_streams) {
  if (open_streams_ != nullptr) open_streams_->fetch_add(1);
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = true;
  }
  StartRead(&request_);
}

void ExplainReactor::OnReadDone(bool ok) {
  std::shared_ptr<v1::ExplainRequest> admitted;
  std::optional<Admission::Ticket> ticket;
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
    if (!ok) {
      reads_done_ = true;  // the client half-closed, or the call is gone
    } else if (!broken_) {
      auto request = std::make_shared<v1::ExplainRequest>(std::move(request_));
      request_.Clear();
      ++outstanding_;
      const std::string& id = request->request_id();
      if (id.empty()) {
        queue_.push_back(ErrorResponse(
            id, absl::InvalidArgumentError(
                    "request_id: empty; every request on an Explain stream needs an id "
                    "that is unique within the stream")));
      } else if (!active_ids_.insert(id).second) {
        queue_.push_back(ErrorResponse(
            id, absl::AlreadyExistsError(absl::StrCat(
                    "request_id: \"", id,
                    "\" is already in flight on this stream; ids must be unique within "
                    "a stream"))));
      } else {
        ++refs_;  // released by Deliver (or when a parked item is dropped)
        if (admission_ == nullptr) {
          ticket.emplace();
        } else {
          const int64_t cost = EstimateItemBytes(*request, processor_->spec(),
                                                 processor_->limits().max_image_pixels);
          ticket = admission_->AdmitOrWait(
              cost,
              [this](Admission::Ticket granted) { OnAdmitted(std::move(granted)); },
              &wait_id_, admitted_count_);
        }
        ++admitted_count_;  // now, or once granted
        if (ticket.has_value()) {
          admitted = std::move(request);
        } else {
          // The server is full: keep the item and stop reading until it is admitted.
          parked_ = std::move(request);
          waiting_ = true;
        }
      }
    }
    ops = NextOpsLocked();
  }
  if (admitted != nullptr) {
    processor_->Process(std::move(admitted), token_, std::move(*ticket),
                        [this](v1::ExplainResponse response) {
                          Deliver(std::move(response));
                        });
  }
  Start(ops);
}

void ExplainReactor::OnAdmitted(Admission::Ticket ticket) {
  std::shared_ptr<v1::ExplainRequest> admitted;
  bool dropped = false;
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    waiting_ = false;
    if (broken_) {
      active_ids_.erase(parked_->request_id());
      parked_.reset();
      dropped = true;
    } else {
      admitted = std::move(parked_);
    }
    ops = NextOpsLocked();
  }
  if (admitted != nullptr) {
    processor_->Process(std::move(admitted), token_, std::move(ticket),
                        [this](v1::ExplainResponse response) {
                          Deliver(std::move(response));
                        });
  }
  Start(ops);
  if (dropped) {
    ticket.Reset();
    Unref();
  }
}

void ExplainReactor::Deliver(v1::ExplainResponse response) {
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    active_ids_.erase(response.request_id());
    // A passed deadline cancels the token before gRPC gets round to OnCancel: from
    // then on nothing is written (the client sees DEADLINE_EXCEEDED, not items that
    // say "cancelled").
    if (!broken_ && !finished_ && !token_->cancelled()) {
      queue_.push_back(std::move(response));
    }
    ops = NextOpsLocked();
  }
  Start(ops);
  Unref();
}

bool ExplainReactor::BreakLocked() {
  const bool was_broken = broken_;
  broken_ = true;
  token_->Cancel();  // the pipeline drops this stream's queued items from now on
  return !was_broken && waiting_;
}

void ExplainReactor::WithdrawWait() {
  uint64_t wait_id;
  {
    absl::MutexLock lock(&mu_);
    wait_id = wait_id_;
  }
  // Outside mu_: if the grant is running right now, OnAdmitted takes mu_ and drops
  // the item itself (CancelWait then returns false).
  if (admission_ == nullptr || !admission_->CancelWait(wait_id)) return;
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    waiting_ = false;
    parked_.reset();
    ops = NextOpsLocked();
  }
  Start(ops);
  Unref();  // the parked item's reference
}

void ExplainReactor::OnWriteDone(bool ok) {
  Ops ops;
  bool withdraw = false;
  {
    absl::MutexLock lock(&mu_);
    write_pending_ = false;
    --outstanding_;
    if (!ok) withdraw = BreakLocked();  // the client is gone; later writes would fail
    ops = NextOpsLocked();
  }
  Start(ops);
  if (withdraw) WithdrawWait();
  if (!ok) processor_->DropCancelled();
}

void ExplainReactor::OnCancel() {
  Ops ops;
  bool withdraw;
  {
    absl::MutexLock lock(&mu_);
    withdraw = BreakLocked();
    ops = NextOpsLocked();
  }
  Start(ops);
  if (withdraw) WithdrawWait();
  processor_->DropCancelled();
}

void ExplainReactor::OnDone() {
  if (open_streams_ != nullptr) open_streams_->fetch_sub(1);
  if (admission_ != nullptr) admission_->CloseStream();  // --max_streams
  Unref();
}

ExplainReactor::Ops ExplainReactor::NextOpsLocked() {
  Ops ops;
  if (finished_) return ops;
  if (broken_) {
    // Answers still in the pipeline are dropped on arrival. Finish only once no
    // operation is pending, so none can be started after Finish.
    queue_.clear();
    if (!read_pending_ && !write_pending_) {
      finished_ = true;
      ops.finish = grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled");
    }
    return ops;
  }
  if (!write_pending_ && !queue_.empty()) {
    writing_ = std::move(queue_.front());
    queue_.pop_front();
    write_pending_ = true;
    ops.write = true;
  }
  if (!read_pending_ && !reads_done_ && !waiting_ && outstanding_ < window_) {
    read_pending_ = true;
    ops.read = true;
  }
  if (reads_done_ && outstanding_ == 0 && !write_pending_) {
    finished_ = true;
    ops.finish = grpc::Status::OK;
  }
  return ops;
}

void ExplainReactor::Start(const Ops& ops) {
  if (ops.write) StartWrite(&writing_);
  if (ops.read) StartRead(&request_);
  if (ops.finish.has_value()) Finish(*ops.finish);
}

void ExplainReactor::Unref() {
  bool last;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace explainer::server
