// Image container parsing: format sniffing, header sizes and truncation checks.
#include "common/image_container.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/dicom_decode.h"
#include "common/image_decode.h"

namespace explainer::common {
namespace internal {
namespace {

uint8_t Byte(absl::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }
uint32_t Be16(absl::string_view b, size_t i) { return (Byte(b, i) << 8) | Byte(b, i + 1); }
uint32_t Le16(absl::string_view b, size_t i) { return Byte(b, i) | (Byte(b, i + 1) << 8); }
uint32_t Le24(absl::string_view b, size_t i) { return Le16(b, i) | (Byte(b, i + 2) << 16); }
uint32_t Be32(absl::string_view b, size_t i) { return (Be16(b, i) << 16) | Be16(b, i + 2); }
uint32_t Le32(absl::string_view b, size_t i) { return Le16(b, i) | (Le16(b, i + 2) << 16); }

bool StartsWith(absl::string_view b, absl::string_view prefix) {
  return b.size() >= prefix.size() && b.substr(0, prefix.size()) == prefix;
}

constexpr absl::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

absl::Status Truncated(ImageFormat format, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("truncated or corrupt ", FormatName(format), ": ", what));
}

absl::Status TruncatedHeader(ImageFormat format, size_t size) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "truncated or corrupt %s: header incomplete (%d bytes)", FormatName(format), size));
}

// Checks the sizes and builds the header; both must be positive and fit an int.
absl::StatusOr<ImageHeader> MakeHeader(ImageFormat format, int64_t width, int64_t height) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (width <= 0 || height <= 0 || width > kMax || height > kMax) {
    return absl::InvalidArgumentError(absl::StrFormat("%s header declares an invalid size %dx%d",
                                                      FormatName(format), width, height));
  }
  ImageHeader header;
  header.format = format;
  header.width = static_cast<int>(width);
  header.height = static_cast<int>(height);
  return header;
}

// ---- JPEG: a marker walk over segments and entropy-coded data.

bool IsSofMarker(uint8_t m) {
  // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

bool IsStandaloneMarker(uint8_t m) { return (m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0xD8; }

// Index just past the entropy-coded data that starts at `pos`: the FF of the next
// marker, or bytes.size() when the data runs off the end.
size_t SkipEntropyCodedData(absl::string_view b, size_t pos) {
  while (pos < b.size()) {
    const void* ff = std::memchr(b.data() + pos, 0xFF, b.size() - pos);
    if (ff == nullptr) return b.size();
    pos = static_cast<const char*>(ff) - b.data();
    size_t next = pos + 1;
    while (next < b.size() && Byte(b, next) == 0xFF) ++next;  // fill bytes
    if (next >= b.size()) return b.size();
    const uint8_t m = Byte(b, next);
    if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) {  // stuffed byte or restart marker
      pos = next + 1;
      continue;
    }
    return pos;
  }
  return b.size();
}

struct JpegWalk {
  bool found_sof = false;
  int64_t width = 0;
  int64_t height = 0;
  bool found_eoi = false;
};

// Walks from SOI. With stop_at_sof it returns as soon as the frame size is known.
absl::StatusOr<JpegWalk> WalkJpeg(absl::string_view b, bool stop_at_sof) {
  constexpr ImageFormat kF = ImageFormat::kJpeg;
  JpegWalk walk;
  size_t pos = 2;  // after FF D8
  while (true) {
    if (pos >= b.size()) {
      return stop_at_sof ? TruncatedHeader(kF, b.size())
                         : Truncated(kF, "no end-of-image marker (FF D9)");
    }
    if (Byte(b, pos) != 0xFF) {
      return Truncated(kF, absl::StrFormat("expected a marker at byte %d", pos));
    }
    while (pos < b.size() && Byte(b, pos) == 0xFF) ++pos;
    if (pos >= b.size()) continue;  // reported as truncated above
    const uint8_t marker = Byte(b, pos++);
    if (marker == 0xD9) {
      walk.found_eoi = true;
      if (!walk.found_sof) return Truncated(kF, "no frame header (SOF) before the end");
      return walk;
    }
    if (IsStandaloneMarker(marker)) continue;
    if (pos + 2 > b.size()) {
      if (stop_at_sof) return TruncatedHeader(kF, b.size());
      return Truncated(kF, "no end-of-image marker (FF D9)");
    }
    const size_t length = Be16(b, pos);
    if (length < 2) {
      return Truncated(kF, absl::StrFormat("segment length %d at byte %d", length, pos));
    }
    const size_t end = pos + length;
    if (end > b.size()) {
      if (stop_at_sof && !walk.found_sof) return TruncatedHeader(kF, b.size());
      return Truncated(kF, "no end-of-image marker (FF D9)");
    }
    if (IsSofMarker(marker) && !walk.found_sof) {
      if (length < 7) return Truncated(kF, "frame header (SOF) too short");
      walk.found_sof = true;
      walk.height = Be16(b, pos + 3);
      walk.width = Be16(b, pos + 5);
      if (stop_at_sof) return walk;
    }
    pos = end;
    if (marker == 0xDA) pos = SkipEntropyCodedData(b, pos);  // start of scan
  }
}

absl::StatusOr<ImageHeader> ReadJpegHeader(absl::string_view b) {
  absl::StatusOr<JpegWalk> walk = WalkJpeg(b, /*stop_at_sof=*/true);
  if (!walk.ok()) return walk.status();
  if (walk->height == 0) {
    return absl::InvalidArgumentError(
        "JPEG header declares height 0 (size given later by a DNL marker): not supported");
  }
  return MakeHeader(ImageFormat::kJpeg, walk->width, walk->height);
}

// ---- PNG: IHDR is the first chunk.

absl::StatusOr<ImageHeader> ReadPngHeader(absl::string_view b) {
  if (b.size() < 24) return TruncatedHeader(ImageFormat::kPng, b.size());
  if (b.substr(12, 4) != "IHDR") {
    return Truncated(ImageFormat::kPng, "first chunk is not IHDR");
  }
  return MakeHeader(ImageFormat::kPng, Be32(b, 16), Be32(b, 20));
}

absl::Status CheckPngComplete(absl::string_view b) {
  size_t pos = kPngSignature.size();
  while (pos + 8 <= b.size()) {
    const uint64_t length = Be32(b, pos);
    const absl::string_view type = b.substr(pos + 4, 4);
    const uint64_t end = pos + 12 + length;  // length, type, data, CRC
    if (end > b.size()) break;
    if (type == "IEND") return absl::OkStatus();
    pos = static_cast<size_t>(end);
  }
  return Truncated(ImageFormat::kPng, "no IEND chunk (file cut short)");
}

// ---- BMP: BITMAPCOREHEADER (12 bytes) or BITMAPINFOHEADER and successors.

absl::StatusOr<ImageHeader> ReadBmpHeader(absl::string_view b) {
  if (b.size() < 26) return TruncatedHeader(ImageFormat::kBmp, b.size());
  const uint32_t dib_size = Le32(b, 14);
  if (dib_size == 12) {
    return MakeHeader(ImageFormat::kBmp, Le16(b, 18), Le16(b, 20));
  }
  if (dib_size < 16) {
    return Truncated(ImageFormat::kBmp, absl::StrFormat("unknown DIB header size %d", dib_size));
  }
  const int64_t width = static_cast<int32_t>(Le32(b, 18));
  int64_t height = static_cast<int32_t>(Le32(b, 22));
  if (height < 0) height = -height;  // negative: rows stored top-down
  return MakeHeader(ImageFormat::kBmp, width, height);
}

// ---- TIFF: ImageWidth (256) and ImageLength (257) of the first IFD.

absl::StatusOr<ImageHeader> ReadTiffHeader(absl::string_view b) {
  constexpr ImageFormat kF = ImageFormat::kTiff;
  if (b.size() < 8) return TruncatedHeader(kF, b.size());
  const bool big_endian = b[0] == 'M';
  auto u16 = [&](size_t i) { return big_endian ? Be16(b, i) : Le16(b, i); };
  auto u32 = [&](size_t i) { return big_endian ? Be32(b, i) : Le32(b, i); };
  if (u16(2) == 43) {
    return absl::InvalidArgumentError("BigTIFF is not supported: use a classic TIFF");
  }
  const uint64_t ifd = u32(4);
  if (ifd + 2 > b.size()) return TruncatedHeader(kF, b.size());
  const uint32_t count = u16(ifd);
  int64_t width = -1;
  int64_t height = -1;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t entry = ifd + 2 + 12ULL * i;
    if (entry + 12 > b.size()) return TruncatedHeader(kF, b.size());
    const uint32_t tag = u16(entry);
    if (tag != 256 && tag != 257) continue;
    // libtiff keeps the first of a repeated tag; a check that kept another could be
    // told 10x10 while the decoder allocates 20000x20000. A repeat is corrupt.
    if ((tag == 256 ? width : height) >= 0) {
      return Truncated(kF, absl::StrFormat("first IFD holds %s (tag %d) twice",
                                           tag == 256 ? "ImageWidth" : "ImageLength", tag));
    }
    const uint32_t type = u16(entry + 2);
    int64_t value;
    if (type == 3) {  // SHORT: left-justified in the value field in both orders
      value = u16(entry + 8);
    } else if (type == 4) {  // LONG
      value = u32(entry + 8);
    } else {
      return Truncated(kF, absl::StrFormat("size tag %d has field type %d", tag, type));
    }
    (tag == 256 ? width : height) = value;
  }
  if (width < 0 || height < 0) {
    return Truncated(kF, "first IFD lacks ImageWidth or ImageLength");
  }
  return MakeHeader(kF, width, height);
}

// ---- WebP: RIFF container with one of VP8 (lossy), VP8L (lossless), VP8X (extended).

absl::StatusOr<ImageHeader> ReadWebpHeader(absl::string_view b) {
  constexpr ImageFormat kF = ImageFormat::kWebp;
  if (b.size() < 30) return TruncatedHeader(kF, b.size());
  const absl::string_view fourcc = b.substr(12, 4);
  const size_t data = 20;
  if (fourcc == "VP8 ") {
    if (Byte(b, data + 3) != 0x9D || Byte(b, data + 4) != 0x01 || Byte(b, data + 5) != 0x2A) {
      return Truncated(kF, "VP8 start code missing");
    }
    return MakeHeader(kF, Le16(b, data + 6) & 0x3FFF, Le16(b, data + 8) & 0x3FFF);
  }
  if (fourcc == "VP8L") {
    if (Byte(b, data) != 0x2F) return Truncated(kF, "VP8L signature missing");
    const uint32_t bits = Le32(b, data + 1);
    return MakeHeader(kF, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (fourcc == "VP8X") {
    return MakeHeader(kF, int64_t{Le24(b, data + 4)} + 1, int64_t{Le24(b, data + 7)} + 1);
  }
  return Truncated(kF, absl::StrCat("unknown first chunk \"", absl::CHexEscape(fourcc), "\""));
}

absl::Status CheckWebpComplete(absl::string_view b) {
  if (b.size() < 12) return TruncatedHeader(ImageFormat::kWebp, b.size());
  const uint64_t riff_end = uint64_t{Le32(b, 4)} + 8;
  if (riff_end > b.size()) {
    return Truncated(ImageFormat::kWebp, absl::StrFormat("RIFF size says %d bytes, only %d present",
                                                         riff_end, b.size()));
  }
  return absl::OkStatus();
}

}  // namespace

const char* FormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kTiff:
      return "TIFF";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kDicom:
      return "DICOM";
  }
  return "image";
}

std::optional<ImageFormat> SniffFormat(absl::string_view b) {
  // First: the 128-byte preamble of a DICOM file may hold another format's magic
  // (dual-personality DICOM/TIFF files).
  if (LooksLikeDicom(b)) return ImageFormat::kDicom;
  if (StartsWith(b, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (StartsWith(b, kPngSignature)) return ImageFormat::kPng;
  if (StartsWith(b, "BM")) return ImageFormat::kBmp;
  if (StartsWith(b, absl::string_view("II*\0", 4)) ||
      StartsWith(b, absl::string_view("MM\0*", 4)) ||
      StartsWith(b, absl::string_view("II+\0", 4)) ||
      StartsWith(b, absl::string_view("MM\0+", 4))) {
    return ImageFormat::kTiff;
  }
  if (b.size() >= 12 && StartsWith(b, "RIFF") && b.substr(8, 4) == "WEBP") {
    return ImageFormat::kWebp;
  }
  return std::nullopt;
}

absl::Status CheckContainerComplete(ImageFormat format, absl::string_view bytes) {
  switch (format) {
    case ImageFormat::kJpeg: {
      absl::StatusOr<JpegWalk> walk = WalkJpeg(bytes, /*stop_at_sof=*/false);
      return walk.status();
    }
    case ImageFormat::kPng:
      return CheckPngComplete(bytes);
    case ImageFormat::kWebp:
      return CheckWebpComplete(bytes);
    case ImageFormat::kBmp:
    case ImageFormat::kTiff:
    case ImageFormat::kDicom:  // DCMTK's parser checks element lengths
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::string_view WebpExifPayload(absl::string_view b) {
  if (SniffFormat(b) != ImageFormat::kWebp) return {};
  size_t pos = 12;
  while (pos + 8 <= b.size()) {
    const absl::string_view fourcc = b.substr(pos, 4);
    const uint64_t size = Le32(b, pos + 4);
    if (pos + 8 + size > b.size()) return {};
    if (fourcc == "EXIF") {
      absl::string_view payload = b.substr(pos + 8, static_cast<size_t>(size));
      // Some writers keep the JPEG APP1 prefix.
      if (StartsWith(payload, absl::string_view("Exif\0\0", 6))) payload.remove_prefix(6);
      return payload;
    }
    pos += 8 + static_cast<size_t>(size) + (size & 1);  // chunks are padded to even
  }
  return {};
}

}  // namespace internal

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("image is empty (0 bytes)");
  const std::optional<ImageFormat> format = internal::SniffFormat(bytes);
  if (!format.has_value()) {
    // The file's own bytes are not echoed: they may be anything (not UTF-8, private).
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a supported image (%d bytes, no JPEG, PNG, BMP, TIFF, WebP or DICOM signature)",
        bytes.size()));
  }
  switch (*format) {
    case ImageFormat::kJpeg:
      return internal::ReadJpegHeader(bytes);
    case ImageFormat::kPng:
      return internal::ReadPngHeader(bytes);
    case ImageFormat::kBmp:
      return internal::ReadBmpHeader(bytes);
    case ImageFormat::kTiff:
      return internal::ReadTiffHeader(bytes);
    case ImageFormat::kWebp:
      return internal::ReadWebpHeader(bytes);
    case ImageFormat::kDicom: {
      absl::StatusOr<DicomHeader> dicom = ReadDicomHeader(bytes);
      if (!dicom.ok()) return dicom.status();
      return internal::MakeHeader(ImageFormat::kDicom, dicom->width, dicom->height);
    }
  }
  return absl::InternalError("unreachable image format");
}

}  // namespace explainer::common
