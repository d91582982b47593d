// The inputs of `explainer gallery`: the images under --input-dir (paired with
// their annotations), the --labels table, and which images it labels with a class
// the model knows.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_INPUTS_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_INPUTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/gallery/gallery_options.h"
#include "client/gallery/gallery_run.h"

namespace explainer::client::gallery {

// Walks --input-dir and reads --labels. Errors name the flag; NotFound when the
// folder holds no image.
absl::Status ReadGalleryInputs(const GalleryOptions& options, GalleryInputs& inputs);

// Matches images to labels by stem and fills inputs.entries. InvalidArgument for a
// label the model does not know; NotFound (saying how images are matched) when no
// image has a label.
absl::Status MatchGalleryInputs(const GalleryOptions& options,
                                const std::vector<std::string>& class_names,
                                GalleryInputs& inputs);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_INPUTS_H_
