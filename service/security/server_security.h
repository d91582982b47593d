// Everything the server does for security, in one place: TLS/mTLS credentials
// (credentials.h), bearer tokens (token_auth.h) checked where every Explainer call
// enters, the audit log (audit_log.h) fed by a server interceptor, and whether
// server reflection is offered. ExplainerServer asks it for credentials, the service
// to register, interceptors and a builder option, and nothing else changes.
//
// Why the token check is a service wrapper and not an AuthMetadataProcessor: gRPC
// runs a processor only on secure credentials, and tokens must also work on
// plaintext (behind a TLS-terminating proxy). The wrapper answers UNAUTHENTICATED
// before the real handler runs, so a refused call costs no decode and no GPU time.
// The health service is registered separately and stays open (probes carry no token).
#ifndef EXPLAINER_SERVICE_SECURITY_SERVER_SECURITY_H_
#define EXPLAINER_SERVICE_SECURITY_SERVER_SECURITY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "service/security/audit_log.h"
#include "service/security/credentials.h"
#include "service/security/token_auth.h"

namespace explainer::security {

struct SecurityOptions {
  TlsOptions tls;
  std::string auth_tokens_file;  // --auth_tokens; empty: no tokens
  absl::Duration token_reload_check = absl::Seconds(1);
  std::string audit_log;  // --audit_log: a path, "-" for stderr; empty: none
  // --reflection; unset: on unless TLS or tokens are on.
  std::optional<bool> reflection;
};

// "mtls:<subject>" and/or "token:<name>" (space-separated) for a call; "" when
// neither. `token_name` is the name a TokenAuth check gave, or "".
std::string CallerIdentity(const grpc::ServerContextBase& context, const std::string& token_name);

class ServerSecurity {
 public:
  // Checks every file (one-line errors naming flag, file and problem), loads tokens,
  // opens the audit log, hashes the bundle.
  static absl::StatusOr<std::unique_ptr<ServerSecurity>> Create(const SecurityOptions& options);
  // The checks of Create without opening anything for good: for start-up, before
  // the slow model load.
  static absl::Status Check(const SecurityOptions& options);
  ~ServerSecurity();

  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }

  // The service to register for `inner`: `inner` itself without tokens, else a
  // wrapper (owned here) that checks the token first. `inner` must outlive it.
  grpc::Service* Guard(v1::Explainer::CallbackService* inner);

  // The audit interceptor (none without an audit log). `model` gives the lines'
  // model name and version. Points into this object: it must outlive the server.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  InterceptorFactories(const v1::ModelInfo& model);

  // Removes server reflection from a builder when it is off (call before
  // BuildAndStart). The process-wide reflection plugin is otherwise added to every
  // builder.
  void ConfigureBuilder(grpc::ServerBuilder* builder) const;

  bool reflection() const { return reflection_; }
  // Whether TLS, tokens or the audit log is on.
  bool any() const {
    return options_.tls.enabled() || tokens_ != nullptr || audit_ != nullptr;
  }
  // "TLS off|TLS on|mTLS on, tokens off|on (N callers), audit log off|PATH,
  // reflection on|off"
  std::string Describe() const;

  // Opens the audit log's path again (SIGHUP, after rotation); no-op without one.
  void ReopenAuditLog() {
    if (audit_ != nullptr) audit_->Reopen();
  }

  TokenAuth* tokens() { return tokens_.get(); }
  AuditLog* audit_log() { return audit_.get(); }

 private:
  class Guarded;
  explicit ServerSecurity(const SecurityOptions& options);

  const SecurityOptions options_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  std::unique_ptr<TokenAuth> tokens_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Guarded> guarded_;
  bool reflection_ = true;
};

}  // namespace explainer::security

#endif  // EXPLAINER_SERVICE_SECURITY_SERVER_SECURITY_H_
