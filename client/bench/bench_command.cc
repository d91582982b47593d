// `explainer bench`; see bench_command.h.
#include "client/bench/bench_command.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/bench/bench_images.h"
#include "client/bench/bench_report.h"
#include "client/bench/load_generator.h"
#include "client/connection.h"
#include "client/core/session.h"
#include "client/exit_codes.h"
#include "client/file_io.h"

namespace explainer::client::bench {
namespace {

void PrintError(std::FILE* err, const std::string& message) {
  std::fprintf(err, "explainer bench: %s\n", message.c_str());
}

absl::StatusOr<std::vector<BenchImage>> LoadImages(const BenchOptions& options) {
  if (!options.input_dir.empty()) {
    return LoadFolderImages(options.input_dir, options.connection.max_message_bytes);
  }
  return GenerateImages(options.images, options.width, options.height, options.seed);
}

BenchSetup SetupOf(const BenchOptions& options, const explainer::v1::ModelInfo& info,
                   size_t image_count) {
  BenchSetup setup;
  setup.server = options.connection.server;
  setup.model = absl::StrCat(info.name(), " ", info.version(), " on ", info.device());
  setup.images = options.input_dir.empty()
                     ? absl::StrFormat("%d generated %dx%d JPEG", image_count, options.width,
                                       options.height)
                     : absl::StrFormat("folder %s (%d files)", options.input_dir, image_count);
  setup.transport =
      options.unary
          ? absl::StrFormat("unary, %d concurrent calls", options.streams * options.window)
          : absl::StrFormat("%d stream(s) x window %d", options.streams, options.window);
  setup.mode = OutputModeName(options.mode);
  setup.method = CamMethodName(options.method);
  setup.warmup = options.warmup;
  return setup;
}

}  // namespace

int RunBench(const BenchOptions& options, std::FILE* out, std::FILE* err) {
  absl::StatusOr<std::vector<BenchImage>> images = LoadImages(options);
  if (!images.ok()) {
    PrintError(err, std::string(images.status().message()));
    return kExitFailed;
  }
  if (!options.write_images.empty()) {
    if (absl::Status s = WriteImages(*images, options.write_images); !s.ok()) {
      PrintError(err, std::string(s.message()));
      return kExitFailed;
    }
    std::fprintf(out, "wrote %zu images to %s\n", images->size(), options.write_images.c_str());
    return kExitOk;
  }

  // The client core's connection and model info, as infer and gallery open them.
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Open(options.connection);
  if (!session.ok()) {
    PrintError(err, std::string(session.status().message()));
    return kExitServer;
  }
  const explainer::v1::ModelInfo* info = &(*session)->model();
  if (options.mode != OutputMode::kPredict && info->methods_size() > 0 &&
      std::find(info->methods().begin(), info->methods().end(), options.method) ==
          info->methods().end()) {
    PrintError(err,
               absl::StrCat("--method: the server does not offer ", CamMethodName(options.method)));
    return kExitUsage;
  }

  std::vector<explainer::v1::ExplainRequest> requests;
  for (const BenchImage& image : *images) {
    explainer::v1::ExplainRequest request;
    request.set_image(image.bytes);
    *request.mutable_options() = RequestOptionsFor(options.mode, options.method);
    requests.push_back(std::move(request));
  }
  LoadPlan plan;
  plan.streams = options.streams;
  plan.window = options.window;
  plan.unary = options.unary;
  plan.answer_timeout = options.connection.deadline;
  plan.max_message_bytes = options.connection.max_message_bytes;
  if (options.warmup > 0) {
    LoadPlan warmup = plan;
    warmup.count = options.warmup;
    const LoadResult warm = RunLoad(&(*session)->stub(), requests, warmup);
    if (!warm.status.ok()) {
      PrintError(err, "warm-up: " + DescribeCallError(warm.status, options.connection));
      return kExitServer;
    }
  }
  plan.count = options.count;
  plan.duration = options.duration;
  const LoadResult result = RunLoad(&(*session)->stub(), requests, plan);

  const BenchReport report =
      Summarise(SetupOf(options, *info, images->size()), result.samples, result.elapsed);
  std::fputs(FormatText(report).c_str(), out);
  if (!options.json.empty()) {
    if (absl::Status s = WriteFileBytes(options.json, ToJson(report).dump(2) + "\n"); !s.ok()) {
      PrintError(err, std::string(s.message()));
      return kExitFailed;
    }
  }
  if (!result.status.ok()) {
    PrintError(err, DescribeCallError(result.status, options.connection));
    return kExitServer;
  }
  return report.errors > 0 ? kExitFailed : kExitOk;
}

}  // namespace explainer::client::bench
