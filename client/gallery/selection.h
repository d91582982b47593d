// Which images a class's gallery shows: its most confident true positives, its
// most confident false positives and its least confident false negatives.
#ifndef EXPLAINER_CLIENT_GALLERY_SELECTION_H_
#define EXPLAINER_CLIENT_GALLERY_SELECTION_H_

#include <cstddef>
#include <string>
#include <vector>

namespace explainer::client::gallery {

// One labelled, successfully predicted image.
struct Prediction {
  size_t item = 0;   // the caller's index of the image
  std::string file;  // breaks ties (byte order), then `item`
  int true_class = 0;
  int predicted_class = 0;
  std::vector<float> probabilities;  // by class index
};

enum class Outcome { kTruePositive, kFalsePositive, kFalseNegative };

// "TP", "FP", "FN".
const char* OutcomeName(Outcome outcome);

struct GalleryRow {
  Outcome outcome = Outcome::kTruePositive;
  std::vector<size_t> picks;  // indexes into the predictions, best first
  size_t available = 0;       // how many qualified (picks.size() == min(k, available))
};

struct ClassGallery {
  int class_index = 0;
  GalleryRow rows[3];  // TP, FP, FN
};

// Per class c (as the Python pipeline did):
//   TP: true c and predicted c, the k with the highest p(c);
//   FP: true not c and predicted c, the k with the highest p(c);
//   FN: true c and predicted not c, the k with the lowest p(c).
// Equal p(c) are ordered by file name, then by item, so picks are deterministic.
// Fewer than k qualify: every one that does. One gallery per class, in class order.
std::vector<ClassGallery> SelectGalleries(const std::vector<Prediction>& predictions,
                                          int num_classes, int k);

// One row of the annotation comparison.
struct RankedPick {
  const char* role = "";  // "best", "median" or "worst"
  size_t index = 0;       // into the scores given
};

// The best, median and worst of `scores` (higher is better; equal scores are
// ordered by file name, then index): none for no scores, best for one, best and
// worst for two, else best, median (position floor((n - 1) / 2) of the best-first
// order) and worst.
std::vector<RankedPick> SelectBestMedianWorst(const std::vector<double>& scores,
                                              const std::vector<std::string>& files);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_SELECTION_H_
