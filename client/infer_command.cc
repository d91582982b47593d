// `explainer infer`: discover, connect, stream, write outputs, summarise.
#include "client/infer_command.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/balanced_explainer.h"
#include "client/connection.h"
#include "client/dicom_files.h"
#include "client/dicom_output.h"
#include "client/exit_codes.h"
#include "client/file_io.h"
#include "client/image_walker.h"
#include "client/item_record.h"
#include "client/output_files.h"
#include "client/progress.h"
#include "client/results_writer.h"
#include "client/streaming_explainer.h"
#include "client/summary.h"

namespace explainer::client {
namespace {

using explainer::v1::ExplainRequest;
using explainer::v1::ExplainResponse;

void PrintError(std::FILE* err, const std::string& message) {
  std::fprintf(err, "explainer infer: %s\n", message.c_str());
}

// The options every request of the run carries.
explainer::v1::ExplainOptions RequestOptions(const InferOptions& options,
                                             std::optional<int> target_class) {
  explainer::v1::ExplainOptions request;
  request.set_method(options.method);
  request.set_aug_smooth(options.aug_smooth);
  request.set_eigen_smooth(options.eigen_smooth);
  if (options.cam_multiply || options.road) {
    request.mutable_faithfulness()->set_cam_multiply(options.cam_multiply);
    request.mutable_faithfulness()->set_road(options.road);
  }
  if (target_class) request.set_target_class(*target_class);
  for (float t : options.thresholds) request.add_iou_thresholds(t);
  request.set_return_overlay_png(true);
  request.set_return_heatmap_png(options.heatmap);
  request.set_return_raw_heatmap(options.save_cam);
  request.set_overlay_image_weight(options.image_weight);
  return request;
}

ItemError ClientError(const absl::Status& status) {
  return ItemError{static_cast<int>(status.code()), std::string(status.message()), "client"};
}

// The record of one answered item; writes its output files.
ItemRecord MakeRecord(const ImageItem& item, StreamAnswer& answer, const InferOptions& options,
                      const explainer::v1::ModelInfo& model) {
  ItemRecord record;
  record.file = item.relative_path;
  record.request_id = item.request_id;
  record.annotation_file = item.annotation_path;
  record.round_trip = answer.round_trip;
  const bool dicom = item.skip.ok() && IsDicomFile(item.path);
  if (dicom) {
    absl::StatusOr<std::string> uid =
        ReadSopInstanceUid(item.path, options.connection.max_message_bytes);
    if (uid.ok()) record.sop_instance_uid = *std::move(uid);
  }
  if (!answer.response.ok()) {
    record.error = ClientError(answer.response.status());
    return record;
  }
  ExplainResponse& response = *answer.response;
  record.request_id = response.request_id();
  if (response.has_error()) {
    record.error = ItemError{response.error().code(), response.error().message(), "server"};
    return record;
  }
  if (!response.has_result()) {
    record.error =
        ClientError(absl::InternalError("the server's answer has neither a result nor an error"));
    return record;
  }
  explainer::v1::ExplainResult* result = response.mutable_result();
  absl::StatusOr<OutputFiles> files = WriteOutputs(
      *result, OutputRequest{options.out_dir, item.output_stem, options.heatmap, options.save_cam});
  if (files.ok()) {
    record.outputs = *files;
  } else {
    // The prediction came and stays in the record; only the files are missing.
    record.output_error = std::string(files.status().message());
  }
  if (dicom && !options.dicom_out.empty()) {
    absl::StatusOr<DicomOutputFiles> dicom_files = WriteDicomOutputs(
        *result, model,
        DicomOutputRequest{options.dicom_out, item.output_stem, item.path,
                           options.connection.max_message_bytes, CamMethodName(options.method),
                           options.dicom_uid_root});
    if (dicom_files.ok()) {
      record.outputs.dicom_overlay = dicom_files->overlay;
      record.outputs.dicom_sr = dicom_files->sr;
    } else if (record.output_error.empty()) {
      record.output_error = std::string(dicom_files.status().message());
    }
  }
  // The bulky parts are on disk now; the record keeps the numbers.
  result->clear_heatmap();
  result->clear_heatmap_png();
  result->clear_overlay_png();
  record.result = std::move(*result);
  return record;
}

}  // namespace

int RunInfer(const InferOptions& options, std::FILE* out, std::FILE* err) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<ImageItem>> found = FindImages(
      WalkOptions{options.image, options.input_dir, options.annotations_dir, options.out_dir});
  if (!found.ok()) {
    PrintError(err, std::string(found.status().message()));
    return found.status().code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage;
  }
  const std::vector<ImageItem>& items = *found;

  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec || !std::filesystem::is_directory(options.out_dir)) {
    PrintError(err, absl::StrCat("--out: cannot create the folder ", options.out_dir, ": ",
                                 ec ? ec.message() : "a file of that name exists"));
    return kExitFailed;
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(options.connection);
  if (!channel.ok()) {
    PrintError(err, std::string(channel.status().message()));
    return kExitServer;
  }
  std::unique_ptr<explainer::v1::Explainer::Stub> stub =
      explainer::v1::Explainer::NewStub(*channel);
  absl::StatusOr<explainer::v1::ModelInfo> info = FetchModelInfo(*stub, options.connection);
  if (!info.ok()) {
    PrintError(err, DescribeCallError(info.status(), options.connection));
    return kExitServer;
  }
  const std::vector<std::string> class_names(info->class_names().begin(),
                                             info->class_names().end());

  std::optional<int> target_class;
  if (options.target_class) {
    absl::StatusOr<int> index = ResolveTargetClass(*options.target_class, class_names);
    if (!index.ok()) {
      PrintError(err, std::string(index.status().message()));
      return kExitUsage;
    }
    target_class = *index;
  }
  if (info->methods_size() > 0 && std::find(info->methods().begin(), info->methods().end(),
                                            options.method) == info->methods().end()) {
    PrintError(err,
               absl::StrCat("--method: the server does not offer ", CamMethodName(options.method)));
    return kExitUsage;
  }

  const std::string results_path =
      (std::filesystem::path(options.out_dir) / "results.jsonl").string();
  absl::StatusOr<std::unique_ptr<ResultsWriter>> results = ResultsWriter::Open(results_path);
  if (!results.ok()) {
    PrintError(err, std::string(results.status().message()));
    return kExitFailed;
  }

  size_t annotated = 0;
  for (const ImageItem& item : items) annotated += item.annotation_path.empty() ? 0 : 1;
  std::fprintf(
      out, "explainer infer: %zu image(s)%s, model \"%s\" %s (%s) on %s at %s\n", items.size(),
      annotated > 0 ? absl::StrCat(", ", annotated, " with annotations").c_str() : "",
      info->name().c_str(), info->version().c_str(), absl::StrJoin(class_names, ", ").c_str(),
      info->device().c_str(), options.connection.server.c_str());
  std::fflush(out);

  const explainer::v1::ExplainOptions request_options = RequestOptions(options, target_class);
  Summary summary(class_names);
  ProgressBar progress(err, isatty(fileno(err)) != 0, static_cast<int>(items.size()), "");
  absl::Status write_status;
  int done = 0;
  int errors = 0;

  StreamingExplainer explainer(stub.get(),
                               StreamOptions{options.window, options.connection.deadline,
                                             options.connection.max_message_bytes});
  auto make_request = [&](size_t index) -> absl::StatusOr<ExplainRequest> {
    const ImageItem& item = items[index];
    if (!item.skip.ok()) return item.skip;
    ExplainRequest request;
    request.set_request_id(item.request_id);
    absl::StatusOr<std::string> image =
        ReadFileBytes(item.path, options.connection.max_message_bytes);
    if (!image.ok()) return image.status();
    request.set_image(*std::move(image));
    if (!item.annotation_path.empty()) {
      absl::StatusOr<std::string> annotation =
          ReadFileBytes(item.annotation_path, options.connection.max_message_bytes);
      if (!annotation.ok()) return annotation.status();
      request.set_annotation_json(*std::move(annotation));
    }
    *request.mutable_options() = request_options;
    return request;
  };
  auto on_answer = [&](StreamAnswer answer) {
    const ImageItem& item = items[answer.index];
    const bool answered = answer.response.ok();
    const ItemRecord record = MakeRecord(item, answer, options, *info);
    summary.Add(record, answered);
    if (write_status.ok())
      write_status = (*results)->Add(answer.index, RecordToJson(record, class_names));
    ++done;
    if (record.error) ++errors;
    progress.Update(done, errors);
  };
  const absl::Status stream_status =
      options.connection.lb_policy == "round_robin"
          ? RunBalanced(stub.get(),
                        StreamOptions{options.window, options.connection.deadline,
                                      options.connection.max_message_bytes},
                        BalanceOptions{}, items.size(), make_request, on_answer)
          : explainer.Run(items.size(), make_request, on_answer);
  progress.Finish();
  if (write_status.ok()) write_status = (*results)->Close();

  std::fputs(summary.Format(absl::Now() - start, options.out_dir, results_path).c_str(), out);
  std::fflush(out);

  if (!write_status.ok()) {
    PrintError(err, std::string(write_status.message()));
    return kExitFailed;
  }
  const SummaryFigures figures = summary.Figures();
  if (!stream_status.ok()) {
    PrintError(err, absl::StrCat(DescribeCallError(stream_status, options.connection), ". ",
                                 figures.answered, " of ", figures.images,
                                 " image(s) were answered; see ", results_path));
    return kExitServer;
  }
  if (figures.succeeded == 0) {
    PrintError(err, absl::StrCat("every image failed (", figures.images, " error(s)); see ",
                                 results_path));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace explainer::client
