// Tests of client/utf8_text: validity, escaping, and JSON that cannot throw.
#include "client/utf8_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client {
namespace {

using Json = nlohmann::ordered_json;

TEST(Utf8TextTest, ValidTextIsUnchanged) {
  for (const std::string text : {"", "IMG1.jpeg", "r\xc3\xb6ntgen/\xe6\x96\x87.png",
                                 "\xf0\x9f\x98\x80.png", "a\\xff.png"}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(EscapeInvalidUtf8(text), text);
  }
}

TEST(Utf8TextTest, InvalidBytesBecomeHexEscapes) {
  EXPECT_FALSE(IsValidUtf8("b\xff.png"));
  EXPECT_EQ(EscapeInvalidUtf8("b\xff.png"), "b\\xff.png");
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate,
  // a code point above U+10FFFF: each byte that is not part of a valid sequence.
  EXPECT_EQ(EscapeInvalidUtf8("\x80x"), "\\x80x");
  EXPECT_EQ(EscapeInvalidUtf8("\xc3"), "\\xc3");
  EXPECT_EQ(EscapeInvalidUtf8("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(EscapeInvalidUtf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(EscapeInvalidUtf8("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  // Valid characters around invalid bytes are kept.
  EXPECT_EQ(EscapeInvalidUtf8("\xc3\xb6\xfe\xc3\xb6"), "\xc3\xb6\\xfe\xc3\xb6");
  for (const std::string text : {"\x80x", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\xffz"}) {
    EXPECT_FALSE(IsValidUtf8(text));
    EXPECT_TRUE(IsValidUtf8(EscapeInvalidUtf8(text)));
  }
}

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
