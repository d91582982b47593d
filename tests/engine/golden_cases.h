// Loads the engine goldens of tests/data/engine/golden (made by make_engine_goldens.py).
#ifndef EXPLAINER_TESTS_ENGINE_GOLDEN_CASES_H_
#define EXPLAINER_TESTS_ENGINE_GOLDEN_CASES_H_

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "common/preprocess.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"
#include "tests/test_paths.h"

namespace explainer::engine::testing {

inline std::string EngineData(const std::string& name) {
  return explainer::testing::SourcePath("tests/data/engine/" + name);
}

inline std::string TinyBundle() { return EngineData("tiny_bundle.pt"); }

// Raw little-endian float32 values; empty when the file is missing.
inline std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + values.size() * sizeof(float),
            reinterpret_cast<char*>(values.data()));
  return values;
}

struct GoldenCase {
  common::ModelInput input;
  std::optional<int> target_class;
  int predicted_index = 0;
  int explained_index = 0;
  std::vector<float> probabilities;
  cv::Mat cam;  // CV_32FC1, height x width
};

// All cases; empty when golden.json cannot be read (the tests then fail on size).
inline std::vector<GoldenCase> LoadGoldenCases() {
  std::ifstream in(EngineData("golden/golden.json"));
  nlohmann::json golden = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::vector<GoldenCase> cases;
  if (golden.is_discarded()) return cases;
  const int height = golden["cam_shape"][0].get<int>();
  const int width = golden["cam_shape"][1].get<int>();
  for (const nlohmann::json& c : golden["cases"]) {
    GoldenCase g;
    g.input.height = height;
    g.input.width = width;
    g.input.chw = ReadFloats(EngineData("golden/" + c["input"].get<std::string>()));
    if (!c["target_class"].is_null()) g.target_class = c["target_class"].get<int>();
    g.predicted_index = c["predicted_index"].get<int>();
    g.explained_index = c["explained_index"].get<int>();
    g.probabilities = c["probabilities"].get<std::vector<float>>();
    std::vector<float> cam = ReadFloats(EngineData("golden/" + c["cam"].get<std::string>()));
    if (cam.size() == static_cast<size_t>(height) * width) {
      g.cam = cv::Mat(height, width, CV_32FC1, cam.data()).clone();
    }
    cases.push_back(std::move(g));
  }
  return cases;
}

inline double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

inline double MaxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  if (a.empty() || a.size() != b.size() || a.type() != b.type()) return INFINITY;
  return cv::norm(a, b, cv::NORM_INF);
}

}  // namespace explainer::engine::testing

#endif  // EXPLAINER_TESTS_ENGINE_GOLDEN_CASES_H_
