// TP / FP / FN picks per class; see selection.h.
#include "client/gallery/selection.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace explainer::client::gallery {
namespace {

float Score(const Prediction& p, int c) {
  return c < static_cast<int>(p.probabilities.size()) ? p.probabilities[c] : 0.0f;
}

GalleryRow PickRow(const std::vector<Prediction>& predictions, int c, int k, Outcome outcome) {
  GalleryRow row;
  row.outcome = outcome;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const Prediction& p = predictions[i];
    const bool is_true = p.true_class == c;
    const bool is_predicted = p.predicted_class == c;
    const bool qualifies = outcome == Outcome::kTruePositive    ? is_true && is_predicted
                           : outcome == Outcome::kFalsePositive ? !is_true && is_predicted
                                                                : is_true && !is_predicted;
    if (qualifies) candidates.push_back(i);
  }
  const bool lowest_first = outcome == Outcome::kFalseNegative;
  std::sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
    const Prediction& pa = predictions[a];
    const Prediction& pb = predictions[b];
    const float sa = Score(pa, c);
    const float sb = Score(pb, c);
    if (sa != sb) return lowest_first ? sa < sb : sa > sb;
    if (pa.file != pb.file) return pa.file < pb.file;
    return pa.item < pb.item;
  });
  row.available = candidates.size();
  if (candidates.size() > static_cast<size_t>(std::max(k, 0))) candidates.resize(std::max(k, 0));
  row.picks = std::move(candidates);
  return row;
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kTruePositive:
      return "TP";
    case Outcome::kFalsePositive:
      return "FP";
    case Outcome::kFalseNegative:
      return "FN";
  }
  return "?";
}

std::vector<ClassGallery> SelectGalleries(const std::vector<Prediction>& predictions,
                                          int num_classes, int k) {
  std::vector<ClassGallery> galleries;
  for (int c = 0; c < num_classes; ++c) {
    ClassGallery gallery;
    gallery.class_index = c;
    gallery.rows[0] = PickRow(predictions, c, k, Outcome::kTruePositive);
    gallery.rows[1] = PickRow(predictions, c, k, Outcome::kFalsePositive);
    gallery.rows[2] = PickRow(predictions, c, k, Outcome::kFalseNegative);
    galleries.push_back(std::move(gallery));
  }
  return galleries;
}

std::vector<RankedPick> SelectBestMedianWorst(const std::vector<double>& scores,
                                              const std::vector<std::string>& files) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (scores[a] != scores[b]) return scores[a] > scores[b];
    if (files[a] != files[b]) return files[a] < files[b];
    return a < b;
  });
  const size_t n = order.size();
  std::vector<RankedPick> picks;
  if (n >= 1) picks.push_back(RankedPick{"best", order[0]});
  if (n >= 3) picks.push_back(RankedPick{"median", order[(n - 1) / 2]});
  if (n >= 2) picks.push_back(RankedPick{"worst", order[n - 1]});
  return picks;
}

}  // namespace explainer::client::gallery
