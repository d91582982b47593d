// CheckDicomLengths: declared lengths must fit in the bytes that follow, so DCMTK is
// never asked to allocate what a file only claims to hold.
#include "common/dicom_length_check.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/dicom_decode.h"
#include "common/image_decode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::IsOk;
using ::testing::HasSubstr;

std::string U16(uint16_t v) { return {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; }
std::string U32(uint32_t v) { return U16(v & 0xffff) + U16(v >> 16); }

// Explicit VR little endian element with a 2-byte length.
std::string Short(uint16_t group, uint16_t element, const char* vr, const std::string& value) {
  return U16(group) + U16(element) + vr + U16(static_cast<uint16_t>(value.size())) + value;
}
// Explicit VR element with a 4-byte length field stating `declared`.
std::string Long(uint16_t group, uint16_t element, const char* vr, uint32_t declared,
                 const std::string& value) {
  return U16(group) + U16(element) + vr + std::string(2, '\0') + U32(declared) + value;
}

std::string Part10(const std::string& transfer_syntax, const std::string& data_set) {
  std::string uid = transfer_syntax;
  if (uid.size() % 2 == 1) uid.push_back('\0');
  return std::string(128, '\0') + "DICM" + Short(0x0002, 0x0010, "UI", uid) + data_set;
}

constexpr char kExplicitLe[] = "1.2.840.10008.1.2.1";
constexpr char kImplicitLe[] = "1.2.840.10008.1.2";

TEST(CheckDicomLengthsTest, LengthsThatFitPass) {
  const std::string item_body = Short(0x0008, 0x0100, "SH", "T-1234");
  const std::string sequence_item =
      U16(0xFFFE) + U16(0xE000) + U32(static_cast<uint32_t>(item_body.size())) + item_body;
  const std::string file = Part10(
      kExplicitLe, Short(0x0010, 0x0010, "PN", "AB^C") +
                       Long(0x0008, 0x1140, "SQ", static_cast<uint32_t>(sequence_item.size()),
                            sequence_item) +
                       Long(0x7FE0, 0x0010, "OB", 4, "\x01\x02\x03\x04"));
  EXPECT_THAT(CheckDicomLengths(file), IsOk());
}

TEST(CheckDicomLengthsTest, AnElementClaimingMoreThanTheFileIsRefused) {
  const std::string file =
      Part10(kExplicitLe, Long(0x7FE0, 0x0010, "OB", 0xFFFFFF00u, "\x01\x02\x03\x04"));
  const absl::Status status = CheckDicomLengths(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("truncated or corrupt DICOM: element (7FE0,0010) declares "
                        "4294967040 bytes"));
  EXPECT_THAT(status.message(), HasSubstr("but only 4 follow"));
}

// DCMTK reads a VR that is not a standard one with a 4-byte length field (the image
// fuzzer's second finding: 2 bytes of garbage VR, then a 4 GB length).
TEST(CheckDicomLengthsTest, ANonStandardVrHasAFourByteLength) {
  const std::string element = U16(0x0101) + U16(0x0002) + std::string("\x01\x00", 2) +
                              std::string(2, '\0') + U32(0xF0000000u) + "abcd";
  const absl::Status status = CheckDicomLengths(Part10(kExplicitLe, element));
  EXPECT_THAT(status.message(), HasSubstr("element (0101,0002) declares 4026531840 bytes"));
}

// The image fuzzer's third finding: no meta header, zeros that DCMTK reads as
// implicit VR, and "DICM" where it then expects a length (1.3 GB).
TEST(CheckDicomLengthsTest, AMissingTransferSyntaxIsRefused) {
  std::string file = std::string(128, '\0') + "DICM" + std::string(36, '\0') + "DICM" +
                     std::string(64, '\0');
  const absl::Status status = CheckDicomLengths(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no Transfer Syntax UID (0002,0010)"));
}

// The image fuzzer's fourth finding (regressions/dicom_unknown_transfer_syntax_1gb_alloc):
// a one-byte Transfer Syntax UID; DCMTK guessed the data set's encoding and allocated
// 1 GB for a length this walk read differently.
TEST(CheckDicomLengthsTest, AnUnknownTransferSyntaxIsRefusedNamingIt) {
  const absl::Status status = CheckDicomLengths(Part10("\xe9", Short(0x0010, 0x0010, "PN", "AB")));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("unsupported DICOM transfer syntax UID '\\xe9' (0002,0010)"));
  // A made-up but well-formed UID is refused the same way; known ones pass.
  EXPECT_THAT(CheckDicomLengths(Part10("1.2.3.4", "")).message(),
              HasSubstr("transfer syntax UID '1.2.3.4'"));
  // A value that starts with NUL bytes: DCMTK's pseudo syntax with an empty ID must not
  // match it (the fifth finding, regressions/dicom_nul_transfer_syntax_2gb_alloc).
  EXPECT_THAT(CheckDicomLengths(Part10(std::string("\0\0\x01W", 4), "")).message(),
              HasSubstr("unsupported DICOM transfer syntax UID"));
  EXPECT_THAT(CheckDicomLengths(Part10("1.2.840.10008.1.2.4.50", "")), IsOk());
  EXPECT_THAT(CheckDicomLengths(Part10(kImplicitLe, "")), IsOk());
}

TEST(CheckDicomLengthsTest, AnElementInsideAnUndefinedLengthSequenceIsChecked) {
  // Implicit VR: (0008,1140) is a sequence by the dictionary; its item holds an
  // element declaring 1 GB.
  const std::string inner = U16(0x0008) + U16(0x1150) + U32(1u << 30) + "1.2";
  const std::string item = U16(0xFFFE) + U16(0xE000) + U32(0xFFFFFFFFu) + inner;
  const std::string file =
      Part10(kImplicitLe, U16(0x0008) + U16(0x1140) + U32(0xFFFFFFFFu) + item);
  const absl::Status status = CheckDicomLengths(file);
  EXPECT_THAT(status.message(), HasSubstr("element (0008,1150) declares 1073741824 bytes"));
}

TEST(CheckDicomLengthsTest, DeepNestingIsRefused) {
  std::string nested;
  for (int i = 0; i < 40; ++i) {
    nested += U16(0x0008) + U16(0x1140) + "SQ" + std::string(2, '\0') + U32(0xFFFFFFFFu) +
              U16(0xFFFE) + U16(0xE000) + U32(0xFFFFFFFFu);
  }
  const absl::Status status = CheckDicomLengths(Part10(kExplicitLe, nested));
  EXPECT_THAT(status.message(), HasSubstr("nested deeper than 16 levels"));
}

// The image_decode fuzzer's finding (tests/fuzz/image_decode/regressions/
// dicom_element_length_4gb_alloc): DCMTK allocated 4 GB for this 144-byte file.
TEST(CheckDicomLengthsTest, FuzzerFindingIsRefusedBeforeDcmtkReadsIt) {
  const std::string file(
      "\x4d\x4d\x00\x2b\x0d\x52\x49\x46\x46\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\xff\xff\xff\xff\xff"
      "\xff\xff\xff\xff\xff\xff\xff\x4d\x00\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
      "\xff\x45\x42\x60\x82\xff\x44\x49\x43\x4d\xff\x4d\x4d\x00\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff"
      "\x42\x60\x82\x00\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x42\x60\x82\xff\x45\x42"
      "\x60\x82\xff\x44\x49\x43\x4d\xff\x4d\x4d\x00\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
      "\xff\xff\xff\x45\x42\x60\x82\xff\x44\x49\x43\x4d\xff\x4d\x4d\x00\x2a\xff\xff\xff\xff\x42\x60\x82",
      144);
  const absl::Status status = CheckDicomLengths(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // It has no meta header: refused for that before any length is read.
  EXPECT_THAT(status.message(),
              HasSubstr("truncated or corrupt DICOM: the meta header has no Transfer Syntax"));
  // And through the decoder every caller uses.
  const absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  EXPECT_FALSE(header.ok());
}

}  // namespace
}  // namespace explainer::common
