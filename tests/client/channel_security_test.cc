// The client's TLS / token option part: flag checks that name the flag and file, and
// the sentences for security failures (which the commands print before exiting 3).
// Real handshakes against a real server: tests/security/security_e2e_test.py.
#include "client/channel_security.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kKey[] = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

TEST(ChannelSecurityTest, PlaintextWithoutFlags) {
  absl::StatusOr<ChannelSecurity> security = ParseChannelSecurity({});
  ASSERT_THAT(security, IsOk());
  EXPECT_FALSE(security->tls);
  EXPECT_TRUE(security->token.empty());
}

TEST(ChannelSecurityTest, ReadsFilesAndTheToken) {
  TempDir dir;
  ChannelSecurityFlagValues values;
  values.tls_ca = dir.Write("ca.pem", kCert);
  values.tls_cert = dir.Write("client.pem", kCert);
  values.tls_key = dir.Write("client.key", kKey);
  values.tls_server_name = "explainer.internal";
  values.token_file = dir.Write("token", "  s3cret-token\n");
  values.token_env = "ignored-when-a-file-is-given";
  absl::StatusOr<ChannelSecurity> security = ParseChannelSecurity(values);
  ASSERT_THAT(security, IsOk());
  EXPECT_TRUE(security->tls);
  EXPECT_EQ(security->root_certs_pem, kCert);
  EXPECT_EQ(security->private_key_pem, kKey);
  EXPECT_EQ(security->server_name, "explainer.internal");
  EXPECT_EQ(security->token, "s3cret-token");
  EXPECT_EQ(security->token_source, "--token-file " + values.token_file);

  ChannelSecurityFlagValues env;
  env.token_env = "env-token";
  security = ParseChannelSecurity(env);
  ASSERT_THAT(security, IsOk());
  EXPECT_EQ(security->token, "env-token");
  EXPECT_EQ(security->token_source, "$EXPLAINER_TOKEN");
  EXPECT_FALSE(security->tls);

  ChannelSecurityFlagValues system_roots;
  system_roots.tls = true;
  security = ParseChannelSecurity(system_roots);
  ASSERT_THAT(security, IsOk());
  EXPECT_TRUE(security->tls);
  EXPECT_TRUE(security->root_certs_pem.empty());
}

TEST(ChannelSecurityTest, ErrorsNameTheFlagAndTheFile) {
  TempDir dir;
  ChannelSecurityFlagValues values;
  values.tls_cert = dir.Write("client.pem", kCert);
  EXPECT_EQ(ParseChannelSecurity(values).status().message(),
            "--tls-cert needs --tls-key (its private key)");
  values = {};
  values.tls_key = dir.Write("client.key", kKey);
  EXPECT_EQ(ParseChannelSecurity(values).status().message(),
            "--tls-key needs --tls-cert (the client certificate)");
  values = {};
  values.tls_ca = dir.Path("missing.pem");
  EXPECT_EQ(ParseChannelSecurity(values).status().message(),
            "--tls-ca " + dir.Path("missing.pem") + ": cannot read: No such file or directory");
  values.tls_ca = dir.Write("notpem", "hello");
  EXPECT_THAT(ParseChannelSecurity(values).status().message(),
              HasSubstr("--tls-ca " + dir.Path("notpem") + ": not a PEM file"));
  values = {};
  values.token_file = dir.Write("empty", "\n");
  EXPECT_EQ(ParseChannelSecurity(values).status().message(),
            "--token-file " + dir.Path("empty") + ": the file is empty");
  values.token_file = dir.Write("spaced", "two words\n");
  EXPECT_THAT(ParseChannelSecurity(values).status().message(),
              AllOf(HasSubstr("space or control"), Not(HasSubstr("words"))));
}

TEST(ChannelSecurityTest, SaysWhichSecurityFailure) {
  ChannelSecurity tls;
  tls.tls = true;
  tls.ca_source = "--tls-ca ca.pem";
  const std::string server = "10.0.0.5:50051";
  auto describe = [&](absl::Status status, const ChannelSecurity& security) {
    return DescribeSecurityFailure(status, security, server, /*connecting=*/true)
        .value_or("<none>");
  };
  EXPECT_THAT(describe(absl::UnavailableError(
                           "failed to connect to all addresses; last error: UNKNOWN: "
                           "ipv4:10.0.0.5:50051: Ssl handshake failed: SSL_ERROR_SSL: "
                           "error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED"),
                       tls),
              HasSubstr("untrusted server certificate (it is not signed by --tls-ca ca.pem"));
  EXPECT_THAT(describe(absl::UnavailableError("failed to connect to all addresses; last error: "
                                              "UNAVAILABLE: ipv4:10.0.0.5:50051: Socket closed"),
                       tls),
              HasSubstr("client certificate required"));
  ChannelSecurity with_cert = tls;
  with_cert.cert_chain_pem = kCert;
  EXPECT_THAT(describe(absl::UnavailableError("last error: Socket closed"), with_cert),
              HasSubstr("refused the client certificate"));
  EXPECT_THAT(describe(absl::UnavailableError("Ssl handshake failed: SSL_ERROR_SSL: "
                                              "error:0A00010B:SSL routines::wrong version number"),
                       tls),
              HasSubstr("does the server serve TLS?"));
  EXPECT_THAT(describe(absl::UnavailableError("last error: Socket closed"), ChannelSecurity()),
              HasSubstr("it probably requires TLS"));

  ChannelSecurity token;
  token.token = "x";
  token.token_source = "$EXPLAINER_TOKEN";
  EXPECT_EQ(describe(absl::UnauthenticatedError("unknown bearer token"), token),
            "the explainer server at 10.0.0.5:50051 refused the token from $EXPLAINER_TOKEN: "
            "bad token (unknown, revoked or mistyped)");
  EXPECT_THAT(describe(absl::UnauthenticatedError("no bearer token"), ChannelSecurity()),
              HasSubstr("requires a token and none was given"));
  // A socket closed on a call after connecting: the server went away, not a refusal.
  EXPECT_FALSE(DescribeSecurityFailure(absl::UnavailableError("Socket closed"), tls, server)
                   .has_value());
  EXPECT_FALSE(DescribeSecurityFailure(absl::UnavailableError("Socket closed"),
                                       ChannelSecurity(), server)
                   .has_value());
  // Not about security: the caller's usual wording applies.
  EXPECT_FALSE(DescribeSecurityFailure(absl::UnavailableError("Connection refused"), tls, server)
                   .has_value());
  EXPECT_FALSE(
      DescribeSecurityFailure(absl::ResourceExhaustedError("busy"), tls, server).has_value());
}

}  // namespace
}  // namespace explainer::client
