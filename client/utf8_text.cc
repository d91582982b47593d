// UTF-8 checks and escaping for text that leaves the client; see utf8_text.h.
#include "client/utf8_text.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"

namespace explainer::client {
namespace {

// Length of the well-formed UTF-8 sequence at text[i], or 0 when there is none.
size_t SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string EscapeInvalidUtf8(absl::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t length = SequenceLength(text, i);
    if (length == 0) {
      absl::StrAppendFormat(&escaped, "\\x%02x", static_cast<uint8_t>(text[i]));
      ++i;
    } else {
      escaped.append(text.data() + i, length);
      i += length;
    }
  }
  return escaped;
}

nlohmann::ordered_json EscapeInvalidUtf8Json(const nlohmann::ordered_json& value) {
  using Json = nlohmann::ordered_json;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    return IsValidUtf8(text) ? value : Json(EscapeInvalidUtf8(text));
  }
  if (value.is_array()) {
    Json copy = Json::array();
    for (const Json& element : value) copy.push_back(EscapeInvalidUtf8Json(element));
    return copy;
  }
  if (value.is_object()) {
    Json copy = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      copy[EscapeInvalidUtf8(it.key())] = EscapeInvalidUtf8Json(it.value());
    }
    return copy;
  }
  return value;
}

std::string DumpJson(const nlohmann::ordered_json& value, int indent) {
  return EscapeInvalidUtf8Json(value).dump(indent);
}

}  // namespace explainer::client
