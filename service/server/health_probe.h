// `explainer-server --health_check`: asks a running server's grpc.health.v1 service
// whether it is SERVING. The container HEALTHCHECK runs it, so images need no extra
// probe binary (grpc_health_probe) downloaded from elsewhere.
#ifndef EXPLAINER_SERVICE_SERVER_HEALTH_PROBE_H_
#define EXPLAINER_SERVICE_SERVER_HEALTH_PROBE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"

namespace explainer::server {

// grpc.health.v1.Health/Check for `service` ("" = the whole server) on `channel`:
// the ServingStatus number (1 SERVING, 2 NOT_SERVING, 0 UNKNOWN), or the RPC's error.
// The server's tests use it too.
absl::StatusOr<int> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, absl::Duration timeout);

// CheckHealth for `service` ("" = the whole server) at `target`, errors naming it:
// the ServingStatus number (1 SERVING, 2 NOT_SERVING, 0 UNKNOWN), or the RPC's
// error (Unavailable when nothing listens, DeadlineExceeded after `timeout`).
// `credentials`: how to reach it (null: plaintext; a TLS server: see
// security::MakeProbeCredentials).
absl::StatusOr<int> ProbeHealth(const std::string& target, const std::string& service,
                                absl::Duration timeout,
                                std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// The address to probe for a server listening on `listen_address`: a wildcard host
// (0.0.0.0, [::], empty) becomes loopback.
std::string ProbeTarget(const std::string& listen_address);

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_HEALTH_PROBE_H_
