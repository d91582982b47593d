// JSON text that leaves the client, made valid UTF-8 first; see utf8_text.h.
#include "client/utf8_text.h"

#include <string>

#include "common/utf8.h"

namespace explainer::client {

nlohmann::ordered_json EscapeInvalidUtf8Json(const nlohmann::ordered_json& value) {
  using Json = nlohmann::ordered_json;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    return common::IsValidUtf8(text) ? value : Json(common::ToValidUtf8(text));
  }
  if (value.is_array()) {
    Json copy = Json::array();
    for (const Json& element : value) copy.push_back(EscapeInvalidUtf8Json(element));
    return copy;
  }
  if (value.is_object()) {
    Json copy = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      copy[common::ToValidUtf8(it.key())] = EscapeInvalidUtf8Json(it.value());
    }
    return copy;
  }
  return value;
}

std::string DumpJson(const nlohmann::ordered_json& value, int indent) {
  return EscapeInvalidUtf8Json(value).dump(indent);
}

}  // namespace explainer::client
