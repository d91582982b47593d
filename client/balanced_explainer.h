// Spreads one list of items over several Explain streams, for a channel with
// client-side load balancing (--lb=round_robin): gRPC balances calls, not the
// messages of one stream, so items go out in chunks, each chunk a new stream (and so
// the next replica), several streams at a time. Items a replica left unanswered
// because it went away (UNAVAILABLE: killed, restarting, draining) are sent again
// on a new stream, which the balancer puts on a replica that is still up.
#ifndef EXPLAINER_CLIENT_BALANCED_EXPLAINER_H_
#define EXPLAINER_CLIENT_BALANCED_EXPLAINER_H_

#include <cstddef>

#include "absl/status/status.h"
#include "client/streaming_explainer.h"
#include "explainer/v1/explainer.grpc.pb.h"

namespace explainer::client {

struct BalanceOptions {
  int streams = 4;       // streams open at once
  // Items per stream: small, so that a replica whose connection comes up late (the
  // balancer only picks connected ones) still gets its share of a short run.
  int chunk_items = 4;
  // Sends of one item in all, the first included; after the last, its UNAVAILABLE
  // answer is handed on as it is (a clearly reported lost item).
  int max_attempts = 3;
};

// True for an answer that a replica going away explains: the stream's UNAVAILABLE,
// or the server's own per-item UNAVAILABLE (it was shutting down).
bool WorthResending(const StreamAnswer& answer);

// Like StreamingExplainer::Run over [0, count): `on_answer` runs exactly once per
// item (indices are the caller's), never concurrently; `make_request` is never run
// concurrently either. OK when every item got an answer that is not a lost one;
// otherwise the last stream error.
absl::Status RunBalanced(explainer::v1::Explainer::StubInterface* stub,
                         const StreamOptions& stream_options,
                         const BalanceOptions& balance, size_t count,
                         const StreamingExplainer::RequestFactory& make_request,
                         const StreamingExplainer::AnswerCallback& on_answer);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_BALANCED_EXPLAINER_H_
