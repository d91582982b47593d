// An in-process Explainer server whose answers are scripted per request_id, for
// testing `explainer gallery` without a model: real PNG overlays, raw heatmaps and
// annotation reports, and a record of every request (to check the two passes).
#ifndef EXPLAINER_TESTS_CLIENT_GALLERY_SCRIPTED_EXPLAINER_SERVICE_H_
#define EXPLAINER_TESTS_CLIENT_GALLERY_SCRIPTED_EXPLAINER_SERVICE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace explainer::testing {

struct ScriptedAnswer {
  std::vector<float> probabilities;  // Normal, Benign, Malignant; argmax is the prediction
  float iou = 0;                     // IoU at every threshold, and energy inside
  bool error = false;                // answer with ItemError{3, "scripted: ..."}
  bool explain_error = false;        // the same, but only when asked for an explanation
};

// What the client asked for, per request.
struct SeenRequest {
  std::string request_id;
  bool skip_explanation = false;
  bool overlay = false;
  bool raw_heatmap = false;
  bool heatmap_png = false;
  bool annotation = false;
  std::vector<float> thresholds;
};

class ScriptedExplainerService final : public explainer::v1::Explainer::Service {
 public:
  explicit ScriptedExplainerService(std::map<std::string, ScriptedAnswer> script)
      : script_(std::move(script)) {}

  grpc::Status Explain(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<explainer::v1::ExplainResponse,
                                                explainer::v1::ExplainRequest>* stream) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context,
                            const explainer::v1::GetModelInfoRequest* request,
                            explainer::v1::ModelInfo* info) override;

  // Requests per Explain stream, in arrival order.
  std::vector<std::vector<SeenRequest>> streams() const;

 private:
  explainer::v1::ExplainResponse Answer(const explainer::v1::ExplainRequest& request) const;

  const std::map<std::string, ScriptedAnswer> script_;
  mutable absl::Mutex mu_;
  std::vector<std::vector<SeenRequest>> streams_ ABSL_GUARDED_BY(mu_);
};

// The scripted service on 127.0.0.1:<free port>.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::map<std::string, ScriptedAnswer> script);
  ~ScriptedServer();
  const std::string& address() const { return address_; }
  ScriptedExplainerService& service() { return service_; }

 private:
  ScriptedExplainerService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_CLIENT_GALLERY_SCRIPTED_EXPLAINER_SERVICE_H_
