// Drives the server for a bench phase: N Explain streams with a window each (the
// client's StreamingExplainer), or N x window concurrent ExplainImage calls, over a
// fixed set of requests sent round-robin, for a count or a duration.
#ifndef EXPLAINER_CLIENT_BENCH_LOAD_GENERATOR_H_
#define EXPLAINER_CLIENT_BENCH_LOAD_GENERATOR_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/bench/bench_report.h"
#include "explainer/v1/explainer.grpc.pb.h"

namespace explainer::client::bench {

struct LoadPlan {
  int streams = 1;
  int window = 16;
  bool unary = false;
  int count = 0;  // items in all; 0: until `duration` has passed
  absl::Duration duration = absl::ZeroDuration();
  absl::Duration answer_timeout = absl::Seconds(60);
  int max_message_bytes = 64 * 1024 * 1024;
};

struct LoadResult {
  std::vector<BenchSample> samples;  // one per item sent (or refused locally)
  absl::Duration elapsed;            // first send to last answer
  absl::Status status;               // the first call-level error (a broken stream)
};

// `requests` must be non-empty; item i sends requests[i % size] with request_id i.
// `stub` is not owned.
LoadResult RunLoad(explainer::v1::Explainer::StubInterface* stub,
                   const std::vector<explainer::v1::ExplainRequest>& requests,
                   const LoadPlan& plan);

}  // namespace explainer::client::bench

#endif  // EXPLAINER_CLIENT_BENCH_LOAD_GENERATOR_H_
