// One Explain stream with a bounded window, a writer thread and a watchdog; see
// streaming_explainer.h for why the sync API.
#include "client/streaming_explainer.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/core/grpc_status.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"

namespace explainer::client {
namespace {

using explainer::v1::ExplainRequest;
using explainer::v1::ExplainResponse;

// How long Finish may take after the last read before the call is taken to be
// still open (a message that could not be parsed). A call the server ended
// finishes at once: its status is already in.
constexpr absl::Duration kReadFailureGrace = absl::Seconds(1);

struct InFlight {
  size_t index;
  absl::Time sent_at;
};

// The state of one Run: three threads share it, all under mu_.
class StreamRun {
 public:
  StreamRun(explainer::v1::Explainer::StubInterface* stub, const StreamOptions& options,
            size_t count, const StreamingExplainer::RequestFactory& make_request,
            const StreamingExplainer::AnswerCallback& on_answer)
      : stub_(stub),
        options_(options),
        count_(count),
        make_request_(make_request),
        on_answer_(on_answer),
        answered_(count, false) {}

  absl::Status Run() {
    stream_ = stub_->Explain(&context_);
    std::thread writer([this] { WriteLoop(); });
    std::thread watchdog([this] { WatchLoop(); });
    ReadLoop();
    // Finish waits for the server's status. After a failed read (an answer that
    // could not be parsed) the server has not ended the call and may never do so:
    // the watchdog then cancels it (see ReadLoop), so Finish always returns.
    writer.join();
    {
      absl::MutexLock lock(&mu_);
      finishing_at_ = absl::Now();
    }
    const grpc::Status rpc_status = stream_->Finish();
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    watchdog.join();
    return Conclude(rpc_status);
  }

 private:
  void WriteLoop() {
    for (size_t i = 0; i < count_; ++i) {
      // Built before waiting for room, so that reading the next file overlaps with
      // the server's work on the window.
      absl::StatusOr<ExplainRequest> request = make_request_(i);
      if (!request.ok()) {
        Deliver(StreamAnswer{i, request.status(), false, absl::ZeroDuration()});
        continue;
      }
      if (request->request_id().empty()) request->set_request_id(absl::StrCat(i));
      const size_t size = request->ByteSizeLong();
      if (size > static_cast<size_t>(options_.max_message_bytes)) {
        Deliver(
            StreamAnswer{i,
                         absl::ResourceExhaustedError(absl::StrCat(
                             "not sent: request '", request->request_id(), "' is ", size,
                             " bytes, over the ", options_.max_message_bytes,
                             "-byte message limit (raise the client's --max-message-mb and the "
                             "server's --max_message_mb)")),
                         false, absl::ZeroDuration()});
        continue;
      }
      bool duplicate = false;
      {
        absl::MutexLock lock(&mu_);
        auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopped_ || in_flight_.size() < static_cast<size_t>(options_.window);
        };
        mu_.Await(absl::Condition(&has_room));
        if (stopped_) break;  // the final sweep answers this and later items
        duplicate = in_flight_.contains(request->request_id());
        if (!duplicate) in_flight_[request->request_id()] = InFlight{i, absl::Now()};
      }
      if (duplicate) {
        Deliver(StreamAnswer{
            i,
            absl::InvalidArgumentError(absl::StrCat("request_id '", request->request_id(),
                                                    "' is already in flight on this stream")),
            false, absl::ZeroDuration()});
        continue;
      }
      if (!stream_->Write(*request)) break;  // broken stream: Read reports why
    }
    stream_->WritesDone();
    absl::MutexLock lock(&mu_);
    writes_done_at_ = absl::Now();
  }

  void ReadLoop() {
    ExplainResponse response;
    while (stream_->Read(&response)) {
      InFlight entry{0, absl::InfinitePast()};
      bool known = false;
      {
        absl::MutexLock lock(&mu_);
        auto it = in_flight_.find(response.request_id());
        if (it != in_flight_.end()) {
          entry = it->second;
          in_flight_.erase(it);
          known = true;
        } else {
          ++unknown_answers_;
        }
      }
      if (known) {
        Deliver(StreamAnswer{entry.index, std::move(response), true, absl::Now() - entry.sent_at});
      }
      response = ExplainResponse();
      absl::MutexLock lock(&mu_);
      last_answer_at_ = absl::Now();
    }
    absl::MutexLock lock(&mu_);
    reading_done_ = true;
    reading_done_at_ = absl::Now();
    stopped_ = true;
    // Either the server ended the call (its status is already here, and Finish
    // returns it at once) or a message could not be parsed (gRPC then leaves the
    // call open, and Finish would wait for the server, perhaps forever).
    // Cancelling now would replace the server's status with CANCELLED, so the
    // watchdog cancels only when Finish has not returned within a short grace.
  }

  // Cancels the call when the oldest unanswered request is older than the answer
  // timeout, or when the server stays silent for that long after its last answer
  // without ending the call. Runs until Finish returns, so nothing waits forever.
  // Polls: a few wake-ups a second cost nothing next to image work.
  void WatchLoop() {
    const absl::Duration timeout = options_.answer_timeout;
    const absl::Duration poll =
        std::clamp(timeout / 20, absl::Milliseconds(10), absl::Milliseconds(250));
    absl::MutexLock lock(&mu_);
    while (!finished_) {
      mu_.AwaitWithTimeout(absl::Condition(&finished_), poll);
      if (finished_ || !abort_status_.ok()) continue;
      const absl::Time now = absl::Now();
      std::string late_id;
      for (const auto& [id, entry] : in_flight_) {
        if (now - entry.sent_at > timeout) {
          late_id = id;
          break;
        }
      }
      if (reading_done_) {
        // Finish waits for a call the server has not ended; or the writer is still
        // stuck (in a Write the server does not take) long after the last read.
        if (now - finishing_at_ > std::min(timeout, kReadFailureGrace) ||
            now - reading_done_at_ > timeout) {
          Abort(absl::DataLossError(absl::StrCat(
              "reading the server's answers failed with ", in_flight_.size(),
              " request(s) unanswered: the next message on the stream was not a valid "
              "ExplainResponse (e.g. invalid UTF-8 in a string field) and the server did not "
              "end the call; the client cancelled it")));
        }
      } else if (!late_id.empty()) {
        Abort(absl::DeadlineExceededError(absl::StrCat(
            "no answer for request '", late_id, "' within ", absl::FormatDuration(timeout))));
      } else if (in_flight_.empty() && writes_done_at_ != absl::InfinitePast() &&
                 now - std::max(writes_done_at_, last_answer_at_) > timeout) {
        Abort(absl::DeadlineExceededError(
            absl::StrCat("the server answered every request but did not end the stream within ",
                         absl::FormatDuration(timeout))));
      }
    }
  }

  void Abort(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    abort_status_ = std::move(status);
    stopped_ = true;
    context_.TryCancel();
  }

  void Deliver(StreamAnswer answer) {
    absl::MutexLock lock(&deliver_mu_);
    if (answered_[answer.index]) return;
    answered_[answer.index] = true;
    on_answer_(std::move(answer));
  }

  // Gives every item still without an answer the stream's error; returns the
  // status of the whole call.
  absl::Status Conclude(const grpc::Status& rpc_status) {
    absl::Status status;
    std::vector<std::pair<size_t, absl::Time>> pending;
    int unknown_answers = 0;
    {
      absl::MutexLock lock(&mu_);
      status = abort_status_;
      for (const auto& [id, entry] : in_flight_) pending.emplace_back(entry.index, entry.sent_at);
      unknown_answers = unknown_answers_;
    }
    if (status.ok()) status = FromGrpcStatus(rpc_status);
    std::vector<bool> sent(count_, false);
    for (const auto& [index, sent_at] : pending) sent[index] = true;

    std::vector<size_t> unanswered;
    {
      absl::MutexLock lock(&deliver_mu_);
      for (size_t i = 0; i < count_; ++i) {
        if (!answered_[i]) unanswered.push_back(i);
      }
    }
    if (status.ok() && !unanswered.empty()) {
      status = absl::InternalError(absl::StrCat("the server closed the stream without answering ",
                                                unanswered.size(), " request(s)"));
    }
    for (size_t i : unanswered) {
      Deliver(StreamAnswer{
          i, common::Annotate(status, sent[i] ? "no answer" : "not sent: the stream ended"),
          sent[i], absl::ZeroDuration()});
    }
    if (status.ok() && unknown_answers > 0) {
      status = absl::InternalError(absl::StrCat("the server sent ", unknown_answers,
                                                " answer(s) with an unknown request_id"));
    }
    return status;
  }

  explainer::v1::Explainer::StubInterface* const stub_;
  const StreamOptions options_;
  const size_t count_;
  const StreamingExplainer::RequestFactory& make_request_;
  const StreamingExplainer::AnswerCallback& on_answer_;

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriterInterface<ExplainRequest, ExplainResponse>> stream_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;  // send nothing more
  bool reading_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;          // Finish has returned
  absl::Time writes_done_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_answer_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time reading_done_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time finishing_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();  // Finish called
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);  // set by the watchdog
  int unknown_answers_ ABSL_GUARDED_BY(mu_) = 0;

  // Serialises the callback and guarantees one answer per item.
  absl::Mutex deliver_mu_;
  std::vector<bool> answered_ ABSL_GUARDED_BY(deliver_mu_);
};

}  // namespace

StreamingExplainer::StreamingExplainer(explainer::v1::Explainer::StubInterface* stub,
                                       StreamOptions options)
    : stub_(stub), options_(std::move(options)) {}

absl::Status StreamingExplainer::Run(size_t count, const RequestFactory& make_request,
                                     const AnswerCallback& on_answer) {
  if (count == 0) return absl::OkStatus();
  StreamRun run(stub_, options_, count, make_request, on_answer);
  return run.Run();
}

}  // namespace explainer::client
