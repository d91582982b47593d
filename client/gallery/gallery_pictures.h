// The gallery's pictures with their display text: gallery_<Class>.png per class
// (titles of each tile: file, classes, confidence, outcome) and
// annotation_comparison.png (titles of each panel: role, mask area, method, IoU).
// Pixel drawing is gallery_render.h's and comparison_render.h's.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_PICTURES_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_PICTURES_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/gallery/gallery_run.h"
#include "client/gallery/selection.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// "gallery_<Class>.png", the class name reduced to [A-Za-z0-9_-].
std::string GalleryFileName(const std::string& class_name);

absl::StatusOr<cv::Mat> RenderClassGallery(const GalleryRun& run, const ClassGallery& gallery);

// Needs run.comparison (BuildComparison).
absl::StatusOr<cv::Mat> RenderAnnotationComparison(const GalleryRun& run);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_PICTURES_H_
