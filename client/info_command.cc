// `explainer info`; see info_command.h.
#include "client/info_command.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/core/session.h"
#include "client/exit_codes.h"

namespace explainer::client {

std::string FormatModelInfo(const explainer::v1::ModelInfo& info, const std::string& server) {
  std::vector<std::string> classes;
  for (int i = 0; i < info.class_names_size(); ++i) {
    classes.push_back(absl::StrCat(i, " ", info.class_names(i)));
  }
  std::vector<std::string> methods;
  for (int m : info.methods()) methods.push_back(CamMethodName(explainer::v1::CamMethod(m)));
  auto floats = [](const auto& values) {
    return absl::StrJoin(values, " ", [](std::string* out, float v) {
      absl::StrAppend(out, absl::StrFormat("%.4g", v));
    });
  };
  std::string text;
  absl::StrAppend(&text, "server:        ", server, "\n");
  absl::StrAppend(&text, "model:         ", info.name(), " ", info.version(), "\n");
  absl::StrAppend(&text, "classes:       ", absl::StrJoin(classes, ", "), "\n");
  absl::StrAppend(&text, "input size:    ", info.input_width(), " x ", info.input_height(),
                  " (width x height), RGB\n");
  absl::StrAppend(&text, "mean:          ", floats(info.mean()), "\n");
  absl::StrAppend(&text, "std:           ", floats(info.std()), "\n");
  absl::StrAppend(&text, "device:        ", info.device(), "\n");
  absl::StrAppend(&text, "target layer:  ", info.target_layer(), "\n");
  absl::StrAppend(&text, "methods:       ", methods.empty() ? "-" : absl::StrJoin(methods, ", "),
                  "\n");
  // One line per method with what it costs per image (servers that send method_info).
  for (const explainer::v1::CamMethodInfo& m : info.method_info()) {
    absl::StrAppend(&text, absl::StrFormat("  %-22s %s (%s%s)\n", m.name(), m.cost(),
                                           m.reference(),
                                           m.eigen_smooth() ? "; eigen_smooth" : ""));
  }
  absl::StrAppend(&text, "limits:        max batch size ", info.max_batch_size(),
                  ", max image pixels ", info.max_image_pixels(), "\n");
  return text;
}

int RunInfo(const ConnectionOptions& options, std::FILE* out, std::FILE* err) {
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Open(options);
  if (!session.ok()) {
    std::fprintf(err, "explainer info: %s\n", std::string(session.status().message()).c_str());
    return kExitServer;
  }
  std::fputs(FormatModelInfo((*session)->model(), options.server).c_str(), out);
  return kExitOk;
}

}  // namespace explainer::client
