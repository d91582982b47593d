// What one `explainer gallery` run knows, pass by pass: its inputs, the
// predictions (pass 1), the tiles, annotation report and heatmaps (pass 2), and the
// comparison panels built from them. The passes fill it; the renderers, documents
// and summary only read it.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_RUN_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_RUN_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/gallery/annotation_report.h"
#include "client/gallery/classification_metrics.h"
#include "client/gallery/gallery_options.h"
#include "client/gallery/labels.h"
#include "client/gallery/method_comparison.h"
#include "client/gallery/panels.h"
#include "client/gallery/selection.h"
#include "client/image_walker.h"
#include "client/item_record.h"
#include "explainer/v1/explainer.pb.h"
#include "opencv2/core.hpp"

namespace explainer::client::gallery {

// One labelled image of the run; the passes refer to images by entry index.
struct GalleryEntry {
  const ImageItem* item = nullptr;
  int true_class = -1;
};

struct GalleryInputs {
  std::vector<ImageItem> items;
  LabelTable labels;
  LabelMatch match;
  std::vector<GalleryEntry> entries;  // the labelled items, in item order
};

struct RunError {
  std::string file;
  std::string pass;  // "1/2" predictions, "2/2" explanations
  std::string message;
};

// Pass 1: every labelled image, predicted without a heatmap.
struct PredictionResults {
  std::vector<Prediction> predictions;  // successful entries; item = entry index
  std::map<size_t, float> confidence;   // entry -> p(predicted class)
  std::optional<ClassificationMetrics> metrics;
  std::vector<ClassGallery> galleries;
};

// Pass 2: the images the galleries show (overlay tiles) and the annotated tumour
// images (annotation report, and the 8-bit heatmap PNG the comparison panels use).
struct ExplanationResults {
  int explained = 0;
  std::map<size_t, cv::Mat> tiles;            // entry -> overlay fitted to a tile
  std::map<size_t, std::string> tile_errors;  // entry -> why it has no overlay
  AnnotationReport report;
  std::map<size_t, size_t> report_index;       // entry -> index in report.images
  std::map<size_t, std::string> heatmap_pngs;  // entry -> heatmap PNG (tumour images)
};

// The annotation comparison: per annotated class, best / median / worst by IoU.
struct ComparisonPick {
  const char* role;  // "best", "median", "worst"
  size_t entry;
  size_t report_image;
};

struct ComparisonResults {
  std::vector<std::pair<int, std::vector<ComparisonPick>>> picks;  // by class
  std::map<size_t, ComparisonPanels> panels;                       // entry -> panels
  std::map<size_t, std::string> errors;                            // entry -> why none
};

struct GalleryRun {
  const GalleryOptions* options = nullptr;
  explainer::v1::ModelInfo model;
  std::vector<std::string> class_names;
  GalleryInputs inputs;
  std::vector<RunError> errors;
  // One per labelled entry for results.jsonl: the pass-2 record when the image was
  // explained, else its pass-1 record.
  std::vector<std::optional<ItemRecord>> records;
  PredictionResults predicted;
  ExplanationResults explained;
  ComparisonResults comparison;
  std::optional<MethodComparison> method_comparison;  // --methods
};

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_RUN_H_
