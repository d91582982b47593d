// SHA-256 (FIPS 180-4) of a byte string, for names that must not identify anyone in a
// log: common/ has no OpenSSL (only service/security links it).
#ifndef EXPLAINER_COMMON_SHA256_H_
#define EXPLAINER_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace explainer::common {

// 64 lowercase hex digits, as sha256sum prints them.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_SHA256_H_
