// LabelMe 5.x annotation files in BTXRD's form: per lesion one rectangle and one
// polygon (rectangles first, as in most BTXRD files), imageData null.
#ifndef EXPLAINER_TOOLS_PHANTOM_LABELME_WRITER_H_
#define EXPLAINER_TOOLS_PHANTOM_LABELME_WRITER_H_

#include <string>
#include <vector>

#include "opencv2/core.hpp"
#include "tools/phantom/lesion_painter.h"

namespace explainer::phantom {

// JSON text (indent 2, keys in labelme's order, coordinates in image pixels).
std::string LabelMeJson(const std::vector<Lesion>& lesions, const std::string& image_path,
                        cv::Size image_size);

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_LABELME_WRITER_H_
