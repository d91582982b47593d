// `explainer gallery`: predictions for every labelled image (pass 1, no heatmaps),
// then explanations for the images the galleries show and the annotated tumour
// images (pass 2, whose heatmaps also draw the comparison: no image is sent a third
// time), then the galleries, metrics, comparison, reports, results.jsonl and page.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_COMMAND_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_COMMAND_H_

#include <cstdio>

#include "client/gallery/gallery_options.h"

namespace explainer::client::gallery {

// Runs the whole command; returns its exit status (client/exit_codes.h): 0 done,
// 1 nothing to show (no labelled image was predicted) or outputs not writable,
// 2 bad input (labels the model does not know, a missing folder), 3 the server
// could not be reached or a pass failed as a whole (what was received is still
// written). The summary goes to `out`; progress and diagnostics to `err`.
int RunGallery(const GalleryOptions& options, std::FILE* out, std::FILE* err);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_COMMAND_H_
