// Items over several streams, with re-sends after a lost replica; see
// balanced_explainer.h.
#include "client/balanced_explainer.h"

#include <algorithm>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace explainer::client {

bool WorthResending(const StreamAnswer& answer) {
  if (!answer.response.ok()) {
    return answer.response.status().code() == absl::StatusCode::kUnavailable;
  }
  return answer.response->has_error() &&
         answer.response->error().code() == static_cast<int>(absl::StatusCode::kUnavailable);
}

namespace {

class Balancer {
 public:
  Balancer(explainer::v1::Explainer::StubInterface* stub, const StreamOptions& stream_options,
           const BalanceOptions& balance, size_t count,
           const StreamingExplainer::RequestFactory& make_request,
           const StreamingExplainer::AnswerCallback& on_answer)
      : stub_(stub),
        stream_options_(stream_options),
        balance_(balance),
        count_(count),
        make_request_(make_request),
        on_answer_(on_answer),
        attempts_(count, 0) {
    const size_t chunk = static_cast<size_t>(std::max(1, balance_.chunk_items));
    for (size_t begin = 0; begin < count; begin += chunk) {
      std::vector<size_t> items;
      for (size_t i = begin; i < std::min(count, begin + chunk); ++i) items.push_back(i);
      chunks_.push_back(std::move(items));
    }
  }

  absl::Status Run() {
    std::vector<std::thread> workers;
    const int streams = std::max(1, balance_.streams);
    for (int i = 0; i < streams; ++i) workers.emplace_back([this] { Work(); });
    for (std::thread& worker : workers) worker.join();
    absl::MutexLock lock(&mu_);
    return lost_ > 0 ? last_error_ : absl::OkStatus();
  }

 private:
  void Work() {
    while (true) {
      std::vector<size_t> chunk;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return !chunks_.empty() || answered_ == count_;
        };
        mu_.Await(absl::Condition(&ready));
        if (chunks_.empty()) return;  // everything answered
        chunk = std::move(chunks_.front());
        chunks_.pop_front();
      }
      RunChunk(chunk);
    }
  }

  void RunChunk(const std::vector<size_t>& chunk) {
    std::vector<size_t> resend;
    StreamingExplainer stream(stub_, stream_options_);
    const absl::Status status = stream.Run(
        chunk.size(),
        [&](size_t local) {
          absl::MutexLock lock(&request_mu_);
          return make_request_(chunk[local]);
        },
        [&](StreamAnswer answer) {
          const size_t index = chunk[answer.index];
          answer.index = index;
          absl::MutexLock lock(&mu_);
          if (WorthResending(answer) && ++attempts_[index] < balance_.max_attempts) {
            resend.push_back(index);
            return;
          }
          if (WorthResending(answer)) {
            ++lost_;
            last_error_ = answer.response.ok()
                              ? absl::UnavailableError(answer.response->error().message())
                              : answer.response.status();
          }
          on_answer_(std::move(answer));
          ++answered_;
        });
    absl::MutexLock lock(&mu_);
    if (!status.ok() && status.code() != absl::StatusCode::kUnavailable) {
      last_error_ = status;
      ++lost_;  // a stream failure that is not a lost replica: report it
    }
    if (!resend.empty()) chunks_.push_back(std::move(resend));
  }

  explainer::v1::Explainer::StubInterface* const stub_;
  const StreamOptions stream_options_;
  const BalanceOptions balance_;
  const size_t count_;
  const StreamingExplainer::RequestFactory& make_request_;
  const StreamingExplainer::AnswerCallback& on_answer_;

  absl::Mutex request_mu_;  // make_request_ runs one at a time
  absl::Mutex mu_;          // also: on_answer_ runs one at a time
  std::deque<std::vector<size_t>> chunks_ ABSL_GUARDED_BY(mu_);
  std::vector<int> attempts_ ABSL_GUARDED_BY(mu_);
  size_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  int lost_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status RunBalanced(explainer::v1::Explainer::StubInterface* stub,
                         const StreamOptions& stream_options,
                         const BalanceOptions& balance, size_t count,
                         const StreamingExplainer::RequestFactory& make_request,
                         const StreamingExplainer::AnswerCallback& on_answer) {
  if (count == 0) return absl::OkStatus();
  return Balancer(stub, stream_options, balance, count, make_request, on_answer).Run();
}

}  // namespace explainer::client
