// The imaging chain of the phantom: projected thickness -> attenuation -> an 8-bit
// radiograph with exposure, processing, collimation, lead markers, blur and noise.
#ifndef EXPLAINER_TOOLS_PHANTOM_FILM_H_
#define EXPLAINER_TOOLS_PHANTOM_FILM_H_

#include "opencv2/core.hpp"
#include "tools/phantom/random.h"
#include "tools/phantom/scene.h"

namespace explainer::phantom {

// Returns a CV_8UC1 image of scene.size: bone white, air dark.
cv::Mat Expose(const Scene& scene, const Canvas& canvas, Rng& rng);

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_FILM_H_
