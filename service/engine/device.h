// Parses the engine's device string ("cpu", "cuda", "cuda:N"); torch-free.
#ifndef EXPLAINER_SERVICE_ENGINE_DEVICE_H_
#define EXPLAINER_SERVICE_ENGINE_DEVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace explainer::engine {

struct DeviceChoice {
  bool cuda = false;
  int index = 0;          // CUDA ordinal; 0 for the CPU
  std::string canonical;  // "cpu" or "cuda:N"
};

// InvalidArgument naming `device` unless it is "cpu", "cuda" or "cuda:N" (N >= 0).
// Whether CUDA is actually there is checked by the engine (FailedPrecondition).
absl::StatusOr<DeviceChoice> ParseDevice(absl::string_view device);

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_DEVICE_H_
