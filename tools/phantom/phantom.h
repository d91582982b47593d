// One synthetic BTXRD-like case: radiograph, annotations and its dataset.csv row,
// a pure function of (seed, id, diagnosis).
#ifndef EXPLAINER_TOOLS_PHANTOM_PHANTOM_H_
#define EXPLAINER_TOOLS_PHANTOM_PHANTOM_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "opencv2/core.hpp"
#include "tools/phantom/btxrd_csv.h"
#include "tools/phantom/lesion_painter.h"

namespace explainer::phantom {

struct PhantomCase {
  std::string stem;  // "IMG000001"
  cv::Mat image;     // CV_8UC1
  // With GenerateCase(..., /*with_twin=*/true), for a tumour case: the same film
  // without its lesions (same anatomy, exposure and grain). Training pairs that differ
  // only in the lesion; empty otherwise.
  cv::Mat lesion_free;
  int jpeg_quality = 95;
  std::vector<Lesion> lesions;  // empty for Normal
  CaseRecord record;
};

// "IMG%06d".
std::string Stem(int id);

// The diagnosis of image `id`: ids are dealt in blocks of ten (ids 1-10, 11-20, ...)
// holding round(10 * mix) of each class in a seeded order, so every aligned block of
// ten has the requested mix. mix: Normal, Benign, Malignant weights.
Diagnosis DiagnosisFor(uint64_t seed, int id, const std::array<double, 3>& mix);

PhantomCase GenerateCase(uint64_t seed, int id, Diagnosis diagnosis, bool with_twin = false);

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_PHANTOM_H_
