// The server's security module against real certificates made at test time by the
// openssl command (make_test_certs.sh): TLS with the right and a wrong CA, mTLS,
// bearer tokens and their rotation, certificate rotation under a running stream,
// the audit log, reflection. The Explainer service here is a small fake, so these
// tests need no model; tests/e2e/security_e2e_test.py runs the real binaries.
#include "service/security/server_security.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::security {
namespace {

namespace fs = std::filesystem;
using ::explainer::testing::IsOk;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const fs::path& path, const std::string& text) {
  // Written to a temporary name and renamed over, as a Secret update or an editor does.
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  fs::rename(tmp, path);
}

// One PKI for all tests (RSA keys take a moment).
class Pki {
 public:
  static const fs::path& Dir() {
    static const fs::path* dir = [] {
      // ::testing::TempDir() is $TEST_TMPDIR under bazel test, /tmp/ otherwise.
      std::string pattern = ::testing::TempDir() + "explainer_pki_XXXXXX";
      auto* path = new fs::path(mkdtemp(pattern.data()));
      const std::string command =
          absl::StrCat("sh ", explainer::testing::SourcePath("tests/security/make_test_certs.sh"),
                       " ", path->string());
      if (std::system(command.c_str()) != 0) ADD_FAILURE() << "make_test_certs.sh failed";
      return path;
    }();
    return *dir;
  }
  static std::string File(const std::string& name) { return (Dir() / name).string(); }
};

// Answers every item with its request id and the image's size as predicted_name.
class FakeExplainer final : public v1::Explainer::CallbackService {
 public:
  grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse>* Explain(
      grpc::CallbackServerContext* /*context*/) override {
    class Echo final : public grpc::ServerBidiReactor<v1::ExplainRequest, v1::ExplainResponse> {
     public:
      Echo() { StartRead(&request_); }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status::OK);
          return;
        }
        response_.Clear();
        response_.set_request_id(request_.request_id());
        response_.mutable_result()->set_predicted_name(std::to_string(request_.image().size()));
        StartWrite(&response_);
      }
      void OnWriteDone(bool ok) override {
        if (ok) {
          StartRead(&request_);
        } else {
          Finish(grpc::Status::CANCELLED);
        }
      }
      void OnDone() override { delete this; }

     private:
      v1::ExplainRequest request_;
      v1::ExplainResponse response_;
    };
    return new Echo;
  }
  grpc::ServerUnaryReactor* ExplainImage(grpc::CallbackServerContext* context,
                                         const v1::ExplainRequest* request,
                                         v1::ExplainResponse* response) override {
    // DefaultReactor() makes a new reactor at every call: call it once.
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    response->set_request_id(request->request_id());
    if (request->image() == "busy") {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "server busy: 4 items in flight, limit 4 (--max_inflight_items)"));
      return reactor;
    }
    response->mutable_result()->set_predicted_name("ok");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* /*request*/,
                                         v1::ModelInfo* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    response->set_name("fake");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

struct TestServer {
  FakeExplainer service;
  std::unique_ptr<ServerSecurity> security;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string target() const { return absl::StrCat("127.0.0.1:", port); }
  ~TestServer() {
    if (server != nullptr) server->Shutdown(std::chrono::system_clock::now());
  }
};

std::unique_ptr<TestServer> StartServer(const SecurityOptions& options) {
  static const bool reflection_plugin = [] {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return true;
  }();
  (void)reflection_plugin;
  auto test = std::make_unique<TestServer>();
  absl::StatusOr<std::unique_ptr<ServerSecurity>> security = ServerSecurity::Create(options);
  EXPECT_THAT(security, IsOk());
  if (!security.ok()) return nullptr;
  test->security = *std::move(security);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", test->security->credentials(), &test->port);
  v1::ModelInfo model;
  model.set_name("fake-model");
  model.set_version("1.2");
  builder.experimental().SetInterceptorCreators(test->security->InterceptorFactories(model));
  test->security->ConfigureBuilder(&builder);
  builder.RegisterService(test->security->Guard(&test->service));
  test->server = builder.BuildAndStart();
  EXPECT_NE(test->server, nullptr);
  return test;
}

struct ClientTls {
  std::string ca;  // file names under the PKI; empty: plaintext
  std::string cert, key;
};

std::shared_ptr<grpc::Channel> Channel(const std::string& target, const ClientTls& tls) {
  grpc::ChannelArguments args;
  // A fresh connection per channel, so a test sees the server's current certificate.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (tls.ca.empty()) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadAll(Pki::File(tls.ca));
  if (!tls.cert.empty()) {
    ssl.pem_cert_chain = ReadAll(Pki::File(tls.cert));
    ssl.pem_private_key = ReadAll(Pki::File(tls.key));
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

grpc::Status GetInfo(const std::shared_ptr<grpc::Channel>& channel, const std::string& token = "") {
  auto stub = v1::Explainer::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  v1::ModelInfo info;
  return stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
}

TEST(CheckTlsFilesTest, RefusesHalfwayFlags) {
  TlsOptions options;
  options.cert_file = Pki::File("server.pem");
  EXPECT_EQ(CheckTlsFiles(options).message(),
            absl::StrCat("--tls_cert ", Pki::File("server.pem"), " needs --tls_key (its private key)"));
  options = TlsOptions();
  options.key_file = "k.pem";
  EXPECT_EQ(CheckTlsFiles(options).message(), "--tls_key k.pem needs --tls_cert (the certificate)");
  options = TlsOptions();
  options.client_ca_file = "ca.pem";
  EXPECT_THAT(CheckTlsFiles(options).message(), HasSubstr("--tls_client_ca needs --tls_cert"));
}

TEST(CheckTlsFilesTest, NamesTheFileAndTheProblem) {
  TlsOptions options{Pki::File("server.pem"), Pki::File("server.key"), ""};
  EXPECT_THAT(CheckTlsFiles(options), IsOk());

  options.key_file = Pki::File("client.key");
  EXPECT_EQ(CheckTlsFiles(options).message(),
            absl::StrCat("--tls_key ", Pki::File("client.key"),
                         " does not match the certificate in --tls_cert ", Pki::File("server.pem")));

  options.key_file = "/nonexistent/server.key";
  EXPECT_EQ(CheckTlsFiles(options).message(),
            "--tls_key /nonexistent/server.key: cannot read: No such file or directory");

  options.key_file = Pki::File("server.pem");  // a certificate is not a key
  EXPECT_THAT(CheckTlsFiles(options).message(),
              AllOf(HasSubstr(Pki::File("server.pem")), HasSubstr("no unencrypted PEM private key")));

  options = TlsOptions{Pki::File("server.key"), Pki::File("server.key"), ""};
  EXPECT_THAT(CheckTlsFiles(options).message(),
              AllOf(HasSubstr("--tls_cert"), HasSubstr("no PEM certificate")));

  options = TlsOptions{Pki::File("expired.pem"), Pki::File("expired.key"), ""};
  EXPECT_EQ(CheckTlsFiles(options).message(),
            absl::StrCat("--tls_cert ", Pki::File("expired.pem"), ": the certificate has expired"));

  options = TlsOptions{Pki::File("server.pem"), Pki::File("server.key"), "/nonexistent/ca.pem"};
  EXPECT_THAT(CheckTlsFiles(options).message(),
              HasSubstr("--tls_client_ca /nonexistent/ca.pem: cannot read"));
}

TEST(TokenFileTest, ParsesNamesCommentsAndBlankLines) {
  absl::StatusOr<std::vector<TokenEntry>> entries =
      ParseTokenFile("# callers\n\nalice: s3cret-a\n  bob:s3cret-b  \n");
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "alice");
  EXPECT_EQ((*entries)[0].digest, Sha256("s3cret-a"));
  EXPECT_EQ((*entries)[1].name, "bob");
}

TEST(TokenFileTest, ErrorsNameTheLineNeverTheToken) {
  EXPECT_EQ(ParseTokenFile("alice:a\nnocolon-secret\n").status().message(),
            "line 2: expected name:token");
  EXPECT_EQ(ParseTokenFile("alice:\n").status().message(), "line 1: empty token for \"alice\"");
  EXPECT_EQ(ParseTokenFile(":tok\n").status().message(), "line 1: empty name");
  EXPECT_EQ(ParseTokenFile("a:x1\na:x2\n").status().message(),
            "line 2: name \"a\" is given twice");
  EXPECT_EQ(ParseTokenFile("a:same-secret\nb:same-secret\n").status().message(),
            "line 2: \"b\" has the same token as an earlier name");
  EXPECT_THAT(ParseTokenFile("a:two words\n").status().message(),
              AllOf(HasSubstr("space or control"), Not(HasSubstr("words"))));
}

TEST(TokenAuthTest, ChecksBearerTokens) {
  const fs::path file = Pki::Dir() / "tokens_check.txt";
  WriteAll(file, "alice:token-a\n");
  absl::StatusOr<std::unique_ptr<TokenAuth>> auth = TokenAuth::Load(file.string());
  ASSERT_THAT(auth, IsOk());
  EXPECT_EQ((*auth)->Check("Bearer token-a").caller, "alice");
  EXPECT_TRUE((*auth)->Check("bearer token-a").ok);
  EXPECT_EQ((*auth)->Check("Bearer token-b").reason, "unknown token");
  EXPECT_EQ((*auth)->Check("Bearer token-a-longer").reason, "unknown token");
  EXPECT_EQ((*auth)->Check("").reason, "no bearer token");
  EXPECT_EQ((*auth)->Check("Basic dG9rZW4=").reason, "no bearer token");
  EXPECT_EQ(TokenAuth::Load("/nonexistent/tokens").status().message(),
            "--auth_tokens /nonexistent/tokens: cannot read: No such file or directory");
}

TEST(ServerSecurityTest, TlsWithTheRightCaWorksAndWithAnotherCaFails) {
  SecurityOptions options;
  options.tls = TlsOptions{Pki::File("server.pem"), Pki::File("server.key"), ""};
  std::unique_ptr<TestServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->security->Describe(), HasSubstr("TLS on, tokens off"));
  const grpc::Status right_ca = GetInfo(Channel(server->target(), {"ca.pem"}));
  EXPECT_TRUE(right_ca.ok()) << right_ca.error_message();
  const grpc::Status wrong_ca = GetInfo(Channel(server->target(), {"other_ca.pem"}));
  EXPECT_EQ(wrong_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << wrong_ca.error_message();
  const grpc::Status plaintext = GetInfo(Channel(server->target(), {}));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
}

TEST(ServerSecurityTest, MutualTlsRefusesClientsWithoutATrustedCertificate) {
  SecurityOptions options;
  options.tls = TlsOptions{Pki::File("server.pem"), Pki::File("server.key"), Pki::File("ca.pem")};
  std::unique_ptr<TestServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->security->Describe(), HasSubstr("mTLS on"));
  EXPECT_TRUE(GetInfo(Channel(server->target(), {"ca.pem", "client.pem", "client.key"})).ok());
  EXPECT_EQ(GetInfo(Channel(server->target(), {"ca.pem"})).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(
      GetInfo(Channel(server->target(), {"ca.pem", "other_client.pem", "other_client.key"}))
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

TEST(ServerSecurityTest, TokensOnPlaintextAreCheckedAndRotateWithoutARestart) {
  const fs::path file = Pki::Dir() / "tokens_rotate.txt";
  WriteAll(file, "# test callers\nalice:token-a\n");
  SecurityOptions options;
  options.auth_tokens_file = file.string();
  options.token_reload_check = absl::ZeroDuration();
  std::unique_ptr<TestServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->security->Describe(), HasSubstr("tokens on (1 callers)"));
  auto channel = Channel(server->target(), {});
  EXPECT_TRUE(GetInfo(channel, "token-a").ok());
  const grpc::Status missing = GetInfo(channel);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("no bearer token"));
  const grpc::Status unknown = GetInfo(channel, "token-b");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unknown.error_message(), HasSubstr("unknown bearer token"));

  // Add bob, revoke alice: the running server follows the file.
  WriteAll(file, "bob:token-b\n");
  EXPECT_TRUE(GetInfo(channel, "token-b").ok());
  EXPECT_EQ(GetInfo(channel, "token-a").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A broken file keeps the tokens loaded before.
  WriteAll(file, "broken line\n");
  EXPECT_TRUE(GetInfo(channel, "token-b").ok());
}

TEST(ServerSecurityTest, ReflectionIsOffWithTokensUnlessAskedFor) {
  const fs::path file = Pki::Dir() / "tokens_reflection.txt";
  WriteAll(file, "alice:token-a\n");
  for (const bool asked : {false, true}) {
    SecurityOptions options;
    options.auth_tokens_file = file.string();
    if (asked) options.reflection = true;
    std::unique_ptr<TestServer> server = StartServer(options);
    ASSERT_NE(server, nullptr);
    EXPECT_EQ(server->security->reflection(), asked);
    grpc::GenericStub stub(Channel(server->target(), {}));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::ByteBuffer request, response;
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                   grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                     status = s;
                     done.Notify();
                   });
    done.WaitForNotification();
    if (asked) {
      EXPECT_TRUE(status.ok()) << status.error_message();
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
    }
  }
}

// Certificate rotation: the files are replaced by a certificate from another CA
// while a stream is open. New connections get the new certificate; the open stream
// goes on.
TEST(ServerSecurityTest, CertificateRotationKeepsTheRunningStream) {
  const fs::path dir = Pki::Dir() / "rotating";
  fs::create_directories(dir);
  WriteAll(dir / "tls.crt", ReadAll(Pki::File("server.pem")));
  WriteAll(dir / "tls.key", ReadAll(Pki::File("server.key")));
  SecurityOptions options;
  options.tls = TlsOptions{(dir / "tls.crt").string(), (dir / "tls.key").string(), ""};
  options.tls.reload_interval = absl::Seconds(1);
  std::unique_ptr<TestServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);

  auto stub = v1::Explainer::NewStub(Channel(server->target(), {"ca.pem"}));
  grpc::ClientContext context;
  auto stream = stub->Explain(&context);
  v1::ExplainRequest request;
  v1::ExplainResponse response;
  request.set_request_id("1");
  request.set_image("abc");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "1");

  WriteAll(dir / "tls.key", ReadAll(Pki::File("other_server.key")));
  WriteAll(dir / "tls.crt", ReadAll(Pki::File("other_server.pem")));
  bool rotated = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  while (!rotated && absl::Now() < give_up) {
    rotated = GetInfo(Channel(server->target(), {"other_ca.pem"})).ok();
    if (!rotated) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(rotated) << "new connections never got the new certificate";
  EXPECT_FALSE(GetInfo(Channel(server->target(), {"ca.pem"})).ok())
      << "new connections still get the old certificate";

  request.set_request_id("2");
  request.set_image("abcdef");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "2");
  EXPECT_EQ(response.result().predicted_name(), "6");
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

std::vector<nlohmann::json> AuditLines(const fs::path& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream text(ReadAll(path));
  for (std::string line; std::getline(text, line);) {
    lines.push_back(nlohmann::json::parse(line));  // throws (fails the test) if not JSON
  }
  return lines;
}

TEST(ServerSecurityTest, AuditLogRecordsItemsAndRefusalsWithoutIdentifiers) {
  const fs::path tokens = Pki::Dir() / "tokens_audit.txt";
  WriteAll(tokens, "alice:token-audit-secret\n");
  const fs::path log = Pki::Dir() / "audit.jsonl";
  fs::remove(log);
  SecurityOptions options;
  options.tls = TlsOptions{Pki::File("server.pem"), Pki::File("server.key"), Pki::File("ca.pem")};
  options.auth_tokens_file = tokens.string();
  options.audit_log = log.string();
  std::unique_ptr<TestServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto channel = Channel(server->target(), {"ca.pem", "client.pem", "client.key"});
  auto stub = v1::Explainer::NewStub(channel);

  const std::string patient_id = "PATIENT-4711_knee_left.png";
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer token-audit-secret");
    auto stream = stub->Explain(&context);
    for (const std::string image : {"image-one", "image-two"}) {
      v1::ExplainRequest request;
      request.set_request_id(patient_id);
      request.set_image(image);
      request.set_annotation_json(R"({"imagePath": "PATIENT-4711_knee_left.png"})");
      ASSERT_TRUE(stream->Write(request));
      v1::ExplainResponse response;
      ASSERT_TRUE(stream->Read(&response));
    }
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer token-audit-secret");
    v1::ExplainRequest request;
    request.set_request_id(patient_id);
    request.set_image("busy");
    v1::ExplainResponse response;
    EXPECT_EQ(stub->ExplainImage(&context, request, &response).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(GetInfo(channel, "wrong-token").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  const std::string text = ReadAll(log);
  for (const std::string& secret : {std::string("PATIENT-4711"), std::string("knee_left"),
                                    std::string("token-audit-secret"), std::string("wrong-token"),
                                    std::string("image-one")}) {
    EXPECT_THAT(text, Not(HasSubstr(secret)));
  }
  const std::vector<nlohmann::json> lines = AuditLines(log);
  ASSERT_EQ(lines.size(), 4u) << text;
  EXPECT_EQ(lines[0]["event"], "item");
  EXPECT_EQ(lines[0]["rpc"], "Explain");
  EXPECT_EQ(lines[0]["code"], "OK");
  EXPECT_EQ(lines[0]["image_sha256"], HexDigest(Sha256("image-one")));
  EXPECT_EQ(lines[1]["image_sha256"], HexDigest(Sha256("image-two")));
  EXPECT_THAT(lines[0]["caller"].get<std::string>(),
              AllOf(HasSubstr("mtls:"), HasSubstr("CN=client-a"), HasSubstr("token:alice")));
  EXPECT_THAT(lines[0]["peer"].get<std::string>(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(lines[0]["model"], "fake-model");
  EXPECT_EQ(lines[0]["model_version"], "1.2");
  EXPECT_GE(lines[0]["latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(lines[0].contains("time"));
  EXPECT_EQ(lines[2]["event"], "refused");
  EXPECT_EQ(lines[2]["rpc"], "ExplainImage");
  EXPECT_EQ(lines[2]["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(lines[2]["reason"], "--max_inflight_items");
  EXPECT_EQ(lines[3]["event"], "refused");
  EXPECT_EQ(lines[3]["rpc"], "GetModelInfo");
  EXPECT_EQ(lines[3]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(lines[3]["reason"], "unknown token");
  EXPECT_THAT(lines[3]["caller"].get<std::string>(), Not(HasSubstr("token:")));
}

TEST(AuditLogTest, ReopensAfterRenameAndOnRequest) {
  const fs::path log = Pki::Dir() / "rotate.jsonl";
  fs::remove(log);
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(log.string());
  ASSERT_THAT(audit, IsOk());
  AuditRecord record;
  record.event = "item";
  record.rpc = "first";
  (*audit)->Write(record);
  fs::rename(log, log.string() + ".1");
  absl::SleepFor(absl::Milliseconds(1100));  // the log looks at the path once a second
  record.rpc = "second";
  (*audit)->Write(record);
  EXPECT_THAT(ReadAll(log.string() + ".1"), AllOf(HasSubstr("first"), Not(HasSubstr("second"))));
  EXPECT_THAT(ReadAll(log), HasSubstr("second"));

  fs::rename(log, log.string() + ".2");
  (*audit)->Reopen();  // what SIGHUP does
  record.rpc = "third";
  (*audit)->Write(record);
  EXPECT_THAT(ReadAll(log), HasSubstr("third"));
  EXPECT_EQ(AuditLines(log).size(), 1u);

  EXPECT_THAT(AuditLog::Open("/nonexistent/dir/audit.jsonl").status().message(),
              HasSubstr("--audit_log /nonexistent/dir/audit.jsonl: cannot open for appending"));
}

}  // namespace
}  // namespace explainer::security
