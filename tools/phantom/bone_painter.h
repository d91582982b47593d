// Normal anatomy of a synthetic limb radiograph: scene layout (which joint, where,
// how large, which view) and painting of soft tissue, bones and normal variants.
#ifndef EXPLAINER_TOOLS_PHANTOM_BONE_PAINTER_H_
#define EXPLAINER_TOOLS_PHANTOM_BONE_PAINTER_H_

#include <string>

#include "opencv2/core.hpp"
#include "tools/phantom/random.h"
#include "tools/phantom/scene.h"

namespace explainer::phantom {

struct SceneRequest {
  std::string anatomy;      // "knee", "ankle", "shoulder", "elbow", "wrist"; empty: random
  bool need_joint = false;  // keep the joint (and so the metaphyses) in the field
  bool physis_open = false;
};

// Picks frame, scale, bones and soft-tissue envelope for an image of `size`.
Scene BuildScene(cv::Size size, const SceneRequest& request, Rng& rng);

// Fills canvas->soft and canvas->bone (allocated here) with the normal anatomy,
// plus incidental normal variants (growth-arrest lines, bone islands, nutrient canals,
// vascular calcification) that a classifier must learn not to call tumours.
void PaintAnatomy(const Scene& scene, Rng& rng, Canvas* canvas);

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_BONE_PAINTER_H_
