// `explainer gallery`: inputs, a session, two passes, the comparison panels, then
// the outputs and the summary; see gallery_command.h.
#include "client/gallery/gallery_command.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/core/session.h"
#include "client/exit_codes.h"
#include "client/gallery/comparison_picks.h"
#include "client/gallery/comparison_render.h"
#include "client/gallery/explanation_pass.h"
#include "client/gallery/gallery_inputs.h"
#include "client/gallery/gallery_outputs.h"
#include "client/gallery/gallery_run.h"
#include "client/gallery/gallery_summary.h"
#include "client/gallery/method_comparison.h"
#include "client/gallery/method_comparison_pass.h"
#include "client/gallery/prediction_pass.h"

namespace explainer::client::gallery {
namespace {

void PrintError(std::FILE* err, absl::string_view message) {
  std::fprintf(err, "explainer gallery: %s\n", std::string(message).c_str());
}

void PrintHeader(const GalleryRun& run, std::FILE* out) {
  size_t annotated = 0;
  for (const GalleryEntry& e : run.inputs.entries) {
    annotated += e.item->annotation_path.empty() ? 0 : 1;
  }
  std::fprintf(out,
               "explainer gallery: %zu image(s), %zu labelled (%s), %zu with annotations; "
               "model \"%s\" %s (%s) on %s at %s\n",
               run.inputs.items.size(), run.inputs.entries.size(),
               LabelFormatName(run.inputs.labels.format).c_str(), annotated,
               run.model.name().c_str(), run.model.version().c_str(),
               absl::StrJoin(run.class_names, ", ").c_str(), run.model.device().c_str(),
               run.options->connection.server.c_str());
  std::fflush(out);
}

}  // namespace

int RunGallery(const GalleryOptions& options, std::FILE* out, std::FILE* err) {
  const absl::Time start = absl::Now();
  GalleryRun run;
  run.options = &options;
  if (absl::Status read = ReadGalleryInputs(options, run.inputs); !read.ok()) {
    PrintError(err, read.message());
    return read.code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage;
  }
  SessionStart opened = StartSession(options.out_dir, options.connection, options.explain);
  if (!opened.session) {
    PrintError(err, opened.error);
    return opened.exit_code;
  }
  Session& session = *opened.session;
  const explainer::v1::ExplainOptions& base = opened.request_options;
  run.model = session.model();
  run.class_names = session.class_names();
  if (run.class_names.empty()) {
    PrintError(err, "the server's model reports no class names");
    return kExitServer;
  }
  if (absl::Status offered = CheckMethodsOffered(options.compared_methods, run.model);
      !offered.ok()) {
    PrintError(err, offered.message());
    return kExitUsage;
  }
  if (absl::Status match = MatchGalleryInputs(options, run.class_names, run.inputs); !match.ok()) {
    PrintError(err, match.message());
    return match.code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage;
  }
  run.records.resize(run.inputs.entries.size());
  PrintHeader(run, out);

  const absl::Status pass1 = RunPredictionPass(session, base, run, err);
  if (!run.predicted.metrics) {
    PrintError(err, absl::StrCat("computing the metrics: ", pass1.message()));
    return kExitFailed;
  }
  if (!pass1.ok()) {
    PrintError(err, absl::StrCat("pass 1: ", session.DescribeError(pass1)));
    return kExitServer;
  }
  if (run.predicted.predictions.empty()) {
    PrintError(err, absl::StrCat("every one of the ", run.inputs.entries.size(),
                                 " labelled image(s) failed in pass 1; first: ",
                                 run.errors[0].file, ": ", run.errors[0].message));
    return kExitFailed;
  }
  // A pass that fails as a whole still leaves what it received: write that, then
  // report the failure.
  const absl::Status pass2 = RunExplanationPass(session, base, run, err);
  const ComparisonLayout comparison_layout;
  BuildComparison(run, cv::Size(comparison_layout.tile_width, comparison_layout.image_height));
  const absl::Status methods =
      pass2.ok() ? RunMethodComparisonPasses(session, base, run, err) : absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> written = WriteGalleryOutputs(run);
  if (!written.ok()) {
    PrintError(err, written.status().message());
    return kExitFailed;
  }
  std::fputs(GallerySummary(run, *written, absl::Now() - start).c_str(), out);
  std::fflush(out);
  if (!pass2.ok()) {
    PrintError(err, absl::StrCat("pass 2: ", session.DescribeError(pass2),
                                 "; the outputs hold what was received"));
    return kExitServer;
  }
  if (!methods.ok()) {
    PrintError(err, absl::StrCat("method comparison: ", session.DescribeError(methods),
                                 "; the outputs hold what was received"));
    return kExitServer;
  }
  return kExitOk;
}

}  // namespace explainer::client::gallery
