// `explainer infer`: discover, open a session, stream, write outputs, summarise.
#include "client/infer_command.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/core/item_exchange.h"
#include "client/core/session.h"
#include "client/dicom_pacs.h"
#include "client/exit_codes.h"
#include "client/image_walker.h"
#include "client/item_outputs.h"
#include "client/progress.h"
#include "client/results_writer.h"
#include "client/summary.h"

namespace explainer::client {
namespace {

void PrintError(std::FILE* err, absl::string_view message) {
  std::fprintf(err, "explainer infer: %s\n", std::string(message).c_str());
}

}  // namespace

int RunInfer(const InferOptions& options, std::FILE* out, std::FILE* err) {
  const absl::Time start = absl::Now();
  std::string input_dir = options.input_dir;
  if (options.input_pacs.has_value()) {
    absl::StatusOr<PacsPull> pulled = PullStudies(
        *options.input_pacs, (std::filesystem::path(options.out_dir) / "pacs_input").string());
    if (!pulled.ok()) {
      PrintError(err, pulled.status().message());
      return pulled.status().code() == absl::StatusCode::kUnavailable ? kExitServer : kExitFailed;
    }
    std::fprintf(out, "explainer infer: %s\n", DescribePull(*pulled).c_str());
    input_dir = pulled->folder;
  }
  absl::StatusOr<std::vector<ImageItem>> found = FindImages(
      WalkOptions{options.image, input_dir, options.annotations_dir, options.out_dir});
  if (!found.ok()) {
    PrintError(err, found.status().message());
    return found.status().code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage;
  }
  const std::vector<ImageItem>& items = *found;

  SessionStart opened = StartSession(options.out_dir, options.connection, options.explain);
  if (!opened.session) {
    PrintError(err, opened.error);
    return opened.exit_code;
  }
  Session& session = *opened.session;
  explainer::v1::ExplainOptions* request_options = &opened.request_options;
  // The client renders overlays itself (item_outputs.cc) unless told not to, or unless
  // DICOM inputs get a --dicom-voi it cannot apply the server's way.
  const bool client_overlay = !options.server_overlay && options.dicom_voi.ByteSizeLong() == 0;
  request_options->set_return_overlay_png(!client_overlay);
  request_options->set_return_heatmap_png(options.heatmap);
  request_options->set_return_raw_heatmap(options.save_cam || client_overlay);
  *request_options->mutable_dicom_voi() = options.dicom_voi;
  const explainer::v1::ModelInfo& model = session.model();
  const std::vector<std::string>& class_names = session.class_names();

  const std::string results_path =
      (std::filesystem::path(options.out_dir) / "results.jsonl").string();
  absl::StatusOr<std::unique_ptr<ResultsWriter>> results = ResultsWriter::Open(results_path);
  if (!results.ok()) {
    PrintError(err, results.status().message());
    return kExitFailed;
  }

  size_t annotated = 0;
  for (const ImageItem& item : items) annotated += item.annotation_path.empty() ? 0 : 1;
  std::fprintf(
      out, "explainer infer: %zu image(s)%s, model \"%s\" %s (%s) on %s at %s\n", items.size(),
      annotated > 0 ? absl::StrCat(", ", annotated, " with annotations").c_str() : "",
      model.name().c_str(), model.version().c_str(), absl::StrJoin(class_names, ", ").c_str(),
      model.device().c_str(), options.connection.server.c_str());
  std::fflush(out);

  Summary summary(class_names);
  ProgressBar progress(err, isatty(fileno(err)) != 0, static_cast<int>(items.size()), "");
  absl::Status write_status;
  int done = 0;
  int errors = 0;
  const absl::Status stream_status = session.Stream(
      options.window, items.size(),
      [&](size_t index) {
        return BuildItemRequest(items[index], *request_options,
                                options.connection.max_message_bytes);
      },
      [&](StreamAnswer answer) {
        const ImageItem& item = items[answer.index];
        const bool answered = answer.response.ok();
        ItemRecord record = RecordAnswer(item, answer);
        WriteItemOutputs(item, options, model, record);
        summary.Add(record, answered);
        if (write_status.ok()) {
          write_status = (*results)->Add(answer.index, RecordToJson(record, class_names));
        }
        ++done;
        if (record.error) ++errors;
        progress.Update(done, errors);
      });
  progress.Finish();
  if (write_status.ok()) write_status = (*results)->Close();

  std::fputs(summary.Format(absl::Now() - start, options.out_dir, results_path).c_str(), out);
  std::fflush(out);

  if (!write_status.ok()) {
    PrintError(err, write_status.message());
    return kExitFailed;
  }
  const SummaryFigures figures = summary.Figures();
  if (!stream_status.ok()) {
    PrintError(err, absl::StrCat(session.DescribeError(stream_status), ". ", figures.answered,
                                 " of ", figures.images, " image(s) were answered; see ",
                                 results_path));
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
