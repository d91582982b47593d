// The annotation comparison's content: per annotated class, the best, median and
// worst images by IoU (at the threshold closest to 0.5), each with its four
// panels. Made from pass 2's reports and heatmaps and the local files: nothing is
// sent again.
#ifndef EXPLAINER_CLIENT_GALLERY_COMPARISON_PICKS_H_
#define EXPLAINER_CLIENT_GALLERY_COMPARISON_PICKS_H_

#include "client/gallery/gallery_run.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// Fills run.comparison; an image whose panels cannot be drawn gets its reason in
// run.comparison.errors (the row is still shown). Each picked image is read and
// decoded once.
void BuildComparison(GalleryRun& run, cv::Size panel_box);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_COMPARISON_PICKS_H_
