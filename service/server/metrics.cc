// Prometheus metrics (see metrics.h). The one file that includes prometheus-cpp.
#include "service/server/metrics.h"

#include <unistd.h>

#include <array>
#include <exception>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#if EXPLAINER_WITH_PROMETHEUS
#include "prometheus/client_metric.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#endif

namespace explainer::server {
namespace {

constexpr absl::string_view kExplainerService = "/explainer.v1.Explainer/";

// Names as gRPC spells them ("INVALID_ARGUMENT"); absl and gRPC codes are the same
// numbers, so per-item error codes (absl) and call codes (gRPC) share the labels.
std::string CodeName(int code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",        "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(kNames.size())) return kNames[code];
  return absl::StrCat("CODE_", code);
}

// CPU seconds (user + system) and resident bytes of this process, from /proc/self.
struct ProcessSample {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  bool ok = false;
};

ProcessSample SampleProcess() {
  ProcessSample sample;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (!std::getline(stat, line)) return sample;
  // Fields after "(comm)", which may itself hold spaces: state is field 3, utime
  // field 14, stime field 15 (proc(5)).
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return sample;
  std::vector<std::string> fields =
      absl::StrSplit(line.substr(paren + 2), ' ', absl::SkipEmpty());
  if (fields.size() < 13) return sample;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
  std::ifstream statm("/proc/self/statm");
  long size_pages = 0;
  long resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return sample;
  sample.resident_bytes =
      static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
  sample.ok = true;
  return sample;
}

// Per call: remembers the method, records every ExplainResponse sent and the final
// status. A call that ends without sending a status (the client went away) counts
// as CANCELLED.
class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(Metrics* metrics, const char* method)
      : metrics_(metrics),
        rpc_(Metrics::RpcLabel(method == nullptr ? "" : method)),
        items_(method != nullptr &&
               (absl::string_view(method) == "/explainer.v1.Explainer/Explain" ||
                absl::string_view(method) == "/explainer.v1.Explainer/ExplainImage")) {
    metrics_->CallStarted(rpc_);
  }

  // gRPC deletes the interceptors when the call is over.
  ~MetricsInterceptor() override {
    if (!status_seen_) metrics_->RecordCall(rpc_, grpc::StatusCode::CANCELLED, "");
    metrics_->CallEnded(rpc_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (items_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      // The message before serialisation; null only when another interceptor has
      // serialised it already (there is none).
      if (const void* message = methods->GetSendMessage(); message != nullptr) {
        metrics_->RecordItem(rpc_, *static_cast<const v1::ExplainResponse*>(message));
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      status_seen_ = true;
      metrics_->RecordCall(rpc_, status.error_code(), status.error_message());
    }
    methods->Proceed();
  }

 private:
  Metrics* const metrics_;
  const std::string rpc_;
  const bool items_;
  bool status_seen_ = false;
};

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info->method());
  }

 private:
  Metrics* const metrics_;
};

}  // namespace

std::string Metrics::RpcLabel(absl::string_view method) {
  if (absl::ConsumePrefix(&method, kExplainerService)) return std::string(method);
  absl::ConsumePrefix(&method, "/");
  return method.empty() ? "unknown" : std::string(method);
}

std::string Metrics::RefusalReason(grpc::StatusCode code, absl::string_view message) {
  switch (code) {
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // Admission names the limit that was reached (admission.cc).
      if (absl::StrContains(message, "--max_inflight_items")) return "max_inflight_items";
      if (absl::StrContains(message, "--max_inflight_mb")) return "max_inflight_mb";
      if (absl::StrContains(message, "--max_streams")) return "max_streams";
      return "resource_exhausted";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    default:
      return "";
  }
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
Metrics::InterceptorFactories() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      factories;
  factories.push_back(std::make_unique<MetricsInterceptorFactory>(this));
  return factories;
}

#if EXPLAINER_WITH_PROMETHEUS

namespace {

// Latency buckets in seconds: 1 ms to 30 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1.0,    2.5,   5.0,  10.0,  30.0};
}

prometheus::MetricFamily GaugeFamily(std::string name, std::string help) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  return family;
}

void AddSample(prometheus::MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

}  // namespace

// The registry (event metrics) plus what is sampled at scrape time; registered with
// the Exposer as one Collectable.
struct Metrics::Impl : public prometheus::Collectable {
  std::shared_ptr<prometheus::Registry> registry =
      std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& items =
      prometheus::BuildCounter()
          .Name("explainer_items_total")
          .Help("Images answered, by RPC and outcome code (OK or the per-item error)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& calls =
      prometheus::BuildCounter()
          .Name("explainer_calls_total")
          .Help("RPCs finished, by RPC and final gRPC status code")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& calls_in_flight =
      prometheus::BuildGauge()
          .Name("explainer_calls_in_flight")
          .Help("RPCs open now, by RPC (rpc=\"Explain\": streams in flight)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& refused =
      prometheus::BuildCounter()
          .Name("explainer_refused_calls_total")
          .Help("RPCs refused, by RPC and reason (admission limit, authentication)")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& stages =
      prometheus::BuildHistogram()
          .Name("explainer_stage_duration_seconds")
          .Help("Per-image time in each server stage (decode, preprocess, queue, "
                "inference, postprocess, total), from the answered items' timings")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& batch_sizes =
      prometheus::BuildHistogram()
          .Name("explainer_batch_size")
          .Help("Images per engine batch")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& batch_errors =
      prometheus::BuildCounter()
          .Name("explainer_batch_errors_total")
          .Help("Engine batches that failed as a whole")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& model_info =
      prometheus::BuildGauge()
          .Name("explainer_model_info")
          .Help("The served model: always 1, labelled with name, version and device")
          .Register(*registry);

  std::array<prometheus::Histogram*, 6> stage_histograms{};
  prometheus::Histogram* batch_size_histogram = nullptr;

  mutable absl::Mutex sources_mu;
  std::function<ServerState()> state_source ABSL_GUARDED_BY(sources_mu);
  std::function<std::optional<DeviceMemory>()> device_memory_source
      ABSL_GUARDED_BY(sources_mu);
  std::string device ABSL_GUARDED_BY(sources_mu) = "cpu";
  std::shared_ptr<prometheus::Collectable> handle;
  std::unique_ptr<prometheus::Exposer> exposer;  // after handle: destroyed first
  int port = 0;

  Impl() {
    static constexpr std::array<const char*, 6> kStages = {
        "decode", "preprocess", "queue", "inference", "postprocess", "total"};
    for (size_t i = 0; i < kStages.size(); ++i) {
      stage_histograms[i] = &stages.Add({{"stage", kStages[i]}}, LatencyBuckets());
    }
    batch_size_histogram =
        &batch_sizes.Add({}, prometheus::Histogram::BucketBoundaries{
                                 1, 2, 4, 8, 16, 32, 64, 128});
    batch_errors.Add({});
    // Present from the start, so dashboards show 0 rather than "no data".
    for (const char* rpc : {"Explain", "ExplainImage"}) {
      items.Add({{"rpc", rpc}, {"code", "OK"}});
      calls.Add({{"rpc", rpc}, {"code", "OK"}});
      calls_in_flight.Add({{"rpc", rpc}});
    }
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families = registry->Collect();
    absl::MutexLock lock(&sources_mu);
    if (state_source) {
      const ServerState state = state_source();
      prometheus::MetricFamily queue = GaugeFamily(
          "explainer_queue_depth", "Images waiting for an engine batch");
      AddSample(queue, state.queue_depth);
      prometheus::MetricFamily items_now = GaugeFamily(
          "explainer_items_in_flight", "Images taken by the server and not answered yet");
      AddSample(items_now, state.items_in_flight);
      families.push_back(std::move(queue));
      families.push_back(std::move(items_now));
    }
    const ProcessSample process = SampleProcess();
    if (process.ok) {
      prometheus::MetricFamily cpu;
      cpu.name = "process_cpu_seconds_total";
      cpu.help = "User and system CPU time of the server process, in seconds";
      cpu.type = prometheus::MetricType::Counter;
      AddSample(cpu, process.cpu_seconds);
      prometheus::MetricFamily rss = GaugeFamily(
          "process_resident_memory_bytes", "Resident memory of the server process");
      AddSample(rss, process.resident_bytes);
      families.push_back(std::move(cpu));
      families.push_back(std::move(rss));
    }
    if (device_memory_source) {
      if (const std::optional<DeviceMemory> memory = device_memory_source()) {
        prometheus::MetricFamily allocated = GaugeFamily(
            "explainer_cuda_memory_allocated_bytes",
            "CUDA memory held by tensors (LibTorch caching allocator)");
        AddSample(allocated, static_cast<double>(memory->allocated_bytes),
                  {{"device", device}});
        prometheus::MetricFamily reserved = GaugeFamily(
            "explainer_cuda_memory_reserved_bytes",
            "CUDA memory reserved by the LibTorch caching allocator");
        AddSample(reserved, static_cast<double>(memory->reserved_bytes),
                  {{"device", device}});
        families.push_back(std::move(allocated));
        families.push_back(std::move(reserved));
      }
    }
    return families;
  }
};

bool MetricsAvailable() { return true; }

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const MetricsOptions& options) {
  auto impl = std::make_unique<Impl>();
  if (!options.address.empty()) {
    try {
      impl->exposer = std::make_unique<prometheus::Exposer>(options.address, 2);
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat(
          "cannot serve metrics on ", options.address,
          ": the address is in use or is not a valid host:port (", e.what(), ")"));
    }
    const std::vector<int> ports = impl->exposer->GetListeningPorts();
    impl->port = ports.empty() ? 0 : ports.front();
  }
  std::unique_ptr<Metrics> metrics(new Metrics(std::move(impl)));
  return metrics;
}

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  if (impl_->exposer != nullptr) {
    // A non-owning handle (the Exposer keeps a weak_ptr to it): impl_ outlives the
    // Exposer, which ~Metrics stops first.
    impl_->handle = std::shared_ptr<prometheus::Collectable>(
        impl_.get(), [](prometheus::Collectable*) {});
    impl_->exposer->RegisterCollectable(impl_->handle);
  }
}

Metrics::~Metrics() {
  // Stop serving before the collectable goes.
  if (impl_ != nullptr) impl_->exposer.reset();
}

int Metrics::port() const { return impl_->port; }

void Metrics::SetModelInfo(absl::string_view name, absl::string_view version,
                           absl::string_view device) {
  {
    absl::MutexLock lock(&impl_->sources_mu);
    impl_->device = std::string(device);
  }
  impl_->model_info
      .Add({{"name", std::string(name)},
            {"version", std::string(version)},
            {"device", std::string(device)}})
      .Set(1);
}

void Metrics::SetStateSource(std::function<ServerState()> source) {
  absl::MutexLock lock(&impl_->sources_mu);
  impl_->state_source = std::move(source);
}

void Metrics::SetDeviceMemorySource(
    std::function<std::optional<DeviceMemory>()> source) {
  absl::MutexLock lock(&impl_->sources_mu);
  impl_->device_memory_source = std::move(source);
}

void Metrics::ClearSources() {
  absl::MutexLock lock(&impl_->sources_mu);
  impl_->state_source = nullptr;
  impl_->device_memory_source = nullptr;
}

void Metrics::CallStarted(absl::string_view rpc) {
  impl_->calls_in_flight.Add({{"rpc", std::string(rpc)}}).Increment();
}

void Metrics::CallEnded(absl::string_view rpc) {
  impl_->calls_in_flight.Add({{"rpc", std::string(rpc)}}).Decrement();
}

Metrics::BatchRunner Metrics::WrapRunner(BatchRunner runner) {
  Impl* impl = impl_.get();
  return [impl, runner = std::move(runner)](absl::Span<const engine::EngineItem> batch) {
    impl->batch_size_histogram->Observe(static_cast<double>(batch.size()));
    absl::StatusOr<std::vector<engine::EngineResult>> results = runner(batch);
    if (!results.ok()) impl->batch_errors.Add({}).Increment();
    return results;
  };
}

void Metrics::RecordItem(absl::string_view rpc, const v1::ExplainResponse& response) {
  const std::string code =
      response.has_error() ? CodeName(response.error().code()) : "OK";
  impl_->items.Add({{"rpc", std::string(rpc)}, {"code", code}}).Increment();
  if (!response.has_result()) return;
  const v1::StageTimings& t = response.result().timings();
  const std::array<float, 6> ms = {t.decode_ms(),    t.preprocess_ms(),
                                   t.queue_ms(),     t.inference_ms(),
                                   t.postprocess_ms(), t.total_ms()};
  for (size_t i = 0; i < ms.size(); ++i) {
    impl_->stage_histograms[i]->Observe(ms[i] / 1000.0);
  }
}

void Metrics::RecordCall(absl::string_view rpc, grpc::StatusCode code,
                         absl::string_view message) {
  impl_->calls.Add({{"rpc", std::string(rpc)}, {"code", CodeName(code)}}).Increment();
  const std::string reason = RefusalReason(code, message);
  if (!reason.empty()) {
    impl_->refused.Add({{"rpc", std::string(rpc)}, {"reason", reason}}).Increment();
  }
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(impl_->Collect());
}

#else  // !EXPLAINER_WITH_PROMETHEUS: the server builds, --metrics_address is refused.

struct Metrics::Impl {};

bool MetricsAvailable() { return false; }

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const MetricsOptions&) {
  return absl::FailedPreconditionError(
      "this explainer-server was built without prometheus-cpp, so --metrics_address "
      "is not available (install prometheus-cpp-dev and rebuild)");
}
Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;
int Metrics::port() const { return 0; }
void Metrics::SetModelInfo(absl::string_view, absl::string_view, absl::string_view) {}
void Metrics::SetStateSource(std::function<ServerState()>) {}
void Metrics::SetDeviceMemorySource(std::function<std::optional<DeviceMemory>()>) {}
void Metrics::ClearSources() {}
void Metrics::CallStarted(absl::string_view) {}
void Metrics::CallEnded(absl::string_view) {}
Metrics::BatchRunner Metrics::WrapRunner(BatchRunner runner) { return runner; }
void Metrics::RecordItem(absl::string_view, const v1::ExplainResponse&) {}
void Metrics::RecordCall(absl::string_view, grpc::StatusCode, absl::string_view) {}
std::string Metrics::Scrape() const { return ""; }

#endif  // EXPLAINER_WITH_PROMETHEUS

}  // namespace explainer::server
