// The Explain stream reactor (see explain_reactor.h).
#include "service/server/explain_reactor.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/server/item_stages.h"

namespace explainer::server {

ExplainReactor::ExplainReactor(ItemProcessor* processor, int window)
    : processor_(processor), window_(window < 1 ? 1 : window) {
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = true;
  }
  StartRead(&request_);
}

void ExplainReactor::OnReadDone(bool ok) {
  std::shared_ptr<v1::ExplainRequest> admitted;
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
        ++refs_;  // released by Deliver
        admitted = std::move(request);
      }
    }
    ops = NextOpsLocked();
  }
  if (admitted != nullptr) {
    processor_->Process(std::move(admitted), [this](v1::ExplainResponse response) {
      Deliver(std::move(response));
    });
  }
  Start(ops);
}

void ExplainReactor::Deliver(v1::ExplainResponse response) {
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    active_ids_.erase(response.request_id());
    if (!broken_ && !finished_) queue_.push_back(std::move(response));
    ops = NextOpsLocked();
  }
  Start(ops);
  Unref();
}

void ExplainReactor::OnWriteDone(bool ok) {
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    write_pending_ = false;
    --outstanding_;
    if (!ok) broken_ = true;  // the client is gone; later writes would fail too
    ops = NextOpsLocked();
  }
  Start(ops);
}

void ExplainReactor::OnCancel() {
  Ops ops;
  {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    ops = NextOpsLocked();
  }
  Start(ops);
}

void ExplainReactor::OnDone() { Unref(); }

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
  if (!read_pending_ && !reads_done_ && outstanding_ < window_) {
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
