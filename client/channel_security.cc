// Client TLS / token settings and security failure wording; see channel_security.h.
#include "client/channel_security.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpc/grpc_security_constants.h"

namespace explainer::client {
namespace {

absl::StatusOr<std::string> ReadFlagFile(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": cannot read: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path,
                                    absl::string_view marker) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (!text.ok()) return text;
  if (!absl::StrContains(*text, "-----BEGIN ") || !absl::StrContains(*text, marker)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": not a PEM file with a ", marker));
  }
  return text;
}

class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;
};

class TokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new TokenInterceptor(&header_);
  }

 private:
  const std::string header_;  // the channel keeps the factory as long as calls run
};

}  // namespace

absl::StatusOr<ChannelSecurity> ParseChannelSecurity(const ChannelSecurityFlagValues& values) {
  ChannelSecurity security;
  if (values.tls_cert.empty() != values.tls_key.empty()) {
    return absl::InvalidArgumentError(values.tls_cert.empty()
                                          ? "--tls-key needs --tls-cert (the client certificate)"
                                          : "--tls-cert needs --tls-key (its private key)");
  }
  security.tls = values.tls || !values.tls_ca.empty() || !values.tls_cert.empty() ||
                 !values.tls_server_name.empty();
  if (!values.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("tls-ca", values.tls_ca, "CERTIFICATE");
    if (!ca.ok()) return ca.status();
    security.root_certs_pem = *std::move(ca);
    security.ca_source = absl::StrCat("--tls-ca ", values.tls_ca);
  }
  if (!values.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("tls-cert", values.tls_cert, "CERTIFICATE");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("tls-key", values.tls_key, "PRIVATE KEY");
    if (!key.ok()) return key.status();
    security.cert_chain_pem = *std::move(cert);
    security.private_key_pem = *std::move(key);
  }
  security.server_name = std::string(absl::StripAsciiWhitespace(values.tls_server_name));
  if (!values.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadFlagFile("token-file", values.token_file);
    if (!token.ok()) return token.status();
    security.token = std::string(absl::StripAsciiWhitespace(*token));
    security.token_source = absl::StrCat("--token-file ", values.token_file);
    if (security.token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file ", values.token_file, ": the file is empty"));
    }
  } else if (!absl::StripAsciiWhitespace(values.token_env).empty()) {
    security.token = std::string(absl::StripAsciiWhitespace(values.token_env));
    security.token_source = "$EXPLAINER_TOKEN";
  }
  for (char c : security.token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          security.token_source, ": the token has a space or control character inside"));
    }
  }
  return security;
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ChannelSecurity& security,
                                                                 grpc::ChannelArguments* args) {
  if (!security.tls) return grpc::InsecureChannelCredentials();
  if (!security.server_name.empty()) {
    args->SetSslTargetNameOverride(security.server_name);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = security.root_certs_pem;  // empty: gRPC's default roots
  ssl.pem_cert_chain = security.cert_chain_pem;
  ssl.pem_private_key = security.private_key_pem;
  return grpc::SslCredentials(ssl);
}

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
TokenInterceptors(const ChannelSecurity& security) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  if (!security.token.empty()) {
    factories.push_back(std::make_unique<TokenInterceptorFactory>(security.token));
  }
  return factories;
}

std::optional<std::string> DescribeSecurityFailure(const absl::Status& status,
                                                   const ChannelSecurity& security,
                                                   const std::string& server,
                                                   bool connecting) {
  const std::string message = absl::AsciiStrToLower(status.message());
  const std::string at = absl::StrCat("the explainer server at ", server);
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    if (security.token.empty()) {
      return absl::StrCat(at, " requires a token and none was given: pass --token-file FILE "
                              "or set $EXPLAINER_TOKEN");
    }
    return absl::StrCat(at, " refused the token from ", security.token_source,
                        ": bad token (unknown, revoked or mistyped)");
  }
  if (status.code() != absl::StatusCode::kUnavailable &&
      status.code() != absl::StatusCode::kDeadlineExceeded) {
    return std::nullopt;
  }
  if (absl::StrContains(message, "certificate verify failed") ||
      absl::StrContains(message, "certificate_verify_failed") ||
      absl::StrContains(message, "peer name") || absl::StrContains(message, "hostname")) {
    return absl::StrCat(at, ": untrusted server certificate (it is not signed by ",
                        security.ca_source,
                        ", has expired, or does not name the server; --tls-server-name "
                        "overrides the name checked)");
  }
  if (absl::StrContains(message, "certificate required") ||
      absl::StrContains(message, "peer did not return a certificate") ||
      absl::StrContains(message, "handshake failure") ||
      absl::StrContains(message, "unknown ca") || absl::StrContains(message, "bad certificate")) {
    return absl::StrCat(at,
                        security.cert_chain_pem.empty()
                            ? ": client certificate required (the server uses mutual TLS: pass "
                              "--tls-cert FILE --tls-key FILE)"
                            : ": the server refused the client certificate (not signed by a CA "
                              "it trusts, or expired)");
  }
  // TLS 1.3: the client's side of the handshake is done before the server checks the
  // client certificate, so a refusal reaches us only as a closed connection.
  if (connecting && security.tls && (absl::StrContains(message, "socket closed") ||
                       absl::StrContains(message, "connection reset"))) {
    return absl::StrCat(
        at,
        security.cert_chain_pem.empty()
            ? ": client certificate required (the server closed the TLS connection after the "
              "handshake: it uses mutual TLS; pass --tls-cert FILE --tls-key FILE)"
            : ": the server refused the client certificate (it closed the TLS connection after "
              "the handshake: the certificate is not signed by a CA it trusts, or expired)");
  }
  if (security.tls && (absl::StrContains(message, "wrong version number") ||
                       absl::StrContains(message, "handshake read failed") ||
                       absl::StrContains(message, "ssl_error_ssl"))) {
    return absl::StrCat(at, ": TLS handshake failed (does the server serve TLS? without "
                            "--tls_cert it speaks plaintext: drop --tls/--tls-ca)");
  }
  if (connecting && !security.tls && (absl::StrContains(message, "socket closed") ||
                        absl::StrContains(message, "connection reset") ||
                        absl::StrContains(message, "http2") ||
                        absl::StrContains(message, "received a non-http2") ||
                        absl::StrContains(message, "tls"))) {
    return absl::StrCat(at, " closed the plaintext connection: it probably requires TLS "
                            "(pass --tls-ca FILE, or --tls for the system's roots)");
  }
  return std::nullopt;
}

}  // namespace explainer::client
