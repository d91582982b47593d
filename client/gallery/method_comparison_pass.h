// `gallery --methods`: the method comparison's passes of a gallery run, after
// pass 2 and the annotation comparison (whose report and panels are the run's
// method's), each an ordinary gallery pass with another method.
#ifndef EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_PASS_H_
#define EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_PASS_H_

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "client/core/session.h"
#include "client/gallery/gallery_run.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client::gallery {

// Fills run.method_comparison when run.options->compared_methods has two methods
// or more (else does nothing). `base` is the run's request options. Returns the
// first stream status that failed as a whole (what came before is kept).
absl::Status RunMethodComparisonPasses(Session& session, const explainer::v1::ExplainOptions& base,
                                       GalleryRun& run, std::FILE* err);

// The summary's line: each method's mean IoU at the ranking threshold and
// pointing-game rate, and which leads; empty when there is no comparison.
std::string MethodComparisonSummary(const GalleryRun& run);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_PASS_H_
