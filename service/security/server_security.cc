// The server's security parts wired together; see server_security.h.
#include "service/security/server_security.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"

namespace explainer::security {
namespace {

constexpr absl::string_view kExplain = "/explainer.v1.Explainer/Explain";
constexpr absl::string_view kExplainImage = "/explainer.v1.Explainer/ExplainImage";
constexpr absl::string_view kServicePrefix = "/explainer.v1.Explainer/";

std::string Authorization(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

std::string RpcName(absl::string_view method) {
  if (absl::StartsWith(method, kServicePrefix)) return std::string(method.substr(kServicePrefix.size()));
  return std::string(method);
}

// A refusal's reason for the audit line, from fixed phrases only: the message of a
// RESOURCE_EXHAUSTED names its limit's flag, e.g. "(--max_inflight_items)".
std::string RefusalReason(const grpc::Status& status) {
  const std::string& message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return absl::StrContains(message, "unknown") ? "unknown token" : "no bearer token";
  }
  const size_t flag = message.rfind("(--");
  if (flag != std::string::npos) {
    const size_t end = message.find(')', flag);
    if (end != std::string::npos) return message.substr(flag + 1, end - flag - 1);
  }
  return "";
}

// A stream refused before it started: finishes at once, deletes itself.
class RefusedStream final
    : public grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status Unauthenticated(const TokenCheck& check) {
  return grpc::Status(
      grpc::StatusCode::UNAUTHENTICATED,
      check.reason == "unknown token"
          ? "unknown bearer token: the server does not accept this token (revoked or mistyped)"
          : "no bearer token: this server requires 'authorization: Bearer <token>' metadata");
}

// Removes the process-wide reflection plugin from one builder.
class NoReflectionOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                                    return plugin->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

struct AuditContext {
  AuditLog* log;
  TokenAuth* tokens;  // may be null
  std::string model_name, model_version, bundle_sha256;
};

// Per call of the Explainer service: remembers each request's image hash and arrival
// by request id (held only in memory, never written), writes an "item" line per
// ExplainResponse sent and a "refused" line for a call ending in a refusal.
class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(const AuditContext* audit, grpc::experimental::ServerRpcInfo* info)
      : audit_(audit),
        context_(info->server_context()),
        rpc_(RpcName(info->method() == nullptr ? "" : info->method())),
        items_(info->method() != nullptr && (absl::string_view(info->method()) == kExplain ||
                                             absl::string_view(info->method()) == kExplainImage)),
        started_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (items_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (const void* message = methods->GetRecvMessage(); message != nullptr) {
        const auto& request = *static_cast<const v1::ExplainRequest*>(message);
        absl::MutexLock lock(&mu_);
        pending_[request.request_id()].push_back(
            Pending{HexDigest(Sha256(request.image())), absl::Now()});
      }
    }
    if (items_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      if (const void* message = methods->GetSendMessage(); message != nullptr) {
        WriteItem(*static_cast<const v1::ExplainResponse*>(message));
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (!status.ok()) WriteCall(status);
    }
    methods->Proceed();
  }

 private:
  struct Pending {
    std::string image_sha256;
    absl::Time received;
  };

  AuditRecord Base() {
    AuditRecord record;
    record.time = absl::Now();
    std::string token_name;
    if (audit_->tokens != nullptr) token_name = audit_->tokens->Check(Authorization(*context_)).caller;
    record.caller = CallerIdentity(*context_, token_name);
    record.peer = context_->peer();
    record.rpc = rpc_;
    record.model_name = audit_->model_name;
    record.model_version = audit_->model_version;
    record.bundle_sha256 = audit_->bundle_sha256;
    return record;
  }

  void WriteItem(const v1::ExplainResponse& response) {
    AuditRecord record = Base();
    record.event = "item";
    record.code = response.has_error()
                      ? absl::StatusCodeToString(static_cast<absl::StatusCode>(response.error().code()))
                      : "OK";
    record.latency = record.time - started_;
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(response.request_id());
      if (it != pending_.end() && !it->second.empty()) {
        record.image_sha256 = it->second.front().image_sha256;
        record.latency = record.time - it->second.front().received;
        it->second.pop_front();
        if (it->second.empty()) pending_.erase(it);
      }
    }
    audit_->log->Write(record);
  }

  void WriteCall(const grpc::Status& status) {
    AuditRecord record = Base();
    const grpc::StatusCode code = status.error_code();
    const bool refused = code == grpc::StatusCode::UNAUTHENTICATED ||
                         code == grpc::StatusCode::PERMISSION_DENIED ||
                         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
    record.event = refused ? "refused" : "call_failed";
    record.code = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
    if (refused) record.reason = RefusalReason(status);
    record.latency = record.time - started_;
    audit_->log->Write(record);
  }

  const AuditContext* const audit_;
  grpc::ServerContextBase* const context_;
  const std::string rpc_;
  const bool items_;
  const absl::Time started_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::deque<Pending>> pending_ ABSL_GUARDED_BY(mu_);
};

class AuditInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuditInterceptorFactory(AuditContext audit) : audit_(std::move(audit)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method == nullptr || !absl::StartsWith(method, kServicePrefix)) return nullptr;
    return new AuditInterceptor(&audit_, info);
  }

 private:
  const AuditContext audit_;
};

}  // namespace

// The token check in front of the real service.
class ServerSecurity::Guarded final : public v1::Explainer::CallbackService {
 public:
  Guarded(v1::Explainer::CallbackService* inner, TokenAuth* tokens)
      : inner_(inner), tokens_(tokens) {}

  grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse>* Explain(
      grpc::CallbackServerContext* context) override {
    const TokenCheck check = tokens_->Check(Authorization(*context));
    if (!check.ok) return new RefusedStream(Unauthenticated(check));
    return inner_->Explain(context);
  }

  grpc::ServerUnaryReactor* ExplainImage(grpc::CallbackServerContext* context,
                                         const v1::ExplainRequest* request,
                                         v1::ExplainResponse* response) override {
    const TokenCheck check = tokens_->Check(Authorization(*context));
    if (!check.ok) return Refuse(context, check);
    return inner_->ExplainImage(context, request, response);
  }

  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override {
    const TokenCheck check = tokens_->Check(Authorization(*context));
    if (!check.ok) return Refuse(context, check);
    return inner_->GetModelInfo(context, request, response);
  }

 private:
  static grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context,
                                          const TokenCheck& check) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(Unauthenticated(check));
    return reactor;
  }

  v1::Explainer::CallbackService* const inner_;
  TokenAuth* const tokens_;
};

std::string CallerIdentity(const grpc::ServerContextBase& context, const std::string& token_name) {
  std::vector<std::string> parts;
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
      auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> subject = auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
    if (subject.empty()) subject = auth->GetPeerIdentity();
    if (!subject.empty()) parts.push_back(absl::StrCat("mtls:", std::string(subject[0].data(), subject[0].size())));
  }
  if (!token_name.empty()) parts.push_back(absl::StrCat("token:", token_name));
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::unique_ptr<ServerSecurity>> ServerSecurity::Create(
    const SecurityOptions& options) {
  std::unique_ptr<ServerSecurity> security(new ServerSecurity(options));
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  security->credentials_ = *std::move(credentials);
  if (!options.auth_tokens_file.empty()) {
    absl::StatusOr<std::unique_ptr<TokenAuth>> tokens =
        TokenAuth::Load(options.auth_tokens_file, options.token_reload_check);
    if (!tokens.ok()) return tokens.status();
    security->tokens_ = *std::move(tokens);
  }
  if (!options.audit_log.empty()) {
    absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(options.audit_log);
    if (!audit.ok()) return audit.status();
    security->audit_ = *std::move(audit);
  }
  security->reflection_ =
      options.reflection.value_or(!options.tls.enabled() && options.auth_tokens_file.empty());
  return security;
}

absl::Status ServerSecurity::Check(const SecurityOptions& options) {
  if (absl::Status tls = CheckTlsFiles(options.tls); !tls.ok()) return tls;
  if (!options.auth_tokens_file.empty()) {
    if (absl::StatusOr<std::unique_ptr<TokenAuth>> tokens =
            TokenAuth::Load(options.auth_tokens_file, options.token_reload_check);
        !tokens.ok()) {
      return tokens.status();
    }
  }
  if (!options.audit_log.empty()) {
    if (absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(options.audit_log);
        !audit.ok()) {
      return audit.status();
    }
  }
  return absl::OkStatus();
}

ServerSecurity::ServerSecurity(const SecurityOptions& options) : options_(options) {}
ServerSecurity::~ServerSecurity() = default;

grpc::Service* ServerSecurity::Guard(v1::Explainer::CallbackService* inner) {
  if (tokens_ == nullptr) return inner;
  guarded_ = std::make_unique<Guarded>(inner, tokens_.get());
  return guarded_.get();
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerSecurity::InterceptorFactories(const v1::ModelInfo& model) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  if (audit_ != nullptr) {
    factories.push_back(std::make_unique<AuditInterceptorFactory>(AuditContext{
        audit_.get(), tokens_.get(), model.name(), model.version(), model.bundle_sha256()}));
  }
  return factories;
}

void ServerSecurity::ConfigureBuilder(grpc::ServerBuilder* builder) const {
  if (!reflection_) builder->SetOption(std::make_unique<NoReflectionOption>());
}

std::string ServerSecurity::Describe() const {
  return absl::StrCat(
      DescribeTls(options_.tls), ", tokens ",
      tokens_ == nullptr ? "off" : absl::StrCat("on (", tokens_->size(), " callers)"),
      ", audit log ", audit_ == nullptr ? "off" : (audit_->path() == "-" ? "stderr" : audit_->path()),
      ", reflection ", reflection_ ? "on" : "off");
}

}  // namespace explainer::security
