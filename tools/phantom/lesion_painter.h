// Bone tumours for the phantom: benign (well-defined lucencies with sclerotic rims,
// exostoses, loose bodies) and malignant (ill-defined destruction, periosteal
// reaction, soft-tissue mass), painted into the thickness maps, with their outlines.
#ifndef EXPLAINER_TOOLS_PHANTOM_LESION_PAINTER_H_
#define EXPLAINER_TOOLS_PHANTOM_LESION_PAINTER_H_

#include <string>
#include <vector>

#include "opencv2/core.hpp"
#include "tools/phantom/random.h"
#include "tools/phantom/scene.h"

namespace explainer::phantom {

// BTXRD's tumour subtype columns, which are also its annotation labels.
inline constexpr const char* kBenignSubtypes[] = {
    "osteochondroma", "multiple osteochondromas", "simple bone cyst", "giant cell tumor",
    "osteofibroma",   "synovial osteochondroma",  "other bt"};
inline constexpr const char* kMalignantSubtypes[] = {"osteosarcoma", "other mt"};

struct Lesion {
  std::string label;                 // the subtype
  std::string site;                  // BTXRD site column of the bone (or joint)
  std::vector<cv::Point2d> polygon;  // annotator's trace, image pixels, inside the image
  cv::Rect2d box;                    // annotator's rectangle around it
};

// What the scene must show for this subtype (e.g. loose bodies need the joint).
bool NeedsJoint(const std::string& subtype);

// Paints one tumour of `subtype` (several for "multiple osteochondromas") into the
// canvas and returns the annotations.
std::vector<Lesion> PaintLesions(const std::string& subtype, const Scene& scene, Rng& rng,
                                 Canvas* canvas);

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_LESION_PAINTER_H_
