// explainer-server: flags, start-up, signals. Everything else is ExplainerServer.
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/process_heap.h"
#include "grpc/support/log.h"
#include "service/engine/engine.h"
#include "service/server/explainer_server.h"
#include "service/server/health_probe.h"
#include "service/server/idle_memory_trimmer.h"
#include "service/server/json_log.h"
#include "service/server/metrics.h"
#include "service/server/server_options.h"
#include "service/server/shutdown_controller.h"
#include "service/server/thread_budget.h"

#ifndef EXPLAINER_DEFAULT_MODEL
#define EXPLAINER_DEFAULT_MODEL "models/demo/explainer-demo.pt"
#endif

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "host:port to listen on; port 0 picks a free port (printed at start-up)");
ABSL_FLAG(std::string, model, "",
          "TorchScript model bundle (tools/export_model.py). Default: $EXPLAINER_MODEL, "
          "else the embedded demo bundle models/demo/explainer-demo.pt");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:N");
ABSL_FLAG(std::string, log_format, "text",
          "text, or json: the server's own log lines (start-up, shutdown, errors) as "
          "one JSON object per line (time, severity, logger, message)");
ABSL_FLAG(bool, health_check, false,
          "probe the server at --address (grpc.health.v1, a wildcard host probed on "
          "loopback) and exit: 0 when SERVING, 1 otherwise (container HEALTHCHECK)");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port to serve Prometheus metrics on, at /metrics (e.g. 0.0.0.0:9464); "
          "empty: no metrics");
ABSL_FLAG(int, max_connection_age_s, 0,
          "close each client connection after this many seconds (in-flight calls get "
          "the shutdown grace), so long-lived clients re-resolve and spread over new "
          "replicas; 0: never");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads; 0: the engine's share of the cores");
ABSL_FLAG(int, workers, 0, "decode / post-processing threads; 0: the rest of the cores");
ABSL_FLAG(int, max_batch_size, 8, "most images per engine batch");
ABSL_FLAG(int, batch_delay_ms, 5,
          "longest wait for a batch to fill, from its first image's arrival");
ABSL_FLAG(std::string, decode, "exact", "exact, or fast: big JPEGs decoded at 1/2..1/8 scale");
ABSL_FLAG(int, png_compression, -1, "PNG compression: -1 fast (OpenCV's), 0..9 zlib level");
ABSL_FLAG(int, max_message_mb, 64, "largest gRPC message received or sent, in MiB");
ABSL_FLAG(int64_t, max_image_pixels, 64LL * 1024 * 1024,
          "largest decoded image (width * height) accepted");
ABSL_FLAG(int64_t, max_annotation_bytes, 16LL * 1024 * 1024,
          "largest annotation_json accepted, in bytes (LabelMe imageData included)");
ABSL_FLAG(int64_t, max_annotation_shapes, 1000, "most shapes in one annotation");
ABSL_FLAG(int64_t, max_annotation_points, 100000, "most points in one annotation, all shapes");
ABSL_FLAG(int64_t, max_annotation_raster_work, int64_t{1} << 30,
          "most rasterising work for one annotation at the image's resolution, in units "
          "of about one mask pixel (a polygon edge on a row counts 32); about 1 s of a core");
ABSL_FLAG(int, stream_window, 32,
          "unanswered images per Explain stream before the server stops reading it");
ABSL_FLAG(int, max_inflight_items, 256,
          "images admitted and not yet answered, over all calls; when full, streams "
          "stop being read and ExplainImage calls get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_inflight_mb, 2048,
          "estimated memory of the images in flight (request bytes + decoded pixels), "
          "in MiB, over all calls; same effect as --max_inflight_items when full");
ABSL_FLAG(int, stall_threshold_s, 30,
          "health turns NOT_SERVING while work waits and nothing has finished for "
          "this many seconds; SERVING again when work finishes");
ABSL_FLAG(int, shutdown_hard_deadline_s, 30,
          "after the 5 s shutdown grace, seconds to wait for work in progress before "
          "logging the unanswered calls and exiting with status 2");
// Security (service/security; README "Running it securely").
ABSL_FLAG(int, keepalive_s, 0,
          "ping client connections idle this many seconds and close those that do not "
          "answer within --keepalive_timeout_s (dead peers, stale load-balancer paths); "
          "0: gRPC's default (2 h)");
ABSL_FLAG(int, keepalive_timeout_s, 20, "how long a keepalive ping may go unanswered");
ABSL_FLAG(int, max_streams, 0,
          "most Explain streams open at once; a stream over it is refused at once with "
          "RESOURCE_EXHAUSTED naming this flag; 0: no limit");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: serve TLS only (needs --tls_key); re-read when it changes");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert; re-read when it changes");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA(s): also require and verify client certificates (mutual TLS)");
ABSL_FLAG(int, tls_reload_s, 10, "how often the TLS files are checked for changes, seconds");
ABSL_FLAG(std::string, auth_tokens, "",
          "file of name:token lines: every Explainer call must carry 'authorization: Bearer "
          "<token>' (health stays open); re-read when it changes");
ABSL_FLAG(std::string, audit_log, "",
          "append one JSON line per answered item and refused call to this file ('-': "
          "stderr); reopened on SIGHUP or when renamed");
ABSL_FLAG(std::string, reflection, "auto",
          "gRPC server reflection: on, off, or auto (on unless TLS or tokens are on)");

namespace explainer::server {
namespace {

namespace fs = std::filesystem;

bool IsFile(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

// --model's default. CMake compiles in an absolute path; Bazel a workspace-relative
// one, looked up where `bazel run` and the runfiles tree put it, then in the working
// directory (the repository root).
std::string DefaultModelPath(const char* argv0) {
  if (const char* env = std::getenv("EXPLAINER_MODEL"); env != nullptr && *env != '\0') {
    return env;
  }
  const fs::path compiled(EXPLAINER_DEFAULT_MODEL);
  if (compiled.is_absolute()) return compiled.string();
  std::vector<fs::path> candidates;
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    candidates.push_back(fs::path(ws) / compiled);
  }
  std::vector<fs::path> runfiles_roots;
  if (const char* dir = std::getenv("RUNFILES_DIR")) runfiles_roots.emplace_back(dir);
  runfiles_roots.push_back(fs::path(std::string(argv0) + ".runfiles"));
  for (const fs::path& root : runfiles_roots) {
    std::error_code error;
    for (fs::directory_iterator it(root, error), end; !error && it != end;
         it.increment(error)) {
      candidates.push_back(it->path() / compiled);
    }
  }
  candidates.push_back(compiled);
  for (const fs::path& candidate : candidates) {
    if (IsFile(candidate)) return candidate.string();
  }
  return compiled.string();
}

// gRPC logs its own multi-line account of start-up failures (e.g. a port in use)
// next to ours; until the server runs, ours is the one line users see. After that,
// gRPC errors go to stderr tagged. GRPC_VERBOSITY set: gRPC's own logging untouched.
std::atomic<bool> grpc_log_quiet{true};

void GrpcLog(gpr_log_func_args* args) {
  if (grpc_log_quiet.load() || args->severity < GPR_LOG_SEVERITY_ERROR) return;
  std::fprintf(stderr, "explainer-server: grpc: %s (%s:%d)\n", args->message, args->file,
               args->line);
}

absl::Status CheckAtLeast(const char* flag, int64_t value, int64_t minimum) {
  if (value >= minimum) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be at least ", minimum, " (got ", value, ")"));
}

absl::StatusOr<ServerOptions> OptionsFromFlags(const char* argv0) {
  ServerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.model_path = absl::GetFlag(FLAGS_model);
  if (options.model_path.empty()) options.model_path = DefaultModelPath(argv0);
  options.device = absl::GetFlag(FLAGS_device);
  const int connection_age_s = absl::GetFlag(FLAGS_max_connection_age_s);
  if (connection_age_s < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_connection_age_s must be at least 0 (got ", connection_age_s, ")"));
  }
  options.max_connection_age = absl::Seconds(connection_age_s);
  options.intra_op_threads = absl::GetFlag(FLAGS_threads);
  options.workers = absl::GetFlag(FLAGS_workers);
  options.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  const int delay_ms = absl::GetFlag(FLAGS_batch_delay_ms);
  options.batch_delay = absl::Milliseconds(delay_ms);
  const int message_mb = absl::GetFlag(FLAGS_max_message_mb);
  options.max_image_pixels = absl::GetFlag(FLAGS_max_image_pixels);
  options.annotation_limits.max_bytes = absl::GetFlag(FLAGS_max_annotation_bytes);
  options.annotation_limits.max_shapes = absl::GetFlag(FLAGS_max_annotation_shapes);
  options.annotation_limits.max_points = absl::GetFlag(FLAGS_max_annotation_points);
  options.annotation_limits.max_raster_work = absl::GetFlag(FLAGS_max_annotation_raster_work);
  options.stream_window = absl::GetFlag(FLAGS_stream_window);
  options.png_compression = absl::GetFlag(FLAGS_png_compression);
  options.fast_decode = absl::GetFlag(FLAGS_decode) == "fast";
  if ((!options.fast_decode && absl::GetFlag(FLAGS_decode) != "exact") ||
      options.png_compression < -1 || options.png_compression > 9) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decode must be exact or fast and --png_compression -1 (fast) or 0..9 (got \"",
        absl::GetFlag(FLAGS_decode), "\" and ", options.png_compression, ")"));
  }
  options.admission.max_inflight_items = absl::GetFlag(FLAGS_max_inflight_items);
  const int inflight_mb = absl::GetFlag(FLAGS_max_inflight_mb);
  options.admission.max_inflight_bytes = int64_t{inflight_mb} * 1024 * 1024;
  const int stall_s = absl::GetFlag(FLAGS_stall_threshold_s);
  options.stall_threshold = absl::Seconds(stall_s);
  const int hard_deadline_s = absl::GetFlag(FLAGS_shutdown_hard_deadline_s);
  options.shutdown_hard_deadline = absl::Seconds(hard_deadline_s);
  options.keepalive_time = absl::Seconds(absl::GetFlag(FLAGS_keepalive_s));
  options.keepalive_timeout = absl::Seconds(absl::GetFlag(FLAGS_keepalive_timeout_s));
  if (absl::GetFlag(FLAGS_keepalive_s) < 0 || absl::GetFlag(FLAGS_keepalive_timeout_s) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--keepalive_s must be at least 0 and --keepalive_timeout_s at least 1 (got ",
        absl::GetFlag(FLAGS_keepalive_s), " and ", absl::GetFlag(FLAGS_keepalive_timeout_s), ")"));
  }
  options.admission.max_streams = absl::GetFlag(FLAGS_max_streams);
  if (options.admission.max_streams < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_streams must be at least 0 (got ", options.admission.max_streams, ")"));
  }
  options.security.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.security.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.security.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  const int tls_reload_s = absl::GetFlag(FLAGS_tls_reload_s);
  options.security.tls.reload_interval = absl::Seconds(tls_reload_s);
  options.security.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens);
  options.security.audit_log = absl::GetFlag(FLAGS_audit_log);
  if (const std::string reflection = absl::GetFlag(FLAGS_reflection); reflection != "auto") {
    if (reflection != "on" && reflection != "off") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--reflection must be on, off or auto (got \"", reflection, "\")"));
    }
    options.security.reflection = reflection == "on";
  }
  if (tls_reload_s < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_reload_s must be at least 1 (got ", tls_reload_s, ")"));
  }

  for (const absl::Status& status :
       {CheckAtLeast("threads", options.intra_op_threads, 0),
        CheckAtLeast("workers", options.workers, 0),
        CheckAtLeast("max_batch_size", options.max_batch_size, 1),
        CheckAtLeast("batch_delay_ms", delay_ms, 0),
        CheckAtLeast("max_message_mb", message_mb, 1),
        CheckAtLeast("max_image_pixels", options.max_image_pixels, 1),
        CheckAtLeast("max_annotation_bytes", options.annotation_limits.max_bytes, 1),
        CheckAtLeast("max_annotation_shapes", options.annotation_limits.max_shapes, 1),
        CheckAtLeast("max_annotation_points", options.annotation_limits.max_points, 1),
        CheckAtLeast("max_annotation_raster_work", options.annotation_limits.max_raster_work, 1),
        CheckAtLeast("stream_window", options.stream_window, 1),
        CheckAtLeast("max_inflight_items", options.admission.max_inflight_items, 1),
        CheckAtLeast("max_inflight_mb", inflight_mb, 1),
        CheckAtLeast("stall_threshold_s", stall_s, 1),
        CheckAtLeast("shutdown_hard_deadline_s", hard_deadline_s, 0)}) {
    if (!status.ok()) return status;
  }
  if (message_mb > 2047) {  // gRPC takes the size as an int of bytes
    return absl::InvalidArgumentError(
        absl::StrCat("--max_message_mb must be at most 2047 (got ", message_mb, ")"));
  }
  options.max_message_bytes = message_mb * 1024 * 1024;
  if (options.address.empty()) {
    return absl::InvalidArgumentError("--address must not be empty (use host:port)");
  }
  return options;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves a TorchScript classifier with Grad-CAM explanations over gRPC "
      "(explainer.v1.Explainer, grpc.health.v1, server reflection).\n"
      "Usage: explainer-server [--address=127.0.0.1:50051] [--model=bundle.pt] "
      "[--device=cpu|cuda|cuda:N] ...");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_health_check)) {
    const std::string target = ProbeTarget(absl::GetFlag(FLAGS_address));
    // A TLS server is probed over TLS (server not verified: it is our own, on
    // loopback); under mTLS --tls_cert/--tls_key are the probe's client certificate.
    security::TlsOptions tls;
    tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
    tls.key_file = absl::GetFlag(FLAGS_tls_key);
    tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        security::MakeProbeCredentials(tls);
    if (!credentials.ok()) {
      std::cerr << "explainer-server: " << credentials.status().message() << std::endl;
      return 1;
    }
    const absl::StatusOr<int> health = ProbeHealth(target, "", absl::Seconds(3), *credentials);
    if (health.ok() && *health == 1) {
      std::cout << "explainer-server: " << target << " is SERVING" << std::endl;
      return 0;
    }
    std::cerr << "explainer-server: health check of " << target << ": "
              << (!health.ok() ? std::string(health.status().message())
                               : *health == 2 ? "NOT_SERVING" : "status UNKNOWN")
              << std::endl;
    return 1;
  }

  // Signals are taken by sigwait below; block them before any thread exists so
  // every thread (ours, gRPC's, LibTorch's) inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // SIGHUP reopens the audit log (rotation); taken by the same sigwait, but not a
  // second signal during shutdown.
  sigset_t waited = signals;
  sigaddset(&waited, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);

  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(GrpcLog);
  if (const std::string format = absl::GetFlag(FLAGS_log_format); format == "json") {
    InstallJsonLogging(/*grpc_errors=*/std::getenv("GRPC_VERBOSITY") == nullptr);
  } else if (format != "text") {
    std::cerr << "explainer-server: --log_format must be text or json (got \"" << format
              << "\")" << std::endl;
    return 1;
  }

  absl::StatusOr<ServerOptions> options = OptionsFromFlags(argv[0]);
  if (!options.ok()) {
    std::cerr << "explainer-server: " << options.status().message() << std::endl;
    return 1;
  }
  // Before the server, which reports to them (and is destroyed before them).
  std::unique_ptr<Metrics> metrics;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_address); !address.empty()) {
    absl::StatusOr<std::unique_ptr<Metrics>> created = Metrics::Create({address});
    if (!created.ok()) {
      std::cerr << "explainer-server: " << created.status().message() << std::endl;
      return 1;
    }
    metrics = std::move(*created);
    options->metrics = metrics.get();
  }
  absl::StatusOr<std::unique_ptr<ExplainerServer>> server =
      ExplainerServer::Start(*options, engine::LoadModel);  // LibTorch enters here
  if (!server.ok()) {
    std::cerr << "explainer-server: " << server.status().message();
    if (absl::GetFlag(FLAGS_model).empty() && std::getenv("EXPLAINER_MODEL") == nullptr &&
        !IsFile(options->model_path)) {
      std::cerr << " (no --model given, so the embedded demo bundle was tried: pass "
                   "--model=PATH or set EXPLAINER_MODEL)";
    }
    std::cerr << std::endl;
    return 1;
  }
  grpc_log_quiet = false;
  std::cout << (*server)->StartupLine() << std::endl;  // endl flushes: scripts wait on it
  const ThreadBudget budget = PlanThreads(AvailableCores(), options->device,
                                          options->intra_op_threads, options->workers);
  std::cout << "explainer-server: " << AvailableCores() << " cores: " << budget.intra_op_threads
            << " engine threads, " << budget.workers << " workers; heap allocator "
            << common::HeapAllocatorName() << std::endl;
  if (metrics != nullptr) {
    metrics->SetModelInfo((*server)->spec().name, (*server)->spec().version,
                          (*server)->device());
    std::cerr << "explainer-server: metrics at http://"
              << absl::GetFlag(FLAGS_metrics_address).substr(
                     0, absl::GetFlag(FLAGS_metrics_address).rfind(':'))
              << ":" << metrics->port() << "/metrics" << std::endl;
  }

  ExplainerServer* serving = server->get();
  IdleMemoryTrimmer trimmer([serving] { return serving->items_in_flight(); },
                            common::ReleaseFreeHeapMemory);

  int signal = 0;
  while (sigwait(&waited, &signal) == 0 && signal == SIGHUP) {
    (*server)->security().ReopenAuditLog();
  }
  std::cerr << "explainer-server: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down" << std::endl;
  // A stage that never ends (a stuck decode, a hung device) would hold the graceful
  // shutdown forever: bound it, and let a second signal cut it short.
  ExplainerServer* raw = server->get();
  const absl::Duration limit = options->shutdown_grace + options->shutdown_hard_deadline;
  const ShutdownOutcome outcome = RunShutdown(
      [raw] { raw->Shutdown(); }, limit, [&signals](absl::Duration timeout) {
        const timespec wait = absl::ToTimespec(timeout);
        const int got = sigtimedwait(&signals, nullptr, &wait);
        return got > 0 ? got : 0;
      });
  if (outcome.kind == ShutdownOutcome::Kind::kClean) return 0;
  const ExplainerServer::CallsInProgress calls = raw->calls_in_progress();
  std::cerr << ForcedExitLine(outcome, limit, calls.streams, calls.unary, calls.items)
            << std::endl;
  std::fflush(stdout);
  std::_Exit(kForcedExitCode);  // no destructors: they would wait for the stuck work
}

}  // namespace
}  // namespace explainer::server

int main(int argc, char** argv) {
  explainer::common::ConfigureProcessHeap();  // before any thread starts
  return explainer::server::Main(argc, argv);
}
