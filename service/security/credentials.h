// Server TLS / mTLS: the options, the start-up checks (files readable, PEM parses,
// key matches certificate, certificate not expired) and the gRPC credentials, whose
// certificate files are re-read while the server runs (FileWatcherCertificateProvider),
// so a renewed certificate (a cert-manager Secret) is served without a restart and
// without touching calls in flight.
#ifndef EXPLAINER_SERVICE_SECURITY_CREDENTIALS_H_
#define EXPLAINER_SERVICE_SECURITY_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace explainer::security {

struct TlsOptions {
  std::string cert_file;       // --tls_cert: PEM certificate chain
  std::string key_file;        // --tls_key: PEM private key
  std::string client_ca_file;  // --tls_client_ca: PEM CA(s); set: mTLS
  // How often the files are checked for changes (gRPC's minimum is 1 s).
  absl::Duration reload_interval = absl::Seconds(10);

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

// OK when TLS is off and consistent, or every file is usable. Otherwise one line
// naming the flag, the file and the problem, e.g.
// "--tls_key /etc/x/key.pem does not match the certificate in --tls_cert /etc/x/cert.pem".
absl::Status CheckTlsFiles(const TlsOptions& options);

// Insecure credentials when TLS is off; TLS (client certificates required and
// verified when options.mutual()) with files watched for changes otherwise.
// Runs CheckTlsFiles first.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options);

// Channel credentials for `explainer-server --health_check` against its own server:
// insecure when TLS is off; otherwise TLS that does not verify the server (the probe
// dials loopback and sends no secret), presenting cert_file/key_file as the client
// certificate when mutual() (the certificate then needs the clientAuth usage).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeProbeCredentials(
    const TlsOptions& options);

// "TLS off", "TLS on", "mTLS on" for the start-up line.
std::string DescribeTls(const TlsOptions& options);

}  // namespace explainer::security

#endif  // EXPLAINER_SERVICE_SECURITY_CREDENTIALS_H_
