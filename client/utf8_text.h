// Text that leaves the client must be valid UTF-8: protobuf cannot parse a proto3
// string holding invalid UTF-8 (so a request_id made from a raw file name breaks
// the stream), and nlohmann::json throws when dumping one. File names on Linux are
// bytes, so every name is escaped before it goes on the wire or into a JSON file.
#ifndef EXPLAINER_CLIENT_UTF8_TEXT_H_
#define EXPLAINER_CLIENT_UTF8_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace explainer::client {

// Validity and escaping are common/utf8.h's (IsValidUtf8, ToValidUtf8: every byte
// outside a well-formed sequence becomes "\xHH"); this file adds JSON on top.

// A copy of `value` in which every string and object key is escaped that way.
nlohmann::ordered_json EscapeInvalidUtf8Json(const nlohmann::ordered_json& value);

// value.dump(indent) that cannot throw on invalid UTF-8 (it is escaped first).
std::string DumpJson(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_UTF8_TEXT_H_
