// Pass 2 of `explainer gallery`: explanations of the images the galleries show
// (their overlay tiles) and of the annotated tumour images (their annotation
// reports, and the 8-bit heatmap PNG kept for the comparison panels). Each image
// is sent once here, after its prediction in pass 1: the comparison's best, median
// and worst images are drawn from what this pass returned.
#ifndef EXPLAINER_CLIENT_GALLERY_EXPLANATION_PASS_H_
#define EXPLAINER_CLIENT_GALLERY_EXPLANATION_PASS_H_

#include <cstdio>

#include "absl/status/status.h"
#include "client/core/session.h"
#include "client/gallery/gallery_run.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client::gallery {

// Tile size of the gallery's overlays.
cv::Size GalleryTileBox();

// Fills run.explained and replaces the records of the images it explained.
// Returns the stream's status.
absl::Status RunExplanationPass(Session& session, const explainer::v1::ExplainOptions& base,
                                GalleryRun& run, std::FILE* err);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_EXPLANATION_PASS_H_
