// Device string parsing for the engine.
#include "service/engine/device.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace explainer::engine {

absl::StatusOr<DeviceChoice> ParseDevice(absl::string_view device) {
  DeviceChoice choice;
  if (device == "cpu") {
    choice.canonical = "cpu";
    return choice;
  }
  if (device == "cuda") {
    choice.cuda = true;
    choice.canonical = "cuda:0";
    return choice;
  }
  absl::string_view ordinal = device;
  int index = -1;
  // SimpleAtoi accepts signs and spaces; an ordinal is digits only.
  if (absl::ConsumePrefix(&ordinal, "cuda:") && !ordinal.empty() && ordinal.size() <= 4 &&
      std::all_of(ordinal.begin(), ordinal.end(), absl::ascii_isdigit) &&
      absl::SimpleAtoi(ordinal, &index)) {
    choice.cuda = true;
    choice.index = index;
    choice.canonical = absl::StrCat("cuda:", index);
    return choice;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device \"", device, "\": expected \"cpu\", \"cuda\" or \"cuda:N\""));
}

}  // namespace explainer::engine
