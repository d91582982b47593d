// Internal: reading image container structure (magic bytes, header size fields,
// end markers, metadata chunks) without decoding pixels. ReadImageHeader, declared
// in image_decode.h, is implemented on top of this.
#ifndef EXPLAINER_COMMON_IMAGE_CONTAINER_H_
#define EXPLAINER_COMMON_IMAGE_CONTAINER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/image_decode.h"

namespace explainer::common::internal {

// "JPEG", "PNG", "BMP", "TIFF" or "WebP", for messages.
const char* FormatName(ImageFormat format);

// The format from the magic bytes alone; nullopt when none matches.
std::optional<ImageFormat> SniffFormat(absl::string_view bytes);

// OK when the container is complete, so that a decoder that tolerates missing data
// (libjpeg fills a cut-off JPEG with gray and only warns) cannot hide truncation:
// JPEG: the marker walk reaches the end-of-image marker FF D9 of the main image
//   (entropy-coded data is scanned, so an EXIF thumbnail's FF D9 does not count;
//   bytes after the EOI are allowed);
// PNG: the chunk walk reaches IEND; WebP: the RIFF size fits the bytes.
// BMP and TIFF are left to the decoder, which fails on missing data.
absl::Status CheckContainerComplete(ImageFormat format, absl::string_view bytes);

// The payload of a WebP file's "EXIF" chunk (TIFF-structured), or empty.
absl::string_view WebpExifPayload(absl::string_view bytes);

}  // namespace explainer::common::internal

#endif  // EXPLAINER_COMMON_IMAGE_CONTAINER_H_
