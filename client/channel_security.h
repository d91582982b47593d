// The client's TLS and token settings: one option part of ConnectionOptions, shared
// by every command (infer, gallery, info). Files are read once, when the flags are
// checked, so a missing file is a usage error naming the flag. The token travels as
// `authorization: Bearer <token>` metadata on every call of the channel (a client
// interceptor; gRPC's call credentials would refuse a plaintext channel, and a
// TLS-terminating proxy in front of the server is a plaintext channel to us).
#ifndef EXPLAINER_CLIENT_CHANNEL_SECURITY_H_
#define EXPLAINER_CLIENT_CHANNEL_SECURITY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace explainer::client {

struct ChannelSecurityFlagValues {
  bool tls = false;             // --tls: TLS with the system's root certificates
  std::string tls_ca;           // --tls-ca FILE (implies TLS)
  std::string tls_cert;         // --tls-cert FILE (with --tls-key; implies TLS)
  std::string tls_key;          // --tls-key FILE
  std::string tls_server_name;  // --tls-server-name NAME
  std::string token_file;       // --token-file FILE
  std::string token_env;        // the value of $EXPLAINER_TOKEN ("" if unset)
};

struct ChannelSecurity {
  bool tls = false;
  std::string root_certs_pem;  // empty: system roots
  std::string cert_chain_pem;  // client certificate (mTLS), may be empty
  std::string private_key_pem;
  std::string server_name;  // overrides the name checked against the certificate
  std::string token;        // empty: none
  // For messages: where things came from.
  std::string ca_source = "the system's root certificates";
  std::string token_source;  // "--token-file FILE" or "$EXPLAINER_TOKEN"
};

// Errors name the flag and the file: "--tls-ca ca.pem: cannot read: No such file
// or directory", "--tls-cert needs --tls-key", "--token-file t.txt: empty".
absl::StatusOr<ChannelSecurity> ParseChannelSecurity(const ChannelSecurityFlagValues& values);

// Insecure or TLS credentials for the channel; sets the server name override.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ChannelSecurity& security,
                                                                 grpc::ChannelArguments* args);

// The interceptor that adds the token to every call (none without a token).
std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
TokenInterceptors(const ChannelSecurity& security);

// A clear sentence for a failure that is about security, from gRPC's status and
// message: "the server's certificate is not trusted ...", "the server requires a
// client certificate ...", "the server refused the token ...". nullopt when the
// failure is something else (down, slow, ...). `connecting`: the status is of a
// probe made because no connection came up; only then does a closed socket mean
// the handshake was refused (later it means the server went away).
std::optional<std::string> DescribeSecurityFailure(const absl::Status& status,
                                                   const ChannelSecurity& security,
                                                   const std::string& server,
                                                   bool connecting = false);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_CHANNEL_SECURITY_H_
