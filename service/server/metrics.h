// Prometheus metrics of the server: owns the registry, every metric and the /metrics
// HTTP endpoint (--metrics_address). The only file that includes prometheus-cpp is
// metrics.cc; this header exposes none of its types.
//
// What feeds it, so the pipeline itself stays unaware of metrics:
// - a gRPC server interceptor (InterceptorFactories) sees every call's method and
//   final status (calls, refusals) and every ExplainResponse sent (items by outcome,
//   per-stage latencies from the StageTimings the server already fills in);
// - WrapRunner wraps the engine's batch runner (batch sizes, batch errors);
// - at each scrape, the state source (queue depth, streams and items in flight) and
//   the device memory source are sampled, and /proc/self gives CPU time and RSS.
#ifndef EXPLAINER_SERVICE_SERVER_METRICS_H_
#define EXPLAINER_SERVICE_SERVER_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "explainer/v1/explainer.pb.h"
#include "grpcpp/support/server_interceptor.h"
#include "absl/types/span.h"
#include "service/engine/engine_api.h"

namespace explainer::server {

struct MetricsOptions {
  // host:port for the /metrics endpoint (port 0: a free port, see Metrics::port()).
  // Empty: metrics are kept (Scrape() works) but not served over HTTP.
  std::string address;
};

// The server's live state, sampled at each scrape. (Calls in flight, streams among
// them, are counted by the interceptor.)
struct ServerState {
  int queue_depth = 0;      // items waiting for an engine batch
  int items_in_flight = 0;  // items taken and not answered yet
};

// Memory of the engine's device (CUDA caching allocator), when it can report it.
using DeviceMemory = engine::DeviceMemory;

// True when this build has prometheus-cpp (CMake finds it optionally, so that a build
// without it, e.g. on a GPU host without the package, still builds the server).
bool MetricsAvailable();

class Metrics {
 public:
  // Creates the registry and every metric; starts the HTTP endpoint when
  // options.address is set. Unavailable naming the address when it cannot listen;
  // FailedPrecondition when the build has no prometheus-cpp.
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const MetricsOptions& options);
  ~Metrics();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The bound HTTP port; 0 when not serving.
  int port() const;

  // explainer_model_info{name,version,device} 1.
  void SetModelInfo(absl::string_view name, absl::string_view version,
                    absl::string_view device);
  // Sampled at every scrape (on the HTTP server's thread). ClearSources() drops both,
  // before what they point into goes away; thread-safe with scrapes.
  void SetStateSource(std::function<ServerState()> source);
  void SetDeviceMemorySource(std::function<std::optional<DeviceMemory>()> source);
  void ClearSources();

  // For grpc::ServerBuilder::experimental().SetInterceptorCreators(). The factories
  // point at this object: it must outlive the gRPC server.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  InterceptorFactories();

  // The batcher's BatchRunner (batcher.h).
  using BatchRunner = engine::BatchRunner;
  // `runner` observed: batch size per call, and the batch's outcome.
  BatchRunner WrapRunner(BatchRunner runner);

  // What the interceptor records; public so tests can drive them directly.
  // rpc: "Explain", "ExplainImage", "GetModelInfo", or "<service>/<method>" for
  // other services (health, reflection).
  void CallStarted(absl::string_view rpc);  // explainer_calls_in_flight{rpc} + 1
  void CallEnded(absl::string_view rpc);    // - 1
  void RecordItem(absl::string_view rpc, const v1::ExplainResponse& response);
  void RecordCall(absl::string_view rpc, grpc::StatusCode code,
                  absl::string_view message);

  // The Prometheus text exposition of every metric, as /metrics serves it.
  std::string Scrape() const;

  // The rpc label for a gRPC method path ("/explainer.v1.Explainer/Explain").
  static std::string RpcLabel(absl::string_view method);
  // Why a call was refused, from its final status; empty when it was not a refusal
  // (refusals are RESOURCE_EXHAUSTED from admission, UNAUTHENTICATED,
  // PERMISSION_DENIED).
  static std::string RefusalReason(grpc::StatusCode code, absl::string_view message);

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_METRICS_H_
