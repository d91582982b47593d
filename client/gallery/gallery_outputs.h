// Everything `explainer gallery` writes under --out: gallery_<Class>.png,
// annotation_comparison.png, metrics.json, annotation_report.json, gallery.json,
// index.html, and results.jsonl (one line per labelled image, as infer writes it).
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_OUTPUTS_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_OUTPUTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/gallery/gallery_run.h"

namespace explainer::client::gallery {

// Writes every output; returns the names written, in the summary's order.
absl::StatusOr<std::vector<std::string>> WriteGalleryOutputs(const GalleryRun& run);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_OUTPUTS_H_
