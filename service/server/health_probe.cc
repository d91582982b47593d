// grpc.health.v1 probe (see health_probe.h). The health protos are not installed with
// Debian's gRPC, so the two tiny messages are written and read by hand.
#include "service/server/health_probe.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace explainer::server {

absl::StatusOr<int> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, absl::Duration timeout) {
  if (service.size() > 127) return absl::InvalidArgumentError("service name too long");
  // HealthCheckRequest { string service = 1; }
  std::string request;
  if (!service.empty()) {
    request = absl::StrCat("\x0a", std::string(1, static_cast<char>(service.size())),
                           service);
  }
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request_buffer, &response_buffer, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::vector<grpc::Slice> slices;
  std::string response;
  if (response_buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      response.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  // HealthCheckResponse { ServingStatus status = 1; } (absent: 0, UNKNOWN)
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(response)) {
    return absl::InternalError("unparseable HealthCheckResponse");
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1) return static_cast<int>(fields.field(i).varint());
  }
  return 0;
}

absl::StatusOr<int> ProbeHealth(const std::string& target, const std::string& service,
                                absl::Duration timeout,
                                std::shared_ptr<grpc::ChannelCredentials> credentials) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(target, credentials != nullptr ? credentials
                                                         : grpc::InsecureChannelCredentials());
  absl::StatusOr<int> health = CheckHealth(channel, service, timeout);
  if (!health.ok() && health.status().code() != absl::StatusCode::kInvalidArgument) {
    // Name the server: the probe's output is read by people and container runtimes.
    return common::Annotate(health.status(), target);
  }
  return health;
}

std::string ProbeTarget(const std::string& listen_address) {
  if (absl::StartsWith(listen_address, "unix:")) return listen_address;
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) return listen_address;
  const std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0") return absl::StrCat("127.0.0.1:", port);
  if (host == "[::]" || host == "::") return absl::StrCat("[::1]:", port);
  return listen_address;
}

}  // namespace explainer::server
