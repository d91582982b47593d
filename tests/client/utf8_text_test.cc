// Tests of client/utf8_text: JSON that cannot throw (validity and escaping are
// common/utf8, tested in tests/common/utf8_test.cc).
#include "client/utf8_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client {
namespace {

using Json = nlohmann::ordered_json;

TEST(Utf8TextTest, DumpJsonEscapesStringsAndKeysInsteadOfThrowing) {
  const Json value = {{"file", "b\xff.png"},
                      {"list", Json::array({"ok", "c\xfe"})},
                      {"nested", {{"k\xff", 1}}},
                      {"number", 0.5}};
  EXPECT_THROW(value.dump(), nlohmann::json::type_error);  // what DumpJson avoids
  EXPECT_EQ(DumpJson(value),
            R"({"file":"b\\xff.png","list":["ok","c\\xfe"],"nested":{"k\\xff":1},"number":0.5})");
  EXPECT_EQ(DumpJson(Json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

}  // namespace
}  // namespace explainer::client
