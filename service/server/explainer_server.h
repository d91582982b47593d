// The whole server: model, worker pool, batcher, gRPC with the Explainer, health and
// reflection services. Owns start-up (load, listen, warm up, SERVING) and graceful
// shutdown; server_main.cc only adds flags and signals, so tests run the real thing.
#ifndef EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVER_H_
#define EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "explainer/v1/explainer.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/engine/engine_api.h"
#include "service/engine/model_spec.h"
#include "service/security/server_security.h"
#include "service/server/admission.h"
#include "service/server/batcher.h"
#include "service/server/explainer_service.h"
#include "service/server/item_processor.h"
#include "service/server/server_options.h"
#include "service/server/worker_pool.h"

namespace explainer::server {

class ExplainerServer {
 public:
  // Loads options.model_path on options.device with `load_model` (engine::LoadModel in
  // the binary: the server library itself never links LibTorch), listens on
  // options.address, runs one warm-up batch through the model, then reports SERVING on
  // the health service. Errors say what failed: the model (the loader's message), the
  // address, the warm-up.
  static absl::StatusOr<std::unique_ptr<ExplainerServer>> Start(
      const ServerOptions& options, const engine::ModelLoader& load_model);

  // The same server around any batch runner and model spec instead of a model file
  // (tests use fakes; no LibTorch needed).
  static absl::StatusOr<std::unique_ptr<ExplainerServer>> StartWithRunner(
      const ServerOptions& options, engine::ModelSpec spec, std::string device,
      BatchRunner runner);

  // Shutdown().
  ~ExplainerServer();

  ExplainerServer(const ExplainerServer&) = delete;
  ExplainerServer& operator=(const ExplainerServer&) = delete;

  // Health NOT_SERVING, stop accepting calls, let calls in progress finish for up to
  // options.shutdown_grace, cancel the rest, then drain the batcher and the pool.
  // Idempotent. Cancelled calls' queued items are dropped, not run, but an item
  // already inside a stage finishes it, so this can outlast the grace; the binary
  // bounds it with options.shutdown_hard_deadline.
  void Shutdown();

  int port() const { return port_; }
  std::string address() const;  // host of options.address with the bound port
  const engine::ModelSpec& spec() const { return processor_->spec(); }
  const std::string& device() const { return device_; }
  const v1::ModelInfo& model_info() const { return model_info_; }

  // `explainer-server: serving model "<name>" version <v> (classes: A, B, C) on
  // <device> at <host>:<port>`: the one line the binary prints on stdout.
  std::string StartupLine() const;

  // Requests inside the item pipeline right now, and those of them waiting for a
  // batch (tests, metrics).
  int items_in_flight() const { return processor_->in_flight(); }
  int items_waiting_for_batch() const { return batcher_->queued(); }
  const Admission& admission() const { return *admission_; }
  const ItemProcessor& processor() const { return *processor_; }
  // TLS, tokens, audit log (the binary reopens the audit log on SIGHUP).
  security::ServerSecurity& security() { return *security_; }

  // Calls gRPC has not finished with, for the hard-deadline log line. Safe to call
  // while Shutdown() runs on another thread.
  struct CallsInProgress {
    int streams = 0;
    int unary = 0;
    int items = 0;
  };
  CallsInProgress calls_in_progress() const;

  // True while the stall watchdog holds health at NOT_SERVING.
  bool stalled() const;

 private:
  ExplainerServer(const ServerOptions& options, std::string device);
  absl::Status Init(engine::ModelSpec spec, BatchRunner runner);
  absl::Status WarmUp();
  // Every stall_threshold/4 (at most 1 s): health NOT_SERVING while the pool or the
  // batcher has work waiting and has finished nothing for stall_threshold.
  void WatchForStalls();

  const ServerOptions options_;
  const std::string device_;
  int port_ = 0;
  v1::ModelInfo model_info_;

  // Declared in dependency order: destroyed bottom-up, after Shutdown() has stopped
  // gRPC, so no call can reach a pipeline part that is gone.
  std::unique_ptr<engine::ModelRunner> model_;
  std::unique_ptr<security::ServerSecurity> security_;  // outlives the gRPC server
  std::unique_ptr<Admission> admission_;  // outlives every ticket
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<ItemProcessor> processor_;
  std::unique_ptr<ExplainerService> service_;
  std::unique_ptr<grpc::Server> server_;

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;

  absl::Notification stop_watchdog_;
  std::thread watchdog_;
  std::atomic<bool> stalled_{false};
};

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_EXPLAINER_SERVER_H_
