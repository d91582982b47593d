// See item_exchange.h.
#include "client/core/item_exchange.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/file_io.h"

namespace explainer::client {
namespace {

ItemError ClientError(const absl::Status& status) {
  return ItemError{static_cast<int>(status.code()), std::string(status.message()), "client"};
}

}  // namespace

absl::StatusOr<explainer::v1::ExplainRequest> BuildItemRequest(
    const ImageItem& item, const explainer::v1::ExplainOptions& options, int64_t max_bytes) {
  if (!item.skip.ok()) return item.skip;
  explainer::v1::ExplainRequest request;
  request.set_request_id(item.request_id);
  absl::StatusOr<std::string> image = ReadFileBytes(item.path, max_bytes);
  if (!image.ok()) return image.status();
  request.set_image(*std::move(image));
  if (!options.skip_explanation() && !item.annotation_path.empty()) {
    absl::StatusOr<std::string> annotation = ReadFileBytes(item.annotation_path, max_bytes);
    if (!annotation.ok()) return annotation.status();
    request.set_annotation_json(*std::move(annotation));
  }
  *request.mutable_options() = options;
  return request;
}

ItemRecord RecordAnswer(const ImageItem& item, StreamAnswer& answer) {
  ItemRecord record;
  record.file = item.relative_path;
  record.request_id = item.request_id;
  record.annotation_file = item.annotation_path;
  record.round_trip = answer.round_trip;
  if (!answer.response.ok()) {
    record.error = ClientError(answer.response.status());
    return record;
  }
  explainer::v1::ExplainResponse& response = *answer.response;
  record.request_id = response.request_id();
  if (response.has_error()) {
    record.error = ItemError{response.error().code(), response.error().message(), "server"};
  } else if (!response.has_result()) {
    record.error =
        ClientError(absl::InternalError("the server's answer has neither a result nor an error"));
  } else {
    record.result = std::move(*response.mutable_result());
  }
  return record;
}

std::string ItemErrorText(const ItemError& error) {
  if (error.source != "server") return error.message;
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(error.code)), ": ",
                      error.message);
}

}  // namespace explainer::client
