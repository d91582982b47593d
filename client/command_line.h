// Command-line handling shared by every subcommand: flag spelling, help, usage.
#ifndef EXPLAINER_CLIENT_COMMAND_LINE_H_
#define EXPLAINER_CLIENT_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace explainer::client {

// Abseil flag names cannot hold '-', but the documented spelling is
// --input-dir: rewrites "--input-dir=x" / "-input-dir" to underscores (the name
// only, never the value, and nothing after a bare "--").
std::vector<std::string> NormalizeFlagSpelling(const std::vector<std::string>& args);

// Removes --help / -help / -h / --helpshort (before a bare "--") and says whether
// there was one. main prints our own usage for them instead of Abseil's list of
// every linked-in flag.
bool RemoveHelpFlags(std::vector<std::string>& args);

// Checks every flag before Abseil parses them, so that an unknown flag or a bad
// value is a usage error (exit status 2) with a message in the documented
// spelling ("--windw: unknown flag"), not Abseil's exit(1). Takes the
// NormalizeFlagSpelling output.
absl::Status CheckFlags(const std::vector<std::string>& args);

// The subcommands, in the order the usage lists them.
const std::vector<std::string>& CommandNames();

// Usage of one command, or of all when `command` is empty or unknown.
std::string UsageText(absl::string_view command);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_COMMAND_LINE_H_
