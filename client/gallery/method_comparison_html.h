// index.html's "Method comparison" section, built from annotation_report.json's
// "method_comparison" (method_comparison.h) so that the page and the file agree.
#ifndef EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_HTML_H_
#define EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_HTML_H_

#include <string>

#include "nlohmann/json.hpp"

namespace explainer::client::gallery {

// The section: what it answers, a table of every method's mean IoU per threshold,
// pointing game and energy inside over all annotated images (each figure's
// leader marked), method_comparison.png and the same table per class. A null
// `comparison` gives a note saying how to ask for one.
std::string MethodComparisonHtml(const nlohmann::ordered_json& comparison,
                                 const nlohmann::ordered_json& thresholds);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_METHOD_COMPARISON_HTML_H_
