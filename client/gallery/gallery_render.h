// gallery_<Class>.png: one class's TP / FP / FN rows of overlay tiles.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_RENDER_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_RENDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/gallery/selection.h"
#include "client/gallery/tile_canvas.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// Pixel geometry. The image is exactly k * tile_width wide and
// header_height + 3 * (row_header_height + title_height + image_height) high.
struct GalleryLayout {
  int tile_width = 320;
  int image_height = 320;  // the overlay is fitted into tile_width x image_height
  int title_height = 70;   // three lines of title above each overlay
  int row_header_height = 30;
  int header_height = 68;  // the title (40) and, below it, a smaller subtitle
};

cv::Size GalleryCanvasSize(const GalleryLayout& layout, int k);

struct GalleryTile {
  cv::Mat image;                // CV_8UC3 BGR overlay; empty: a grey "no image" box
  std::vector<TextLine> title;  // up to three lines
};

struct GalleryRowContent {
  Outcome outcome = Outcome::kTruePositive;
  std::string description;         // "true Benign, predicted Benign: highest p(Benign)"
  std::vector<GalleryTile> tiles;  // at most k
  size_t available = 0;            // how many qualified
};

// The colour of an outcome's stripes and labels.
cv::Scalar OutcomeColor(Outcome outcome);

// Draws the gallery: a header with `title` and `subtitle`, then one band + k tiles
// per row. Each row's band says "TP", the description and "n of k = K" when fewer
// than k qualify (else "k shown of N"); an empty row says "none"; missing tiles are
// blank. InvalidArgument when k < 1, rows != 3 or a row has more than k tiles.
absl::StatusOr<cv::Mat> RenderGallery(const std::string& title, const std::string& subtitle,
                                      const std::vector<GalleryRowContent>& rows, int k,
                                      const GalleryLayout& layout = {});

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_RENDER_H_
