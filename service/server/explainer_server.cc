// Server start-up, warm-up, health and graceful shutdown (see explainer_server.h).
#include "service/server/explainer_server.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/preprocess.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "service/security/server_security.h"
#include "service/security/token_auth.h"
#include "service/server/metrics.h"
#include "service/server/thread_budget.h"

namespace explainer::server {
namespace {

// Both are process-wide switches that are not thread-safe: set them once.
void InitGrpcPlugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

v1::ModelInfo MakeModelInfo(const engine::ModelSpec& spec, const std::string& device,
                            const ServerOptions& options) {
  v1::ModelInfo info;
  info.set_name(spec.name);
  info.set_version(spec.version);
  for (const std::string& name : spec.class_names) info.add_class_names(name);
  info.set_input_width(spec.input_size.width);
  info.set_input_height(spec.input_size.height);
  for (float m : spec.normalization.mean) info.add_mean(m);
  for (float s : spec.normalization.std) info.add_std(s);
  info.set_device(device);
  info.set_target_layer(spec.target_layer);
  // Every CAM method, by its wire value (the engine's AllCamMethods() index), with cost.
  const auto methods = engine::AllCamMethods();
  for (size_t i = 0; i < methods.size(); ++i) {
    info.add_methods(static_cast<v1::CamMethod>(i));
    v1::CamMethodInfo* method = info.add_method_info();
    method->set_method(static_cast<v1::CamMethod>(i));
    method->set_name(methods[i].name);
    method->set_reference(methods[i].reference);
    method->set_cost(methods[i].cost);
    method->set_uses_gradients(methods[i].uses_gradients);
    method->set_eigen_smooth(methods[i].eigen_smooth);
  }
  info.set_max_batch_size(options.max_batch_size);
  info.set_max_image_pixels(options.max_image_pixels);
  return info;
}

// "host:port" with a numeric port (gRPC would quietly take "host:" as port 443), or
// a "unix:" socket path.
absl::Status CheckAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:")) return absl::OkStatus();
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address \"", address, "\" is not host:port (e.g. 127.0.0.1:50051, [::]:0)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ExplainerServer>> ExplainerServer::Start(
    const ServerOptions& options, const engine::ModelLoader& load_model) {
  EXPLAINER_RETURN_IF_ERROR(CheckAddress(options.address));  // before the slow model load
  EXPLAINER_RETURN_IF_ERROR(security::ServerSecurity::Check(options.security));
  engine::EngineOptions engine_options;
  engine_options.model_path = options.model_path;
  engine_options.device = options.device;
  // 0 (the default) in --threads / --workers: the cores split between the engine and
  // the pool (thread_budget.h), the same split Init gives the pool.
  engine_options.intra_op_threads =
      PlanThreads(AvailableCores(), options.device, options.intra_op_threads, options.workers)
          .intra_op_threads;
  // The loader's message names the bundle and what is wrong with it.
  EXPLAINER_ASSIGN_OR_RETURN(std::unique_ptr<engine::ModelRunner> model,
                             load_model(engine_options), "cannot load the model");
  std::unique_ptr<ExplainerServer> server(new ExplainerServer(options, model->device()));
  engine::ModelRunner* raw = model.get();
  if (options.metrics != nullptr) {
    options.metrics->SetDeviceMemorySource([raw] { return raw->device_memory(); });
  }
  server->model_ = std::move(model);
  EXPLAINER_RETURN_IF_ERROR(server->Init(
      raw->spec(),
      [raw](absl::Span<const engine::EngineItem> batch) { return raw->Run(batch); }));
  return server;
}

absl::StatusOr<std::unique_ptr<ExplainerServer>> ExplainerServer::StartWithRunner(
    const ServerOptions& options, engine::ModelSpec spec, std::string device,
    BatchRunner runner) {
  std::unique_ptr<ExplainerServer> server(
      new ExplainerServer(options, std::move(device)));
  EXPLAINER_RETURN_IF_ERROR(server->Init(std::move(spec), std::move(runner)));
  return server;
}

ExplainerServer::ExplainerServer(const ServerOptions& options, std::string device)
    : options_(options), device_(std::move(device)) {}

ExplainerServer::~ExplainerServer() {
  Shutdown();
  // The metrics' sources point into this server.
  if (options_.metrics != nullptr) options_.metrics->ClearSources();
}

absl::Status ExplainerServer::Init(engine::ModelSpec spec, BatchRunner runner) {
  EXPLAINER_RETURN_IF_ERROR(CheckAddress(options_.address));
  model_info_ = MakeModelInfo(spec, device_, options_);
  // Hashed once at load (not by the engine): ModelInfo, audit lines and DICOM SRs name it.
  if (absl::StatusOr<std::string> hash = security::FileSha256(options_.model_path); hash.ok()) {
    model_info_.set_bundle_sha256(*hash);
  }
  EXPLAINER_ASSIGN_OR_RETURN(security_, security::ServerSecurity::Create(options_.security));
  admission_ = std::make_unique<Admission>(options_.admission);
  pool_ = std::make_unique<WorkerPool>(
      PlanThreads(AvailableCores(), options_.device, options_.intra_op_threads, options_.workers)
          .workers);
  BatcherOptions batcher_options;
  batcher_options.max_batch_size = options_.max_batch_size;
  batcher_options.max_delay = options_.batch_delay;
  if (options_.metrics != nullptr) runner = options_.metrics->WrapRunner(std::move(runner));
  batcher_ = std::make_unique<Batcher>(std::move(runner), batcher_options);
  ItemLimits limits;
  limits.max_image_pixels = options_.max_image_pixels;
  limits.max_response_bytes = options_.max_message_bytes;
  limits.annotation = options_.annotation_limits;
  limits.png_compression = options_.png_compression;
  limits.fast_decode = options_.fast_decode;
  limits.bundle_sha256 = model_info_.bundle_sha256();
  processor_ = std::make_unique<ItemProcessor>(std::move(spec), limits, pool_.get(),
                                               batcher_.get());
  service_ = std::make_unique<ExplainerService>(processor_.get(), admission_.get(),
                                                model_info_, options_.stream_window);

  InitGrpcPlugins();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.address, security_->credentials(), &port_);
  // gRPC's default SO_REUSEPORT would let a second server share a port in use
  // instead of failing; we want "address in use" to be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  if (options_.keepalive_time > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
    builder.AddChannelArgument(
        GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  }
  // The client's keepalive (client/connection.cc, 30 s during calls) must not be taken
  // for abuse: gRPC's default answers pings more often than every 5 min with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  if (options_.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options_.max_connection_age)));
    // Calls still open when the age is reached get the drain grace to finish.
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options_.shutdown_grace)));
  }
  // The audit interceptor (if any) and the metrics interceptor see every call.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors = security_->InterceptorFactories(model_info_);
  if (options_.metrics != nullptr) {
    for (auto& factory : options_.metrics->InterceptorFactories()) {
      interceptors.push_back(std::move(factory));
    }
    options_.metrics->SetStateSource([this] {
      ServerState state;
      state.queue_depth = batcher_->queued();
      state.items_in_flight = processor_->in_flight();
      return state;
    });
  }
  if (!interceptors.empty()) {
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  security_->ConfigureBuilder(&builder);  // reflection off when TLS or tokens are on
  builder.RegisterService(security_->Guard(service_.get()));  // the token check
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.address,
                     ": the address is in use or is not a valid host:port"));
  }
  // The default health service starts out SERVING; we are not, until warmed up.
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return absl::InternalError("the gRPC health service is missing");
  health->SetServingStatus(v1::Explainer::service_full_name(), false);
  health->SetServingStatus(false);

  EXPLAINER_RETURN_IF_ERROR(WarmUp());
  health->SetServingStatus(true);
  if (options_.stall_threshold > absl::ZeroDuration()) {
    watchdog_ = std::thread([this] { WatchForStalls(); });
  }
  return absl::OkStatus();
}

void ExplainerServer::WatchForStalls() {
  const absl::Duration period = std::clamp(options_.stall_threshold / 4,
                                           absl::Milliseconds(10), absl::Seconds(1));
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  while (!stop_watchdog_.WaitForNotificationWithTimeout(period)) {
    const absl::Time now = absl::Now();
    const absl::Duration pool_stall = pool_->StalledFor(now);
    const absl::Duration batch_stall = batcher_->StalledFor(now);
    const bool stalled = std::max(pool_stall, batch_stall) >= options_.stall_threshold;
    if (stalled == stalled_.load()) continue;
    stalled_ = stalled;
    // Both names, as at start-up: load balancers probe "", clients the service.
    health->SetServingStatus(v1::Explainer::service_full_name(), !stalled);
    health->SetServingStatus(!stalled);
    if (stalled) {
      std::cerr << "explainer-server: health NOT_SERVING: nothing finished for "
                << absl::FormatDuration(std::max(pool_stall, batch_stall)) << " while "
                << pool_->queued() << " pool tasks and " << batcher_->queued()
                << " engine items wait (stall threshold "
                << absl::FormatDuration(options_.stall_threshold) << ")" << std::endl;
    } else {
      std::cerr << "explainer-server: health SERVING again: work is finishing"
                << std::endl;
    }
  }
}

ExplainerServer::CallsInProgress ExplainerServer::calls_in_progress() const {
  CallsInProgress calls;
  if (service_ != nullptr) {
    calls.streams = service_->open_streams();
    calls.unary = service_->open_unary_calls();
  }
  if (processor_ != nullptr) calls.items = processor_->in_flight();
  return calls;
}

bool ExplainerServer::stalled() const { return stalled_.load(); }

absl::Status ExplainerServer::WarmUp() {
  // One real batch (with Grad-CAM) through the batcher, the engine's only caller:
  // the first call pays for lazy initialisation, not a client.
  const engine::ModelSpec& model = processor_->spec();
  const cv::Mat gray(model.input_size, CV_8UC3, cv::Scalar(128, 128, 128));
  absl::StatusOr<common::ModelInput> input =
      common::Preprocess(gray, model.input_size, model.normalization);
  if (!input.ok()) {
    return absl::InternalError(absl::StrCat("warm-up input: ", input.status().message()));
  }
  engine::EngineItem item;
  item.input = &*input;
  item.explain = true;
  absl::Notification done;
  absl::Status status;
  batcher_->Submit(item,
                   [&](absl::StatusOr<engine::EngineResult> result, const BatchStats&) {
                     status = result.status();
                     done.Notify();
                   });
  done.WaitForNotification();
  return common::Annotate(status, "warm-up batch failed");
}

void ExplainerServer::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  stop_watchdog_.Notify();
  if (watchdog_.joinable()) watchdog_.join();
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->Shutdown();  // NOT_SERVING from now on
    }
    // Waits for calls in progress (the pipeline keeps running so they can finish),
    // cancels whatever is left at the deadline.
    server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  }
  // Whatever cancelled streams still had in the pipeline runs out here; their
  // reactors drop the answers and delete themselves.
  if (batcher_ != nullptr) batcher_->Stop();
  pool_.reset();
}

std::string ExplainerServer::address() const {
  const std::string& configured = options_.address;
  if (absl::StartsWith(configured, "unix:")) return configured;
  const size_t colon = configured.rfind(':');
  const std::string host =
      colon == std::string::npos ? configured : configured.substr(0, colon);
  return absl::StrCat(host, ":", port_);
}

std::string ExplainerServer::StartupLine() const {
  const engine::ModelSpec& model = spec();
  return absl::StrFormat(
      "explainer-server: serving model \"%s\" version %s (classes: %s) on %s at %s%s",
      model.name, model.version, absl::StrJoin(model.class_names, ", "), device_,
      address(),
      // Said only when something is on, so a plain server's line stays as it was.
      security_ != nullptr && security_->any() ? absl::StrCat("; ", security_->Describe())
                                               : "");
}

}  // namespace explainer::server
