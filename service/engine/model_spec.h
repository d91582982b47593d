// What a model bundle says about itself (its explainer.json), torch-free.
#ifndef EXPLAINER_SERVICE_ENGINE_MODEL_SPEC_H_
#define EXPLAINER_SERVICE_ENGINE_MODEL_SPEC_H_

#include <string>
#include <vector>

#include "common/preprocess.h"
#include "opencv2/core.hpp"

namespace explainer::engine {

struct ModelSpec {
  std::string name;
  std::string version;
  std::vector<std::string> class_names;
  cv::Size input_size;  // width x height the model expects
  common::Normalization normalization;
  std::string target_layer;  // informational: the layer features() ends at
  // What features(x) gives for one input (measured on the probe at load; 0 / empty for a
  // spec that did not come from a loaded bundle).
  int feature_channels = 0;
  cv::Size feature_size;  // width x height of the activation map
};

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_MODEL_SPEC_H_
