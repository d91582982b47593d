// gallery.json: the run (inputs, model, counts, errors), what each gallery row
// shows, and the annotation comparison's picks. index.html is drawn from it.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_DOCUMENTS_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_DOCUMENTS_H_

#include "client/gallery/gallery_run.h"
#include "nlohmann/json.hpp"

namespace explainer::client::gallery {

// {"run": {...}, "galleries": [...], "comparison": {...} | null}. File names are
// kept as bytes; the caller escapes invalid UTF-8.
nlohmann::ordered_json GalleryJson(const GalleryRun& run);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_DOCUMENTS_H_
