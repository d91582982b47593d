// Everything the server is configured with, as a plain struct (flags are copied in
// once, in server_main.cc).
#ifndef EXPLAINER_SERVICE_SERVER_SERVER_OPTIONS_H_
#define EXPLAINER_SERVICE_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/image_encode.h"
#include "common/labelme.h"
#include "service/security/server_security.h"
#include "service/server/admission.h"

namespace explainer::server {

class Metrics;

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (ExplainerServer::port()).
  std::string address = "127.0.0.1:50051";
  std::string model_path;      // TorchScript bundle
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  // LibTorch intra-op threads and decode / post-processing threads; 0 in either: the
  // rest of the cores (thread_budget.h), both 0: the machine's split between them.
  int intra_op_threads = 0;
  int workers = 0;
  int max_batch_size = 8;      // items per engine batch
  // Longest wait for a batch to fill, counted from its first item's arrival.
  absl::Duration batch_delay = absl::Milliseconds(5);
  int max_message_bytes = 64 * 1024 * 1024;  // receive and send
  int64_t max_image_pixels = 64LL * 1024 * 1024;
  // Per-annotation bounds: JSON bytes, shapes, points, rasterising work.
  common::AnnotationLimits annotation_limits;
  int stream_window = 32;  // unanswered items per Explain stream (backpressure)
  // --decode=fast: big JPEGs decoded at 1/2..1/8 scale (ItemLimits.fast_decode).
  bool fast_decode = false;
  // heatmap_png / overlay_png compression: common::kPngFast or a zlib level 0..9.
  int png_compression = common::kPngFast;
  // Prometheus metrics (metrics.h), fed by an interceptor and the batch runner;
  // not owned, must outlive the server. Null: no metrics.
  Metrics* metrics = nullptr;
  // Connections are closed (GOAWAY) after this long, so that long-lived clients
  // re-resolve and spread over new replicas; zero: never.
  absl::Duration max_connection_age = absl::ZeroDuration();
  // HTTP/2 keepalive: ping a connection idle this long, close it when the ping is not
  // answered within keepalive_timeout (dead peers, half-open NAT/LB paths); zero:
  // gRPC's default (2 h). Clients may ping every 10 s or more during calls.
  absl::Duration keepalive_time = absl::ZeroDuration();
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // How long a graceful shutdown waits for calls in progress before cancelling them.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // After the grace, how long the binary still waits for the pipeline to drain
  // before it logs the unanswered calls and exits anyway (server_main.cc).
  absl::Duration shutdown_hard_deadline = absl::Seconds(30);
  // Server-wide bounds on items and memory in flight, shared by all calls.
  AdmissionOptions admission;
  // TLS / mTLS, bearer tokens, audit log, reflection (service/security). The audit
  // lines' bundle hash is taken from model_path.
  security::SecurityOptions security;
  // Health turns NOT_SERVING while work waits and no worker (pool thread or engine
  // batch) has finished anything for this long; SERVING again once one does.
  absl::Duration stall_threshold = absl::Seconds(30);
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_SERVER_OPTIONS_H_
