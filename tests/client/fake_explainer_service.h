// An in-process Explainer server with scripted behaviour, for client tests that
// must not depend on the real model: answer order, held answers (to fill the
// window), per-item errors, dropped answers, silence.
#ifndef EXPLAINER_TESTS_CLIENT_FAKE_EXPLAINER_SERVICE_H_
#define EXPLAINER_TESTS_CLIENT_FAKE_EXPLAINER_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace explainer::testing {

struct FakeBehaviour {
  // Answers only once this many requests are waiting (or the client is done
  // sending), then answers all of them, last first. 1: answer each at once.
  int hold = 1;
  // Closes the stream with OK after this many answers (-1: never).
  int stop_after = -1;
  // Never answers anything (the client's answer timeout must fire).
  bool silent = false;
  // The answer with this ordinal (0: the first) carries invalid UTF-8 in
  // ItemError.message: it serialises, but the client cannot parse it. -1: none.
  int garble_answer = -1;
  // Never ends the call on its own: waits until the client cancels it (or the
  // server shuts down), as a busy server would.
  bool hold_open = false;
  // Images whose bytes start with "bad" get ItemError{3, "fake: cannot decode ..."}.
};

class FakeExplainerService final : public explainer::v1::Explainer::Service {
 public:
  explicit FakeExplainerService(FakeBehaviour behaviour) : behaviour_(behaviour) {}

  grpc::Status Explain(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<explainer::v1::ExplainResponse,
                                                explainer::v1::ExplainRequest>* stream) override;
  grpc::Status ExplainImage(grpc::ServerContext* context,
                            const explainer::v1::ExplainRequest* request,
                            explainer::v1::ExplainResponse* response) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context,
                            const explainer::v1::GetModelInfoRequest* request,
                            explainer::v1::ModelInfo* info) override;

  // The answer the fake gives to `request`: predicted class = image size % 3.
  static explainer::v1::ExplainResponse Answer(const explainer::v1::ExplainRequest& request);

  // Largest number of requests read but not yet answered, over all streams.
  int max_outstanding() const;
  int requests_seen() const;

 private:
  const FakeBehaviour behaviour_;
  mutable absl::Mutex mu_;
  int max_outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int requests_seen_ ABSL_GUARDED_BY(mu_) = 0;
};

// The fake served on 127.0.0.1:<free port>.
class FakeServer {
 public:
  explicit FakeServer(FakeBehaviour behaviour = {});
  ~FakeServer();
  std::string address() const { return address_; }
  FakeExplainerService& service() { return service_; }
  std::unique_ptr<explainer::v1::Explainer::Stub> NewStub() const;
  // Ends every call now (a test's way out when the client under test hangs).
  void Shutdown();

 private:
  FakeExplainerService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_CLIENT_FAKE_EXPLAINER_SERVICE_H_
