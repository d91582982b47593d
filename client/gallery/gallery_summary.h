// The end-of-run summary `explainer gallery` prints on stdout: counts, the first
// errors, accuracy and per-class figures, gallery rows, annotation agreement, and
// what was written where.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_SUMMARY_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_SUMMARY_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/gallery/gallery_run.h"

namespace explainer::client::gallery {

// Needs run.predicted.metrics. `written`: file names under --out.
std::string GallerySummary(const GalleryRun& run, const std::vector<std::string>& written,
                           absl::Duration wall_time);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_SUMMARY_H_
