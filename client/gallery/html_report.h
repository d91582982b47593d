// index.html: one self-contained page (inline CSS, relative image links, no
// external assets) with the run, the metrics, the galleries, the annotation
// comparison, the IoU report and the method comparison (method_comparison_html.h).
#ifndef EXPLAINER_CLIENT_GALLERY_HTML_REPORT_H_
#define EXPLAINER_CLIENT_GALLERY_HTML_REPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace explainer::client::gallery {

// The page is built from the same documents the run writes, so that it can never
// disagree with them: gallery.json (run, galleries, comparison), metrics.json and
// annotation_report.json (null when the run had no annotations).
struct HtmlReportInput {
  nlohmann::ordered_json gallery;
  nlohmann::ordered_json metrics;
  nlohmann::ordered_json annotation_report;
};

// & < > " ' escaped.
std::string HtmlEscape(absl::string_view text);

// The page. After loading, a small inline script counts the <img> elements that
// loaded and those that did not, and records both on <body> as
// data-images-loaded / data-images-broken (broken ones also get data-broken="1"
// and a visible note), so that a headless browser's DOM dump shows whether every
// link works.
std::string RenderIndexHtml(const HtmlReportInput& input);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_HTML_REPORT_H_
