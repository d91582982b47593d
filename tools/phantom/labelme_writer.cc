// LabelMe JSON writer for the phantom generator.
#include "tools/phantom/labelme_writer.h"

#include <cmath>

#include "nlohmann/json.hpp"

namespace explainer::phantom {
namespace {

using Json = nlohmann::ordered_json;  // keeps labelme's key order

// Two decimals, like a mouse-traced coordinate; also keeps the files small.
double Round2(double x) { return std::round(x * 100.0) / 100.0; }

Json Shape(const std::string& label, const std::string& type,
           const std::vector<cv::Point2d>& points) {
  Json pts = Json::array();
  for (const cv::Point2d& p : points) pts.push_back({Round2(p.x), Round2(p.y)});
  return Json{{"label", label},    {"points", pts},      {"group_id", nullptr},
              {"description", ""}, {"shape_type", type}, {"flags", Json::object()},
              {"mask", nullptr}};
}

}  // namespace

std::string LabelMeJson(const std::vector<Lesion>& lesions, const std::string& image_path,
                        cv::Size image_size) {
  Json shapes = Json::array();
  for (const Lesion& l : lesions) {
    shapes.push_back(Shape(l.label, "rectangle", {l.box.tl(), l.box.br()}));
  }
  for (const Lesion& l : lesions) shapes.push_back(Shape(l.label, "polygon", l.polygon));
  const Json doc = {{"version", "5.4.1"},
                    {"flags", Json::object()},
                    {"shapes", shapes},
                    {"imagePath", image_path},
                    {"imageData", nullptr},
                    {"imageHeight", image_size.height},
                    {"imageWidth", image_size.width}};
  return doc.dump(2) + "\n";
}

}  // namespace explainer::phantom
