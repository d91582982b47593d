// Pass 1 of `explainer gallery`: every labelled image predicted without a heatmap,
// then the classification metrics and the TP / FP / FN picks of each class.
#ifndef EXPLAINER_CLIENT_GALLERY_PREDICTION_PASS_H_
#define EXPLAINER_CLIENT_GALLERY_PREDICTION_PASS_H_

#include <cstdio>

#include "absl/status/status.h"
#include "client/core/session.h"
#include "client/gallery/gallery_run.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client::gallery {

// Fills run.predicted and run.records. Returns the stream's status; when the
// metrics cannot be computed, run.predicted.metrics stays empty and the returned
// status says why.
absl::Status RunPredictionPass(Session& session, const explainer::v1::ExplainOptions& base,
                               GalleryRun& run, std::FILE* err);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_PREDICTION_PASS_H_
