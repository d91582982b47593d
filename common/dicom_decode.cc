// DICOM Part 10 -> CV_8UC3 RGB with DCMTK: header checks first (attributes, transfer
// syntax, pixel limit), then DCMTK's decoders and its Modality/VOI LUT rendering.
#include "common/dicom_decode.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/dicom_length_check.h"
#include "common/status_macros.h"
#include "dcmtk/config/osconfig.h"  // must come first of the DCMTK headers
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmimgle/dcmimage.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::common {
namespace {

constexpr size_t kPreambleSize = 128;

// DCMTK's decoders are registered once per process. Its logger is silenced: its
// warnings may quote header values, and nothing of a DICOM header may reach a log.
void InitDcmtkOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

// A header string fit for a message: printable ASCII only, at most 64 characters.
std::string Printable(const OFString& value) {
  std::string out;
  for (const char c : value) {
    if (out.size() >= 64) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7F && c != '"') ? c : '?';
  }
  return out;
}

absl::Status Corrupt(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("truncated or corrupt DICOM: ", what));
}

struct Parsed {
  std::unique_ptr<DcmFileFormat> file;
  DicomHeader header;
};

// The transfer syntaxes DCMTK decodes here; everything else is refused by name.
bool SupportedTransferSyntax(E_TransferSyntax xfer) {
  switch (xfer) {
    case EXS_LittleEndianImplicit:
    case EXS_LittleEndianExplicit:
    case EXS_DeflatedLittleEndianExplicit:
    case EXS_JPEGProcess1:
    case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess14:
    case EXS_JPEGProcess14SV1:
    case EXS_JPEGLSLossless:
    case EXS_JPEGLSLossy:
    case EXS_RLELossless:
      return true;
    default:
      return false;
  }
}

bool Encapsulated(E_TransferSyntax xfer) { return DcmXfer(xfer).isEncapsulated(); }

absl::StatusOr<Uint16> RequiredUint16(DcmDataset& data, const DcmTagKey& key,
                                      absl::string_view name) {
  Uint16 value = 0;
  if (data.findAndGetUint16(key, value).bad()) {
    return absl::InvalidArgumentError(absl::StrFormat("DICOM attribute %s (%04X,%04X) is missing",
                                                      name, key.getGroup(), key.getElement()));
  }
  return value;
}

std::string GetString(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  if (item.findAndGetOFString(key, value).bad()) return "";
  return std::string(value.c_str());
}

// Parses meta header and data set; with header_only, stops before the pixel data.
absl::StatusOr<Parsed> Parse(absl::string_view bytes, bool header_only) {
  if (!LooksLikeDicom(bytes)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a DICOM Part 10 file (%d bytes, no DICM after the 128-byte preamble)", bytes.size()));
  }
  // DCMTK allocates declared lengths before reading them: check them first.
  EXPLAINER_RETURN_IF_ERROR(CheckDicomLengths(bytes));
  InitDcmtkOnce();
  Parsed parsed;
  parsed.file = std::make_unique<DcmFileFormat>();
  DcmInputBufferStream in;
  in.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  in.setEos();
  parsed.file->transferInit();
  const OFCondition cond =
      header_only ? parsed.file->readUntilTag(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                              DCM_PixelData)
                  : parsed.file->read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  // A stream that ends inside an element leaves the data set unfinished.
  const bool unfinished = !header_only && parsed.file->getDataset()->transferState() != ERW_ready;
  parsed.file->transferEnd();
  if (cond.bad()) return Corrupt(cond.text());
  if (unfinished) return Corrupt("the data set ends inside an element");

  DcmMetaInfo* meta = parsed.file->getMetaInfo();
  DcmDataset* data = parsed.file->getDataset();
  DicomHeader& h = parsed.header;
  h.transfer_syntax_uid = GetString(*meta, DCM_TransferSyntaxUID);
  const DcmXfer xfer(data->getOriginalXfer());
  h.transfer_syntax_name =
      xfer.getXferID()[0] != '\0' && xfer.getXfer() != EXS_Unknown ? xfer.getXferName() : "unknown";
  h.sop_class_uid = GetString(*data, DCM_SOPClassUID);
  h.sop_instance_uid = GetString(*data, DCM_SOPInstanceUID);
  h.study_instance_uid = GetString(*data, DCM_StudyInstanceUID);
  h.series_instance_uid = GetString(*data, DCM_SeriesInstanceUID);
  h.modality = GetString(*data, DCM_Modality);
  h.photometric_interpretation = GetString(*data, DCM_PhotometricInterpretation);
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 rows, RequiredUint16(*data, DCM_Rows, "Rows"));
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 columns, RequiredUint16(*data, DCM_Columns, "Columns"));
  if (rows == 0 || columns == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DICOM declares an invalid size %dx%d (Columns x Rows)", columns, rows));
  }
  h.width = columns;
  h.height = rows;
  Sint32 frames = 1;
  if (data->findAndGetSint32(DCM_NumberOfFrames, frames).good()) h.frames = frames;
  return parsed;
}

// The checks that need no pixels: everything a per-item error can name up front.
absl::Status CheckSupported(DcmDataset& data, const DicomHeader& h) {
  const E_TransferSyntax xfer = data.getOriginalXfer();
  if (!SupportedTransferSyntax(xfer)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported DICOM transfer syntax %s (%s); supported: implicit and explicit VR "
        "little endian, deflate, JPEG baseline, extended and lossless, JPEG-LS, RLE",
        h.transfer_syntax_name, Printable(h.transfer_syntax_uid.c_str())));
  }
  if (h.frames != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported multi-frame DICOM: NumberOfFrames (0028,0008) is %d; send one frame "
        "per item",
        h.frames));
  }
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 samples,
                             RequiredUint16(data, DCM_SamplesPerPixel, "SamplesPerPixel"));
  if (h.photometric_interpretation != "MONOCHROME1" &&
      h.photometric_interpretation != "MONOCHROME2") {
    return absl::InvalidArgumentError(
        absl::StrFormat("unsupported DICOM PhotometricInterpretation (0028,0004) \"%s\" with "
                        "SamplesPerPixel %d: only MONOCHROME1 and MONOCHROME2 radiographs",
                        Printable(h.photometric_interpretation.c_str()), samples));
  }
  if (samples != 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unsupported DICOM SamplesPerPixel (0028,0002) %d for %s: must be 1",
                        samples, h.photometric_interpretation));
  }
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 allocated,
                             RequiredUint16(data, DCM_BitsAllocated, "BitsAllocated"));
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 stored,
                             RequiredUint16(data, DCM_BitsStored, "BitsStored"));
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 high_bit, RequiredUint16(data, DCM_HighBit, "HighBit"));
  EXPLAINER_ASSIGN_OR_RETURN(const Uint16 representation,
                             RequiredUint16(data, DCM_PixelRepresentation, "PixelRepresentation"));
  if (allocated != 8 && allocated != 16) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported DICOM BitsAllocated (0028,0100) %d: must be 8 or 16", allocated));
  }
  if (stored < 8 || stored > 16 || stored > allocated) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported DICOM BitsStored (0028,0101) %d with BitsAllocated %d: must be 8 to 16 "
        "and at most BitsAllocated",
        stored, allocated));
  }
  if (high_bit >= allocated || high_bit + 1 < stored) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid DICOM HighBit (0028,0102) %d for BitsStored %d, BitsAllocated %d",
                        high_bit, stored, allocated));
  }
  if (representation > 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid DICOM PixelRepresentation (0028,0103) %d: must be 0 or 1", representation));
  }
  DcmElement* pixels = nullptr;
  // An encapsulated element has an undefined length; its fragments are checked by
  // the decoder.
  if (data.findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr ||
      (!Encapsulated(xfer) && pixels->getLength() == 0)) {
    return absl::InvalidArgumentError("DICOM has no Pixel Data (7FE0,0010)");
  }
  if (!Encapsulated(xfer)) {
    const uint64_t need =
        static_cast<uint64_t>(h.width) * static_cast<uint64_t>(h.height) * (allocated / 8);
    if (pixels->getLength() < need) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "truncated or corrupt DICOM: Pixel Data (7FE0,0010) has %d bytes, Rows x Columns x "
          "BitsAllocated need %d",
          pixels->getLength(), need));
    }
  }
  return absl::OkStatus();
}

// The VOI transform: the caller's choice, else the file's VOI LUT, else its window,
// else min-max (pydicom's apply_voi_lut order with prefer_lut=True).
absl::Status ApplyVoi(const DicomVoi& voi, DcmDataset& data, DicomImage& image) {
  DcmSequenceOfItems* voi_luts = nullptr;
  const unsigned long lut_count =
      data.findAndGetSequence(DCM_VOILUTSequence, voi_luts).good() && voi_luts != nullptr
          ? voi_luts->card()
          : 0;
  const unsigned long window_count = image.getWindowCount();
  auto out_of_range = [](absl::string_view what, int number, unsigned long count) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "DICOM VOI: %s number %d asked for, the file has %d", what, number, count));
  };
  int ok = 0;
  switch (voi.kind) {
    case DicomVoi::Kind::kFile:
      ok = lut_count > 0      ? image.setVoiLut(0)
           : window_count > 0 ? image.setWindow(0)
                              : image.setMinMaxWindow(0);
      break;
    case DicomVoi::Kind::kWindow:
      if (voi.number < 1 || static_cast<unsigned long>(voi.number) > window_count) {
        return out_of_range("window (0028,1050-1051)", voi.number, window_count);
      }
      ok = image.setWindow(static_cast<unsigned long>(voi.number - 1));
      break;
    case DicomVoi::Kind::kVoiLut:
      if (voi.number < 1 || static_cast<unsigned long>(voi.number) > lut_count) {
        return out_of_range("VOI LUT (0028,3010)", voi.number, lut_count);
      }
      ok = image.setVoiLut(static_cast<unsigned long>(voi.number - 1));
      break;
    case DicomVoi::Kind::kExplicit:
      if (!(voi.width > 0) || !std::isfinite(voi.center) || !std::isfinite(voi.width)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "DICOM VOI: window width must be positive and both finite, got centre %g, width %g",
            voi.center, voi.width));
      }
      ok = image.setWindow(voi.center, voi.width);
      break;
    case DicomVoi::Kind::kMinMax:
      ok = image.setMinMaxWindow(0);
      break;
  }
  if (ok == 0) {
    return absl::InvalidArgumentError(
        voi.kind == DicomVoi::Kind::kExplicit
            ? absl::StrFormat("invalid DICOM window: centre %g, width %g", voi.center, voi.width)
            : std::string("invalid DICOM VOI LUT or window (0028,3010 / 0028,1050-1051)"));
  }
  return absl::OkStatus();
}

}  // namespace

bool LooksLikeDicom(absl::string_view bytes) {
  return bytes.size() >= kPreambleSize + 4 && bytes.substr(kPreambleSize, 4) == "DICM";
}

absl::StatusOr<DicomHeader> ReadDicomHeader(absl::string_view bytes) {
  EXPLAINER_ASSIGN_OR_RETURN(Parsed parsed, Parse(bytes, /*header_only=*/true));
  return std::move(parsed.header);
}

absl::StatusOr<cv::Mat> DecodeDicom(absl::string_view bytes, const DecodeOptions& options) {
  if (options.max_pixels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DecodeOptions.max_pixels must be positive, got %d", options.max_pixels));
  }
  // The header first: the pixel limit holds before the pixel data is even parsed.
  EXPLAINER_ASSIGN_OR_RETURN(const DicomHeader header, ReadDicomHeader(bytes));
  const int64_t pixels = int64_t{header.width} * header.height;
  if (pixels > options.max_pixels) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("image is %dx%d = %d pixels, over the limit of %d", header.width,
                        header.height, pixels, options.max_pixels));
  }
  EXPLAINER_ASSIGN_OR_RETURN(Parsed parsed, Parse(bytes, /*header_only=*/false));
  DcmDataset& data = *parsed.file->getDataset();
  EXPLAINER_RETURN_IF_ERROR(CheckSupported(data, parsed.header));

  const E_TransferSyntax original = data.getOriginalXfer();
  if (Encapsulated(original)) {
    const OFCondition cond = data.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !data.canWriteXfer(EXS_LittleEndianExplicit)) {
      return Corrupt(absl::StrFormat("%s pixel data could not be decoded (%s)",
                                     parsed.header.transfer_syntax_name, cond.text()));
    }
  }
  const E_TransferSyntax current = Encapsulated(original) ? EXS_LittleEndianExplicit : original;
  DicomImage image(&data, current);
  if (image.getStatus() != EIS_Normal) {
    return Corrupt(absl::StrFormat("pixel data could not be rendered (%s)",
                                   DicomImage::getString(image.getStatus())));
  }
  if (image.getWidth() != static_cast<unsigned long>(header.width) ||
      image.getHeight() != static_cast<unsigned long>(header.height)) {
    return Corrupt("rendered size differs from Rows x Columns");
  }

  EXPLAINER_RETURN_IF_ERROR(ApplyVoi(options.dicom_voi, data, image));
  const void* out = image.getOutputData(8);
  if (out == nullptr) return Corrupt("no output from the VOI transform");
  const cv::Mat gray(header.height, header.width, CV_8UC1, const_cast<void*>(out));
  cv::Mat rgb;
  cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);  // copies out of DCMTK's buffer
  return rgb;
}

}  // namespace explainer::common
