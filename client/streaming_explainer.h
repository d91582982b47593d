// Sends a list of ExplainRequests over one Explain stream with a bounded window and
// hands back exactly one answer per item. Every command streams through it (via
// client/core/session.h, which also picks client/balanced_explainer.h for --lb).
#ifndef EXPLAINER_CLIENT_STREAMING_EXPLAINER_H_
#define EXPLAINER_CLIENT_STREAMING_EXPLAINER_H_

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "explainer/v1/explainer.grpc.pb.h"

namespace explainer::client {

struct StreamOptions {
  // Most requests sent but not yet answered. Bounds memory on both sides.
  int window = 16;
  // Each request must be answered within this time of being sent; otherwise the
  // stream is cancelled and every unanswered item gets DEADLINE_EXCEEDED.
  absl::Duration answer_timeout = absl::Seconds(60);
  // Requests larger than this are not sent (gRPC would fail the whole stream with
  // them); the item gets RESOURCE_EXHAUSTED instead. Match the channel's limit.
  int max_message_bytes = 64 * 1024 * 1024;
};

struct StreamAnswer {
  size_t index = 0;
  // The server's answer (a result or the server's per-item error), or a local
  // error: the request could not be built (file unreadable), was too large, or the
  // stream ended before the answer came.
  absl::StatusOr<explainer::v1::ExplainResponse> response;
  bool sent = false;                                 // the request went on the wire
  absl::Duration round_trip = absl::ZeroDuration();  // send to answer
};

// Why the sync API with a writer thread (rather than a ClientBidiReactor): the
// per-item work on both sides is blocking file IO (reading images, writing
// overlays), which must not run on gRPC's callback threads. With the sync API it
// runs on our own threads: a writer thread builds and sends requests while the
// window has room, the calling thread reads answers and runs the callback, and a
// watchdog thread enforces answer_timeout. A CLI runs one stream, so three threads
// cost nothing, and the window is a plain mutex + condition variable.
class StreamingExplainer {
 public:
  // Builds the request of item `index`. An error means "do not send": the item is
  // answered locally with that error. An empty request_id becomes the index.
  using RequestFactory = std::function<absl::StatusOr<explainer::v1::ExplainRequest>(size_t index)>;
  // Called exactly once per item, in answer order, never concurrently.
  using AnswerCallback = std::function<void(StreamAnswer answer)>;

  // `stub` is not owned and must outlive Run.
  StreamingExplainer(explainer::v1::Explainer::StubInterface* stub, StreamOptions options);

  // Streams items [0, count). Returns once every item has had its callback: OK
  // when the stream ended normally, else the call's error (UNAVAILABLE,
  // DEADLINE_EXCEEDED, the server's status, ...) with the server's message.
  absl::Status Run(size_t count, const RequestFactory& make_request,
                   const AnswerCallback& on_answer);

 private:
  explainer::v1::Explainer::StubInterface* stub_;
  StreamOptions options_;
};

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_STREAMING_EXPLAINER_H_
