// Rendering index.html; see html_report.h.
#include "client/gallery/html_report.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/gallery/method_comparison_html.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kListedNames = 100;

constexpr absl::string_view kStyle = R"css(
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #222; background: #fafafa; }
header { background: #283040; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; color: #cdd3df; }
main { padding: 8px 28px 40px 28px; max-width: 1400px; }
h2 { border-bottom: 2px solid #283040; padding-bottom: 4px; margin-top: 32px; }
h3 { margin-bottom: 6px; }
table { border-collapse: collapse; margin: 8px 0 16px 0; background: #fff; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; font-size: 14px; }
th { background: #eef0f4; }
td.name, th.name { text-align: left; }
td.diag { background: #e3f1e0; font-weight: bold; }
.figures span { display: inline-block; margin: 4px 18px 4px 0; font-size: 16px; }
.figures b { font-size: 20px; }
img.sheet { max-width: 100%; border: 1px solid #bbb; background: #fff; }
.note { color: #666; font-size: 13px; }
.hit { color: #2a7a2a; } .miss { color: #b03030; }
.broken-note { color: #b00; font-weight: bold; }
details { margin: 6px 0; } summary { cursor: pointer; }
ul.names { columns: 3; font-size: 13px; }
)css";

constexpr absl::string_view kImageCheckScript = R"js(
function explainerBroken(img) {
  img.setAttribute('data-broken', '1');
}
window.addEventListener('load', function () {
  var loaded = 0, broken = 0;
  var images = document.getElementsByTagName('img');
  for (var i = 0; i < images.length; i++) {
    var img = images[i];
    if (img.complete && img.naturalWidth > 0 && img.getAttribute('data-broken') !== '1') {
      loaded++;
    } else {
      broken++;
      img.setAttribute('data-broken', '1');
      var note = document.createElement('p');
      note.className = 'broken-note';
      note.textContent = 'Image did not load: ' + img.getAttribute('src');
      img.parentNode.insertBefore(note, img.nextSibling);
    }
  }
  document.body.setAttribute('data-images-loaded', String(loaded));
  document.body.setAttribute('data-images-broken', String(broken));
});
)js";

std::string Str(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

// Numbers to 3 decimals; null (undefined) as "n/a".
std::string Num(const Json& value, int decimals = 3) {
  if (value.is_number()) return absl::StrFormat("%.*f", decimals, value.get<double>());
  return "<span class=\"note\" title=\"undefined\">n/a</span>";
}

std::string Cell(const std::string& html, const char* cls = nullptr) {
  return cls ? absl::StrCat("<td class=\"", cls, "\">", html, "</td>")
             : absl::StrCat("<td>", html, "</td>");
}

std::string Image(const std::string& src, const std::string& alt) {
  return absl::StrCat("<a href=\"", HtmlEscape(src), "\"><img class=\"sheet\" src=\"",
                      HtmlEscape(src), "\" alt=\"", HtmlEscape(alt),
                      "\" onerror=\"explainerBroken(this)\"></a>\n");
}

std::string NameList(const Json& names, size_t total) {
  std::string html = "<ul class=\"names\">";
  size_t shown = 0;
  for (const Json& name : names) {
    if (shown++ >= kListedNames) break;
    absl::StrAppend(&html, "<li>", HtmlEscape(Str(name)), "</li>");
  }
  absl::StrAppend(&html, "</ul>");
  if (total > kListedNames) {
    absl::StrAppend(&html, "<p class=\"note\">... and ", total - kListedNames,
                    " more (all listed in gallery.json)</p>");
  }
  return html;
}

std::string RunSection(const Json& run) {
  std::string html = "<h2>Run</h2>\n<div class=\"figures\">";
  absl::StrAppend(&html, "<span>images found <b>", Str(run.value("images_found", Json())),
                  "</b></span><span>labelled <b>", Str(run.value("labelled", Json())),
                  "</b></span><span>predicted <b>", Str(run.value("predicted", Json())),
                  "</b></span><span>explained <b>", Str(run.value("explained", Json())),
                  "</b></span><span>errors <b>", Str(run.value("errors", Json::array()).size()),
                  "</b></span></div>\n");
  const Json labels = run.value("labels", Json::object());
  absl::StrAppend(&html,
                  "<p class=\"note\">Labels: ", HtmlEscape(Str(labels.value("path", Json()))), " (",
                  HtmlEscape(Str(labels.value("format", Json()))),
                  "). Images are matched to labels by file stem.</p>\n");
  const Json unlabelled = run.value("unlabelled_images", Json::array());
  absl::StrAppend(&html, "<details><summary>", unlabelled.size(),
                  " image(s) without a label (not sent)</summary>",
                  NameList(unlabelled, unlabelled.size()), "</details>\n");
  const Json orphans = run.value("labels_without_image", Json::array());
  absl::StrAppend(&html, "<details><summary>", orphans.size(),
                  " label(s) without an image</summary>", NameList(orphans, orphans.size()),
                  "</details>\n");
  const Json errors = run.value("errors", Json::array());
  if (!errors.empty()) {
    std::vector<std::string> lines;
    Json names = Json::array();
    for (const Json& e : errors) {
      names.push_back(absl::StrCat(Str(e.value("file", Json())), " (pass ",
                                   Str(e.value("pass", Json())),
                                   "): ", Str(e.value("message", Json()))));
    }
    absl::StrAppend(&html, "<details open><summary>", errors.size(), " error(s)</summary>",
                    NameList(names, names.size()), "</details>\n");
  }
  return html;
}

std::string MetricsSection(const Json& metrics) {
  std::string html = "<h2>Classification metrics</h2>\n";
  absl::StrAppend(&html, "<div class=\"figures\"><span>images <b>",
                  Str(metrics.value("count", Json())), "</b></span><span>accuracy <b>",
                  Num(metrics.value("accuracy", Json())), "</b></span><span>balanced accuracy <b>",
                  Num(metrics.value("balanced_accuracy", Json())), "</b></span><span>macro AUC <b>",
                  Num(metrics.value("macro_auc", Json())), "</b></span></div>\n");
  const Json classes = metrics.value("classes", Json::array());
  const Json matrix =
      metrics.value("confusion_matrix", Json::object()).value("matrix", Json::array());
  absl::StrAppend(&html,
                  "<h3>Confusion matrix</h3><table><tr><th class=\"name\">true \\ "
                  "predicted</th>");
  for (const Json& name : classes) absl::StrAppend(&html, "<th>", HtmlEscape(Str(name)), "</th>");
  absl::StrAppend(&html, "</tr>\n");
  for (size_t r = 0; r < matrix.size() && r < classes.size(); ++r) {
    absl::StrAppend(&html, "<tr><th class=\"name\">", HtmlEscape(Str(classes[r])), "</th>");
    for (size_t c = 0; c < matrix[r].size(); ++c) {
      absl::StrAppend(&html, Cell(Str(matrix[r][c]), r == c ? "diag" : nullptr));
    }
    absl::StrAppend(&html, "</tr>\n");
  }
  absl::StrAppend(&html,
                  "</table>\n<h3>Per class</h3><table><tr><th class=\"name\">class</th>"
                  "<th>images</th><th>predicted</th><th>sensitivity</th><th>specificity</th>"
                  "<th>precision</th><th>AUC (one-vs-rest)</th></tr>\n");
  const Json per_class = metrics.value("per_class", Json::object());
  for (const auto& [name, m] : per_class.items()) {
    absl::StrAppend(
        &html, "<tr>", Cell(HtmlEscape(name), "name"), Cell(Str(m.value("support", Json()))),
        Cell(Str(m.value("predicted", Json()))), Cell(Num(m.value("sensitivity", Json()))),
        Cell(Num(m.value("specificity", Json()))), Cell(Num(m.value("precision", Json()))),
        Cell(Num(m.value("auc", Json()))), "</tr>\n");
  }
  absl::StrAppend(&html,
                  "</table><p class=\"note\">n/a: undefined (a class without positives or "
                  "negatives). AUC: Mann-Whitney U with ties counted 1/2 (sklearn "
                  "roc_auc_score); macro AUC and balanced accuracy average the defined "
                  "classes.</p>\n");
  return html;
}

std::string GalleriesSection(const Json& gallery) {
  std::string html = absl::StrCat(
      "<h2>Galleries</h2>\n<p class=\"note\">Per class: TP (true and predicted, highest "
      "p(class)), FP (predicted but not true, highest p(class)), FN (true but not "
      "predicted, lowest p(class)); up to k = ",
      Str(gallery.value("run", Json::object()).value("k", Json())),
      " each. Click an image to open it full size.</p>\n");
  for (const Json& g : gallery.value("galleries", Json::array())) {
    const std::string name = Str(g.value("class", Json()));
    absl::StrAppend(&html, "<h3>", HtmlEscape(name), "</h3>\n<p class=\"note\">");
    for (const Json& row : g.value("rows", Json::array())) {
      absl::StrAppend(&html, "<b>", Str(row.value("outcome", Json())), "</b> ",
                      row.value("shown", Json::array()).size(), " shown of ",
                      Str(row.value("available", Json())), "; ");
    }
    absl::StrAppend(&html, "</p>\n", Image(Str(g.value("image", Json())), "gallery of " + name));
  }
  return html;
}

std::string ComparisonSection(const Json& comparison) {
  std::string html = "<h2>Annotation comparison</h2>\n";
  if (comparison.is_null()) {
    return absl::StrCat(html,
                        "<p class=\"note\">No annotation comparison: run with "
                        "--annotations-dir.</p>\n");
  }
  absl::StrAppend(&html,
                  "<p class=\"note\">Per annotated class, the images with the best, "
                  "median and worst ",
                  HtmlEscape(Str(comparison.value("ranked_by", Json()))),
                  ": original | annotation mask | heatmap | overlay (annotation outlined).</p>\n",
                  Image(Str(comparison.value("image", Json())), "annotation comparison"));
  return html;
}

// The key annotation_report.json uses for a threshold (results.jsonl's spelling).
std::string Key(const Json& threshold) {
  return threshold.is_number() ? ThresholdKey(static_cast<float>(threshold.get<double>()))
                               : Str(threshold);
}

std::string ThresholdHeaders(const Json& thresholds, const char* prefix) {
  std::string html;
  for (const Json& t : thresholds) absl::StrAppend(&html, "<th>", prefix, Key(t), "</th>");
  return html;
}

std::string GroupRow(const std::string& name, const Json& g, const Json& thresholds) {
  std::string html =
      absl::StrCat("<tr>", Cell(HtmlEscape(name), "name"), Cell(Str(g.value("count", Json()))));
  for (const char* key : {"mean_iou", "median_iou"}) {
    const Json values = g.value(key, Json::object());
    for (const Json& t : thresholds) {
      absl::StrAppend(&html, Cell(Num(values.value(Key(t), Json()))));
    }
  }
  absl::StrAppend(&html, Cell(Num(g.value("pointing_game_rate", Json()))),
                  Cell(Num(g.value("mean_energy_inside", Json()))), "</tr>\n");
  return html;
}

std::string ReportSection(const Json& report) {
  std::string html = "<h2>Annotation report</h2>\n";
  if (report.is_null()) {
    return absl::StrCat(html,
                        "<p class=\"note\">No annotation report: run with "
                        "--annotations-dir.</p>\n");
  }
  const Json thresholds = report.value("thresholds", Json::array());
  const Json left_out = report.value("left_out", Json::object());
  absl::StrAppend(
      &html, "<p class=\"note\">Method ", HtmlEscape(Str(report.value("method", Json()))),
      "; the heatmap explains ", HtmlEscape(Str(report.value("explained_class", Json()))), ". ",
      Str(left_out.value("normal", Json())), " Normal image(s) left out (no tumour annotation); ",
      Str(left_out.value("without_annotation_count", Json())),
      " tumour image(s) without an annotation file; ", Str(left_out.value("failed_count", Json())),
      " failed.</p>\n");
  absl::StrAppend(&html, "<table><tr><th class=\"name\">group</th><th>images</th>",
                  ThresholdHeaders(thresholds, "mean IoU@"),
                  ThresholdHeaders(thresholds, "median IoU@"),
                  "<th>pointing game</th><th>energy inside</th></tr>\n");
  const Json per_class = report.value("per_class", Json::object());
  for (const auto& [name, g] : per_class.items()) {
    absl::StrAppend(&html, GroupRow(name, g, thresholds));
  }
  absl::StrAppend(&html, GroupRow("all", report.value("overall", Json::object()), thresholds),
                  "</table>\n");
  const Json images = report.value("images", Json::array());
  absl::StrAppend(&html, "<details><summary>", images.size(),
                  " annotated tumour image(s)</summary><table><tr><th class=\"name\">file</th>"
                  "<th class=\"name\">true</th><th class=\"name\">predicted</th>"
                  "<th>confidence</th>",
                  ThresholdHeaders(thresholds, "IoU@"),
                  "<th>pointing game</th><th>energy inside</th></tr>\n");
  for (const Json& image : images) {
    absl::StrAppend(&html, "<tr>", Cell(HtmlEscape(Str(image.value("file", Json()))), "name"),
                    Cell(HtmlEscape(Str(image.value("true_class", Json()))), "name"),
                    Cell(HtmlEscape(Str(image.value("predicted_class", Json()))), "name"),
                    Cell(Num(image.value("confidence", Json()))));
    const Json iou = image.value("iou", Json::object());
    for (const Json& t : thresholds) absl::StrAppend(&html, Cell(Num(iou.value(Key(t), Json()))));
    const bool hit = image.value("pointing_game_hit", false);
    absl::StrAppend(
        &html, Cell(hit ? "<span class=\"hit\">hit</span>" : "<span class=\"miss\">miss</span>"),
        Cell(Num(image.value("energy_inside", Json()))), "</tr>\n");
  }
  absl::StrAppend(&html, "</table></details>\n");
  return html;
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderIndexHtml(const HtmlReportInput& input) {
  const Json run = input.gallery.value("run", Json::object());
  const Json model = run.value("model", Json::object());
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>Explainer gallery: ",
      HtmlEscape(Str(model.value("name", Json()))), "</title>\n<style>", kStyle,
      "</style>\n<script>", kImageCheckScript,
      "</script>\n</head>\n<body>\n<header><h1>Explainer gallery</h1><p>Model ",
      HtmlEscape(Str(model.value("name", Json()))), " ",
      HtmlEscape(Str(model.value("version", Json()))), " (",
      HtmlEscape(Str(model.value("classes_text", Json()))), ") on ",
      HtmlEscape(Str(model.value("device", Json()))), " at ",
      HtmlEscape(Str(run.value("server", Json()))), "; method ",
      HtmlEscape(Str(run.value("method", Json()))), "; images from ",
      HtmlEscape(Str(run.value("input_dir", Json()))), "</p></header>\n<main>\n");
  absl::StrAppend(&html, RunSection(run), MetricsSection(input.metrics),
                  GalleriesSection(input.gallery),
                  ComparisonSection(input.gallery.value("comparison", Json())),
                  ReportSection(input.annotation_report));
  const Json& report = input.annotation_report;
  absl::StrAppend(&html, MethodComparisonHtml(report.is_object()
                                                  ? report.value("method_comparison", Json())
                                                  : Json(),
                                              report.is_object()
                                                  ? report.value("thresholds", Json::array())
                                                  : Json::array()));
  absl::StrAppend(&html, "</main>\n</body>\n</html>\n");
  return html;
}

}  // namespace explainer::client::gallery
