// Channel set-up and call error wording; see connection.h.
#include "client/connection.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel_security.h"
#include "client/core/grpc_status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace explainer::client {

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options) {
  grpc::ChannelArguments args;
  // Overlays of large radiographs are megabytes: the default 4 MB receive limit is
  // too small. Must match the server's --max_message_mb.
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // Client-side load balancing over every address the target resolves to
  // (dns:///host:port, ipv4:a:p,b:p); gRPC re-resolves when a connection closes.
  if (!options.lb_policy.empty()) args.SetLoadBalancingPolicyName(options.lb_policy);
  // Keepalive during calls: a long stream over a dead path (a restarted NAT or load
  // balancer) fails within 50 s instead of hanging until the deadline. The server
  // accepts pings every 10 s (explainer_server.cc).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      MakeChannelCredentials(options.security, &args);
  std::shared_ptr<grpc::Channel> channel = grpc::experimental::CreateCustomChannelWithInterceptors(
      options.server, credentials, args, TokenInterceptors(options.security));
  const absl::Time deadline = absl::Now() + options.connect_timeout;
  if (!channel->WaitForConnected(absl::ToChronoTime(deadline))) {
    // Say why when it is TLS (untrusted certificate, client certificate required,
    // TLS against plaintext): a call that fails fast carries gRPC's last error.
    explainer::v1::Explainer::Stub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    explainer::v1::ModelInfo info;
    const absl::Status probe = FromGrpcStatus(
        stub.GetModelInfo(&context, explainer::v1::GetModelInfoRequest(), &info));
    if (std::optional<std::string> why =
            DescribeSecurityFailure(probe, options.security, options.server,
                                    /*connecting=*/true)) {
      return absl::UnavailableError(*why);
    }
    return absl::UnavailableError(
        absl::StrCat("cannot reach the explainer server at ", options.server,
                     " (no connection within ", absl::FormatDuration(options.connect_timeout),
                     "). Is explainer-server running there? Start it with: explainer-server "
                     "--address=",
                     options.server, " (or point --server at a running one)"));
  }
  return channel;
}

absl::StatusOr<explainer::v1::ModelInfo> FetchModelInfo(
    explainer::v1::Explainer::StubInterface& stub, const ConnectionOptions& options) {
  // A busy server refuses at once (RESOURCE_EXHAUSTED, admission): try again with
  // exponential backoff and jitter, within the call's deadline.
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options.deadline;
  absl::Duration backoff = options.retry_backoff;
  absl::BitGen random;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    explainer::v1::ModelInfo info;
    const grpc::Status status =
        stub.GetModelInfo(&context, explainer::v1::GetModelInfoRequest(), &info);
    if (status.ok()) return info;
    const absl::Status failed = FromGrpcStatus(status);
    const absl::Duration pause = backoff * absl::Uniform(random, 0.5, 1.5);
    if (failed.code() != absl::StatusCode::kResourceExhausted ||
        attempt >= options.max_attempts || absl::Now() + pause >= deadline) {
      if (attempt == 1) return failed;
      return absl::Status(failed.code(),
                          absl::StrCat(failed.message(), "; refused ", attempt, " times in ",
                                       absl::FormatDuration(absl::Trunc(
                                           absl::Now() - start, absl::Milliseconds(1))),
                                       ", retried with backoff"));
    }
    absl::SleepFor(pause);
    backoff *= 2;
  }
}

std::string DescribeCallError(const absl::Status& status, const ConnectionOptions& options) {
  if (std::optional<std::string> why =
          DescribeSecurityFailure(status, options.security, options.server)) {
    return *why;
  }
  const std::string server_says =
      status.message().empty() ? "" : absl::StrCat(" (", status.message(), ")");
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return absl::StrCat("the explainer server at ", options.server,
                          " is unavailable: it is down, restarting or unreachable", server_says,
                          ". Is explainer-server running there?");
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("the explainer server at ", options.server,
                          " is too slow: ", status.message(),
                          " (--deadline=", absl::FormatDuration(options.deadline),
                          "); it may be overloaded, or raise --deadline");
    case absl::StatusCode::kDataLoss:
      return absl::StrCat("the stream from the explainer server at ", options.server,
                          " broke: ", status.message());
    case absl::StatusCode::kResourceExhausted:
      return absl::StrCat("the explainer server at ", options.server,
                          " refused: RESOURCE_EXHAUSTED", server_says,
                          "; for message size limits see the client's --max-message-mb and the "
                          "server's --max_message_mb");
    default:
      return absl::StrCat("the explainer server at ", options.server,
                          " refused: ", absl::StatusCodeToString(status.code()), server_says);
  }
}

}  // namespace explainer::client
