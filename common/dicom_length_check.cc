// Declared DICOM lengths checked against the bytes present (see dicom_length_check.h).
#include "common/dicom_length_check.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmdata/dcxfer.h"

namespace explainer::common {
namespace {

constexpr size_t kPreamble = 132;  // 128 bytes + "DICM"
constexpr uint32_t kUndefined = 0xFFFFFFFFu;
constexpr int kMaxDepth = 16;
constexpr uint16_t kItemGroup = 0xFFFE;
constexpr uint16_t kItem = 0xE000;
constexpr uint16_t kItemEnd = 0xE00D;
constexpr uint16_t kSequenceEnd = 0xE0DD;

struct Syntax {
  bool explicit_vr = true;
  bool little_endian = true;
};

absl::Status Corrupt(const std::string& what) {
  return absl::InvalidArgumentError("truncated or corrupt DICOM: " + what);
}

class Walker {
 public:
  explicit Walker(absl::string_view bytes) : bytes_(bytes) {}

  // Elements from `pos` up to `end`, or to an item delimiter when end is undefined.
  absl::Status Elements(size_t* pos, size_t end, Syntax syntax, int depth) {
    if (depth > kMaxDepth) return Corrupt("sequences nested deeper than 16 levels");
    while (*pos < end) {
      uint16_t group = 0, element = 0;
      if (!Tag(*pos, syntax, &group, &element)) return Short(*pos, "a tag");
      if (group == kItemGroup) {
        // An item delimiter ends an undefined-length item; anything else here is
        // out of place, and DCMTK will say so.
        uint32_t length = 0;
        if (!U32(*pos + 4, syntax, &length)) return Short(*pos, "an item delimiter");
        *pos += 8;
        if (element == kItemEnd) return absl::OkStatus();
        continue;
      }
      bool is_sequence = false;
      uint32_t length = 0;
      size_t header = 0;
      if (syntax.explicit_vr) {
        if (*pos + 8 > bytes_.size()) return Short(*pos, "an element header");
        const std::string vr(bytes_.substr(*pos + 4, 2));
        if (LongLength(vr)) {
          if (!U32(*pos + 8, syntax, &length)) return Short(*pos, "an element length");
          header = 12;
        } else {
          uint16_t short_length = 0;
          if (!U16(*pos + 6, syntax, &short_length)) return Short(*pos, "an element length");
          length = short_length;
          header = 8;
        }
        is_sequence = vr == "SQ";
      } else {
        if (!U32(*pos + 4, syntax, &length)) return Short(*pos, "an element length");
        header = 8;
        is_sequence = DcmTag(group, element).getEVR() == EVR_SQ;
      }
      const size_t value_at = *pos + header;
      *pos = value_at;
      if (length == kUndefined) {
        // Undefined length: a sequence of items (or encapsulated pixel data, whose
        // items are compressed fragments), ended by a sequence delimiter.
        const bool fragments = group == 0x7FE0 && element == 0x0010;
        EXPLAINER_RETURN_IF_ERROR(Items(pos, std::string::npos, syntax, depth + 1, fragments));
        continue;
      }
      EXPLAINER_RETURN_IF_ERROR(Fits(value_at, length, group, element));
      if (is_sequence) {
        size_t inner = value_at;
        EXPLAINER_RETURN_IF_ERROR(Items(&inner, value_at + length, syntax, depth + 1, false));
      }
      *pos = value_at + length;
    }
    return absl::OkStatus();
  }

 private:
  // Items of a sequence from `pos` up to `end` or its sequence delimiter.
  absl::Status Items(size_t* pos, size_t end, Syntax syntax, int depth, bool fragments) {
    if (depth > kMaxDepth) return Corrupt("sequences nested deeper than 16 levels");
    while (end == std::string::npos || *pos < end) {
      uint16_t group = 0, element = 0;
      uint32_t length = 0;
      if (!Tag(*pos, syntax, &group, &element) || !U32(*pos + 4, syntax, &length)) {
        return Short(*pos, "an item");
      }
      *pos += 8;
      if (group != kItemGroup) {
        return Corrupt(absl::StrFormat("expected an item at offset %d, found (%04X,%04X)",
                                       *pos - 8, group, element));
      }
      if (element == kSequenceEnd) return absl::OkStatus();
      if (element != kItem) continue;  // a stray delimiter: DCMTK decides
      if (length == kUndefined) {
        if (fragments) return Corrupt("a pixel data fragment of undefined length");
        EXPLAINER_RETURN_IF_ERROR(Elements(pos, std::string::npos, syntax, depth + 1));
        continue;
      }
      EXPLAINER_RETURN_IF_ERROR(Fits(*pos, length, group, element));
      if (!fragments) {
        size_t inner = *pos;
        EXPLAINER_RETURN_IF_ERROR(Elements(&inner, *pos + length, syntax, depth + 1));
      }
      *pos += length;
    }
    return absl::OkStatus();
  }

  // Explicit VRs with a 2-byte length field. Every other VR, including one that is
  // not a standard VR at all, has a 4-byte length after 2 reserved bytes: DCMTK reads
  // a non-standard VR that way ("assuming 4 byte length field"), so this walk must too.
  static bool LongLength(const std::string& vr) {
    static constexpr const char* kShort[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT",
                                             "FL", "FD", "IS", "LO", "LT", "PN", "SH",
                                             "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    for (const char* short_vr : kShort) {
      if (vr == short_vr) return false;
    }
    return true;
  }

  absl::Status Fits(size_t at, uint32_t length, uint16_t group, uint16_t element) const {
    const size_t left = at <= bytes_.size() ? bytes_.size() - at : 0;
    if (length <= left) return absl::OkStatus();
    return Corrupt(absl::StrFormat(
        "element (%04X,%04X) declares %u bytes at offset %d but only %d follow", group,
        element, length, at, left));
  }

  absl::Status Short(size_t at, const char* what) const {
    return Corrupt(absl::StrFormat("the file ends inside %s at offset %d", what, at));
  }

  bool U16(size_t at, Syntax syntax, uint16_t* out) const {
    if (at + 2 > bytes_.size()) return false;
    const auto b = [&](size_t k) { return static_cast<uint16_t>(static_cast<uint8_t>(bytes_[at + k])); };
    *out = syntax.little_endian ? static_cast<uint16_t>(b(0) | (b(1) << 8))
                                : static_cast<uint16_t>((b(0) << 8) | b(1));
    return true;
  }

  bool U32(size_t at, Syntax syntax, uint32_t* out) const {
    if (at + 4 > bytes_.size()) return false;
    const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes_[at + k])); };
    *out = syntax.little_endian ? (b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24))
                                : ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3));
    return true;
  }

  bool Tag(size_t at, Syntax syntax, uint16_t* group, uint16_t* element) const {
    return U16(at, syntax, group) && U16(at + 2, syntax, element);
  }

  absl::string_view bytes_;
};

// The transfer syntax UID from the meta header's (0002,0010), or "" when absent.
std::string TransferSyntaxUid(absl::string_view bytes, size_t meta_end) {
  size_t pos = kPreamble;
  while (pos + 8 <= meta_end) {
    const auto u16 = [&](size_t at) {
      return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) |
                                   (static_cast<uint8_t>(bytes[at + 1]) << 8));
    };
    const uint16_t element = u16(pos + 2);
    const std::string vr(bytes.substr(pos + 4, 2));
    size_t header = 8;
    size_t length = u16(pos + 6);
    if (vr == "OB" || vr == "UN" || vr == "UT" || vr == "SQ" || vr == "OW") {
      if (pos + 12 > meta_end) return "";
      length = static_cast<uint8_t>(bytes[pos + 8]) | (static_cast<uint8_t>(bytes[pos + 9]) << 8) |
               (static_cast<uint8_t>(bytes[pos + 10]) << 16) |
               (static_cast<size_t>(static_cast<uint8_t>(bytes[pos + 11])) << 24);
      header = 12;
    }
    if (pos + header + length > meta_end) return "";
    if (element == 0x0010) {
      std::string uid(bytes.substr(pos + header, length));
      while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
      return uid;
    }
    pos += header + length;
  }
  return "";
}

}  // namespace

absl::Status CheckDicomLengths(absl::string_view bytes) {
  if (bytes.size() < kPreamble) return absl::OkStatus();  // not Part 10: not ours
  Walker walker(bytes);
  // The meta header (group 0002) is always explicit VR little endian.
  size_t pos = kPreamble;
  const Syntax meta;
  while (pos + 2 <= bytes.size() && static_cast<uint8_t>(bytes[pos]) == 0x02 &&
         static_cast<uint8_t>(bytes[pos + 1]) == 0x00) {
    size_t next = pos;
    // One meta element at a time: Elements stops at `end`, so give it this element.
    const size_t end = pos + 1;
    EXPLAINER_RETURN_IF_ERROR(walker.Elements(&next, end, meta, 0));
    if (next <= pos) break;
    pos = next;
  }
  const std::string uid = TransferSyntaxUid(bytes, pos);
  // Without it DCMTK guesses the data set's encoding from its first bytes, and a
  // guess this walk does not share would let a length through unchecked (the image
  // fuzzer's third finding: zeros read as implicit VR put "DICM" in a length field).
  if (uid.empty()) {
    return Corrupt("the meta header has no Transfer Syntax UID (0002,0010)");
  }
  // A UID DCMTK does not know makes it guess the encoding too (the image fuzzer's
  // fourth finding: a one-byte UID, then a data set read as something else and a 1 GB
  // length). A known one is read as DCMTK reads it.
  // Only a UID (digits and dots) that names a transfer syntax exactly: DCMTK also
  // knows pseudo syntaxes with an empty ID (its implicit big endian), which a UID
  // starting with a NUL byte would otherwise match (the image fuzzer's fifth finding).
  const bool uid_chars = uid.find_first_not_of("0123456789.") == std::string::npos;
  const DcmXfer xfer(uid.c_str());
  if (!uid_chars || xfer.getXfer() == EXS_Unknown || uid != xfer.getXferID()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported DICOM transfer syntax UID '%s' (0002,0010): not a known transfer syntax",
        absl::CHexEscape(uid.substr(0, 64))));
  }
  if (xfer.getXfer() == EXS_DeflatedLittleEndianExplicit) return absl::OkStatus();  // compressed
  Syntax data;
  data.explicit_vr = xfer.isExplicitVR();
  data.little_endian = xfer.isLittleEndian();
  return walker.Elements(&pos, bytes.size(), data, 0);
}

}  // namespace explainer::common
