// Helpers of the server tests (see test_support.h).
#include "tests/server/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "opencv2/imgcodecs.hpp"
#include "service/server/health_probe.h"

namespace explainer::server::testing {
namespace {

constexpr int kFakeSize = 16;

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

}  // namespace

engine::ModelSpec FakeSpec() {
  engine::ModelSpec spec;
  spec.name = "fake";
  spec.version = "1.0";
  spec.class_names = {"Normal", "Benign", "Malignant"};
  spec.input_size = cv::Size(kFakeSize, kFakeSize);
  spec.target_layer = "fake.features";
  return spec;
}

absl::StatusOr<std::vector<engine::EngineResult>> FakeRun(
    absl::Span<const engine::EngineItem> batch) {
  std::vector<engine::EngineResult> results;
  for (const engine::EngineItem& item : batch) {
    const common::ModelInput& input = *item.input;
    if (input.width != kFakeSize || input.height != kFakeSize ||
        input.chw.size() != 3u * kFakeSize * kFakeSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("fake engine: input is ", input.width, "x", input.height));
    }
    double sum = 0;
    for (int i = 0; i < kFakeSize * kFakeSize; ++i) sum += input.chw[i];
    engine::EngineResult result;
    const bool bright = sum > 0;
    result.predicted_index = bright ? 2 : 0;
    result.probabilities = bright ? std::vector<float>{0.1f, 0.2f, 0.7f}
                                  : std::vector<float>{0.7f, 0.2f, 0.1f};
    if (item.explain) {
      result.explained_index = item.target_class.value_or(result.predicted_index);
      result.cam = cv::Mat(kFakeSize, kFakeSize, CV_32FC1);
      for (int y = 0; y < kFakeSize; ++y) {
        for (int x = 0; x < kFakeSize; ++x) {
          result.cam.at<float>(y, x) = static_cast<float>(x) / (kFakeSize - 1);
        }
      }
    }
    results.push_back(std::move(result));
  }
  return results;
}

std::string PngBytes(int width, int height, int value) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(value, value, value));
  std::vector<uchar> bytes;
  cv::imencode(".png", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

std::string LabelMeJson(int image_width, int image_height, const std::vector<Rect>& rects,
                        const std::string& extra_shape_type) {
  std::vector<std::string> shapes;
  for (const Rect& r : rects) {
    shapes.push_back(absl::StrFormat(
        R"({"label": "%s", "points": [[%g, %g], [%g, %g]], "group_id": null, )"
        R"("description": "", "shape_type": "rectangle", "flags": {}})",
        r.label, r.x1, r.y1, r.x2, r.y2));
  }
  if (!extra_shape_type.empty()) {
    shapes.push_back(absl::StrFormat(
        R"({"label": "tumor", "points": [[1, 1], [2, 2]], "group_id": null, )"
        R"("description": "", "shape_type": "%s", "flags": {}})",
        extra_shape_type));
  }
  return absl::StrFormat(
      R"({"version": "5.2.1", "flags": {}, "shapes": [%s], "imagePath": "x.png", )"
      R"("imageData": null, "imageHeight": %d, "imageWidth": %d})",
      absl::StrJoin(shapes, ", "), image_height, image_width);
}

absl::StatusOr<int> HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& service) {
  return CheckHealth(channel, service, absl::Seconds(30));
}

absl::StatusOr<std::vector<std::string>> ReflectedServices(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  SetDeadline(&context);
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);

  // One request, one response, driven step by step on the completion queue.
  grpc::ByteBuffer response;
  grpc::Status status;
  auto exchange = [&]() -> absl::Status {
    void* tag = nullptr;
    bool ok = false;
    auto step = [&](intptr_t expected) {
      return cq.Next(&tag, &ok) && ok && tag == reinterpret_cast<void*>(expected);
    };
    call->StartCall(reinterpret_cast<void*>(1));
    if (!step(1)) return absl::UnavailableError("reflection: the call did not start");
    // ServerReflectionRequest { string list_services = 7; } with ""
    call->Write(ToBuffer(std::string("\x3a\x00", 2)), reinterpret_cast<void*>(2));
    if (!step(2)) return absl::UnavailableError("reflection: the write failed");
    call->WritesDone(reinterpret_cast<void*>(3));
    if (!step(3)) return absl::UnavailableError("reflection: writes-done failed");
    call->Read(&response, reinterpret_cast<void*>(4));
    if (!step(4)) return absl::UnavailableError("reflection: no response");
    call->Finish(&status, reinterpret_cast<void*>(5));
    if (!step(5)) return absl::UnavailableError("reflection: finish failed");
    return FromGrpc(status);
  };
  const absl::Status result = exchange();
  context.TryCancel();
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  if (!result.ok()) return result;

  // ServerReflectionResponse { ListServiceResponse list_services_response = 6; }
  // ListServiceResponse { repeated ServiceResponse service = 1; }
  // ServiceResponse { string name = 1; }
  std::vector<std::string> names;
  google::protobuf::UnknownFieldSet top;
  if (!top.ParseFromString(FromBuffer(response))) {
    return absl::InternalError("unparseable ServerReflectionResponse");
  }
  for (int i = 0; i < top.field_count(); ++i) {
    if (top.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(top.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      for (int k = 0; k < service.field_count(); ++k) {
        if (service.field(k).number() == 1) {
          names.push_back(service.field(k).length_delimited());
        }
      }
    }
  }
  return names;
}

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace explainer::server::testing
