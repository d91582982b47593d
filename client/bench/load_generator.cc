// The bench's load: streams or unary calls; see load_generator.h.
#include "client/bench/load_generator.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/streaming_explainer.h"
#include "grpcpp/client_context.h"

namespace explainer::client::bench {
namespace {

using explainer::v1::ExplainRequest;
using explainer::v1::ExplainResponse;

// A duration run gives each stream this many item slots and stops sending when the
// time is up; the unsent rest is dropped locally (cheap) and not counted.
constexpr size_t kDurationSlotsPerStream = 1000000;
constexpr absl::string_view kTimeUp = "bench: time is up";

// Bytes of request_id `index` on the wire: tag, length, digits.
int64_t IdBytes(size_t index) { return 2 + static_cast<int64_t>(absl::StrCat(index).size()); }

// Collects samples from every thread.
class SampleSink {
 public:
  explicit SampleSink(absl::Time start) : start_(start), last_(start) {}

  void Add(BenchSample sample) {
    absl::MutexLock lock(&mu_);
    last_ = std::max(last_, absl::Now());
    samples_.push_back(std::move(sample));
  }
  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (status_.ok()) status_ = status;
  }
  LoadResult Take() {
    absl::MutexLock lock(&mu_);
    return LoadResult{std::move(samples_), last_ - start_, status_};
  }

 private:
  const absl::Time start_;
  absl::Mutex mu_;
  absl::Time last_ ABSL_GUARDED_BY(mu_);
  std::vector<BenchSample> samples_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

BenchSample SampleOf(const absl::StatusOr<ExplainResponse>& response, absl::Duration latency,
                     int64_t request_bytes) {
  BenchSample sample;
  sample.latency = latency;
  sample.request_bytes = request_bytes;
  if (!response.ok()) {
    sample.error = absl::StrCat("call: ", response.status().ToString());
    return sample;
  }
  sample.response_bytes = static_cast<int64_t>(response->ByteSizeLong());
  if (response->has_error()) {
    sample.error = absl::StrCat("item ", response->request_id(), ": code ",
                                response->error().code(), ": ", response->error().message());
  } else {
    sample.timings = response->result().timings();
  }
  return sample;
}

// Items of stream `s` when `count` are shared by `streams`.
size_t ShareOf(int count, int streams, int s) {
  return static_cast<size_t>(count / streams + (s < count % streams ? 1 : 0));
}

void RunStream(explainer::v1::Explainer::StubInterface* stub,
               const std::vector<ExplainRequest>& requests,
               const std::vector<int64_t>& base_bytes, const LoadPlan& plan, int s,
               absl::Time end, SampleSink& sink) {
  const size_t items = plan.count > 0 ? ShareOf(plan.count, plan.streams, s)
                                      : kDurationSlotsPerStream;
  const size_t offset = static_cast<size_t>(s);  // streams start on different images
  StreamOptions options;
  options.window = plan.window;
  options.answer_timeout = plan.answer_timeout;
  options.max_message_bytes = plan.max_message_bytes;
  StreamingExplainer explainer(stub, options);
  const absl::Status status = explainer.Run(
      items,
      [&](size_t i) -> absl::StatusOr<ExplainRequest> {
        if (plan.count == 0 && absl::Now() >= end) return absl::CancelledError(kTimeUp);
        ExplainRequest request = requests[(i + offset) % requests.size()];
        request.set_request_id(absl::StrCat(i));
        return request;
      },
      [&](StreamAnswer answer) {
        if (!answer.sent && answer.response.status().message() == kTimeUp) return;
        const size_t image = (answer.index + offset) % requests.size();
        sink.Add(SampleOf(answer.response, answer.round_trip,
                          base_bytes[image] + IdBytes(answer.index)));
      });
  if (!status.ok()) sink.Fail(status);
}

void RunUnaryCaller(explainer::v1::Explainer::StubInterface* stub,
                    const std::vector<ExplainRequest>& requests,
                    const std::vector<int64_t>& base_bytes, const LoadPlan& plan, absl::Time end,
                    std::atomic<size_t>& next, SampleSink& sink) {
  for (;;) {
    if (plan.count == 0 && absl::Now() >= end) return;
    const size_t i = next.fetch_add(1);
    if (plan.count > 0 && i >= static_cast<size_t>(plan.count)) return;
    ExplainRequest request = requests[i % requests.size()];
    request.set_request_id(absl::StrCat(i));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + plan.answer_timeout));
    ExplainResponse response;
    const absl::Time sent = absl::Now();
    const grpc::Status status = stub->ExplainImage(&context, request, &response);
    const absl::Duration latency = absl::Now() - sent;
    absl::StatusOr<ExplainResponse> answer =
        status.ok() ? absl::StatusOr<ExplainResponse>(std::move(response))
                    : absl::StatusOr<ExplainResponse>(absl::Status(
                          static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message()));
    sink.Add(SampleOf(answer, latency, base_bytes[i % requests.size()] + IdBytes(i)));
  }
}

}  // namespace

LoadResult RunLoad(explainer::v1::Explainer::StubInterface* stub,
                   const std::vector<ExplainRequest>& requests, const LoadPlan& plan) {
  std::vector<int64_t> base_bytes;
  for (ExplainRequest request : requests) {
    request.clear_request_id();
    base_bytes.push_back(static_cast<int64_t>(request.ByteSizeLong()));
  }
  const absl::Time start = absl::Now();
  const absl::Time end = start + plan.duration;
  SampleSink sink(start);
  std::vector<std::thread> threads;
  if (plan.unary) {
    std::atomic<size_t> next{0};
    for (int t = 0; t < plan.streams * plan.window; ++t) {
      threads.emplace_back([&] { RunUnaryCaller(stub, requests, base_bytes, plan, end, next, sink); });
    }
    for (std::thread& thread : threads) thread.join();
  } else {
    const int streams = plan.count > 0 ? std::min(plan.streams, plan.count) : plan.streams;
    for (int s = 0; s < streams; ++s) {
      threads.emplace_back([&, s] { RunStream(stub, requests, base_bytes, plan, s, end, sink); });
    }
    for (std::thread& thread : threads) thread.join();
  }
  return sink.Take();
}

}  // namespace explainer::client::bench
