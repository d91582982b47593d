// Sha256Hex against sha256sum (run here on the same bytes), FIPS 180-4's examples and
// every length around the padding boundary.
#include "common/sha256.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace explainer::common {
namespace {

std::string Sha256sum(const std::string& bytes) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/sha256_input");
  std::ofstream(path, std::ios::binary) << bytes;
  FILE* pipe = popen(absl::StrCat("sha256sum ", path).c_str(), "r");
  char hex[65] = {};
  const size_t n = pipe != nullptr ? fread(hex, 1, 64, pipe) : 0;
  if (pipe != nullptr) pclose(pipe);
  return std::string(hex, n);
}

TEST(Sha256Test, FipsExamples) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, EveryLengthAroundTheBlockEqualsSha256sum) {
  std::string bytes;
  for (int length = 0; length <= 130; ++length) {
    if (length == 0 || length % 64 <= 1 || (length % 64 >= 54 && length % 64 <= 57) ||
        length == 130) {
      EXPECT_EQ(Sha256Hex(bytes), Sha256sum(bytes)) << length << " bytes";
    }
    bytes.push_back(static_cast<char>(length * 37 + 11));
  }
  const std::string uid = "1.2.826.0.1.3680043.10.1188.55.3";
  EXPECT_EQ(Sha256Hex(uid), Sha256sum(uid));
}

}  // namespace
}  // namespace explainer::common
