// IsValidUtf8 / ToValidUtf8: what leaves the server in proto3 strings is valid UTF-8.
#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace explainer::common {
namespace {

TEST(Utf8Test, WellFormedTextIsValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("t\xc3\xbcm\xe2\x82\xac\xf0\x9f\xa6\xb4"));  // ü € 🦴
  EXPECT_TRUE(IsValidUtf8(std::string("nul \0 inside", 12)));
}

TEST(Utf8Test, IllFormedTextIsInvalid) {
  for (const char* bad : {"\xff", "\x80", "\xc0\x80", "\xc3", "\xe0\x80\x80", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "ok\xe2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << ToValidUtf8(bad);
  }
}

TEST(Utf8Test, EscapesEveryByteOutsideAWellFormedSequence) {
  EXPECT_EQ(ToValidUtf8("tum\xffor"), "tum\\xffor");
  EXPECT_EQ(ToValidUtf8("a\xe2\x82z\xe2\x82\xac"), "a\\xe2\\x82z\xe2\x82\xac");
  EXPECT_EQ(ToValidUtf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\xc0\x80\xff\xfe")));
}

TEST(Utf8Test, CutsAtACharacterBoundaryWithAnEllipsis) {
  EXPECT_EQ(ToValidUtf8("abcdef", 6), "abcdef");
  EXPECT_EQ(ToValidUtf8("abcdefg", 6), "abc...");
  // "€" is 3 bytes: a cut inside it backs off to its start.
  EXPECT_EQ(ToValidUtf8("ab\xe2\x82\xac"
                        "cdef",
                        7),
            "ab...");
  EXPECT_EQ(ToValidUtf8("abcdef", 2), "..");
  const std::string long_text(1 << 20, '\xff');
  const std::string cut = ToValidUtf8(long_text, 100);
  EXPECT_LE(cut.size(), 100u);
  EXPECT_TRUE(IsValidUtf8(cut));
}

}  // namespace
}  // namespace explainer::common
