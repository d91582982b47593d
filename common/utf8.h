// UTF-8 checks for text that leaves the process: error messages and labels end up in
// proto3 `string` fields, which must hold valid UTF-8 (Python clients refuse others).
#ifndef EXPLAINER_COMMON_UTF8_H_
#define EXPLAINER_COMMON_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace explainer::common {

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence written as
// the four characters \xNN, cut at a character boundary to at most `max_bytes` bytes
// (then ending in "..."), so the result is always valid UTF-8 and bounded.
std::string ToValidUtf8(absl::string_view text, size_t max_bytes = std::string::npos);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_UTF8_H_
