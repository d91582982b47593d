// Secondary Capture overlay + Comprehensive SR with DCMTK (dcmdata, dcmsr).
#include "common/dicom_results.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/dicom_decode.h"
#include "common/status_macros.h"
#include "dcmtk/config/osconfig.h"  // must come first of the DCMTK headers
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcvrda.h"
#include "dcmtk/dcmdata/dcvrtm.h"
#include "dcmtk/dcmsr/dsrdoc.h"
#include "opencv2/core.hpp"

namespace explainer::common {
namespace {

// Coding scheme of the concepts DICOM has no code for (PS3.16 8.2: "99" prefix).
constexpr const char* kScheme = "99EXPLAINER";
constexpr const char* kSecondaryCaptureClass = UID_SecondaryCaptureImageStorage;

// The attributes copied from the source: Patient and General Study modules.
const DcmTagKey kCopied[] = {
    DCM_PatientName,      DCM_PatientID,
    DCM_PatientBirthDate, DCM_PatientSex,
    DCM_StudyInstanceUID, DCM_StudyDate,
    DCM_StudyTime,        DCM_StudyID,
    DCM_AccessionNumber,  DCM_ReferringPhysicianName,
};

absl::Status Check(const OFCondition& cond, absl::string_view what) {
  if (cond.good()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("DICOM output: ", what, ": ", cond.text()));
}

absl::StatusOr<std::string> NewUid(const std::string& root) {
  char uid[100];
  if (dcmGenerateUniqueIdentifier(uid, root.empty() ? nullptr : root.c_str()) == nullptr) {
    return absl::InternalError("DICOM output: no UID generated");
  }
  return std::string(uid);
}

// Part 10 bytes of `file` in explicit VR little endian.
absl::StatusOr<std::string> Serialise(DcmFileFormat& file) {
  EXPLAINER_RETURN_IF_ERROR(Check(file.validateMetaInfo(EXS_LittleEndianExplicit), "meta header"));
  std::string out;
  std::vector<char> buffer(1 << 20);
  DcmOutputBufferStream stream(buffer.data(), static_cast<offile_off_t>(buffer.size()));
  file.transferInit();
  OFCondition cond;
  do {
    cond = file.write(stream, EXS_LittleEndianExplicit, EET_ExplicitLength, nullptr);
    void* chunk = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(chunk, length);
    out.append(static_cast<const char*>(chunk), static_cast<size_t>(length));
  } while (cond == EC_StreamNotifyClient);
  file.transferEnd();
  EXPLAINER_RETURN_IF_ERROR(Check(cond, "writing"));
  return out;
}

void CopyStudy(const DicomSource& from, DcmItem& to) {
  if (!from.specific_character_set.empty()) {
    to.putAndInsertOFStringArray(DCM_SpecificCharacterSet, from.specific_character_set.c_str());
  } else {
    delete to.remove(DCM_SpecificCharacterSet);
  }
  for (const auto& [tag, value] : from.copied) {
    to.putAndInsertOFStringArray(DcmTagKey(static_cast<Uint16>(tag >> 16),
                                           static_cast<Uint16>(tag & 0xffff)),
                                 value.c_str());
  }
}

std::string Percent(float p) { return absl::StrFormat("%.4f", p); }

}  // namespace

absl::Status CheckDicomUidRoot(const std::string& root) {
  if (root.empty()) return absl::OkStatus();  // DCMTK's own root
  bool ok = root.size() <= 32 && root.front() != '.' && root.back() != '.';
  for (const char c : root) ok = ok && ((c >= '0' && c <= '9') || c == '.');
  if (!ok) {
    return absl::InvalidArgumentError(
        "DICOM UID root must be digits and dots, 1 to 32 characters, e.g. "
        "1.2.826.0.1.3680043.10.1188");
  }
  return absl::OkStatus();
}

absl::StatusOr<DicomSource> ReadDicomSource(absl::string_view bytes) {
  // ReadDicomHeader checks the declared lengths before DCMTK reads anything.
  EXPLAINER_ASSIGN_OR_RETURN(const DicomHeader header, ReadDicomHeader(bytes));
  DicomSource out;
  out.sop_class_uid = header.sop_class_uid;
  out.sop_instance_uid = header.sop_instance_uid;
  out.study_instance_uid = header.study_instance_uid;
  out.series_instance_uid = header.series_instance_uid;
  for (const auto& [value, name] :
       {std::pair{&out.sop_class_uid, "SOP Class UID (0008,0016)"},
        std::pair{&out.sop_instance_uid, "SOP Instance UID (0008,0018)"},
        std::pair{&out.study_instance_uid, "Study Instance UID (0020,000D)"},
        std::pair{&out.series_instance_uid, "Series Instance UID (0020,000E)"}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("DICOM output: the source has no ", name, " to reference"));
    }
  }
  DcmFileFormat file;
  DcmInputBufferStream in;
  in.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  in.setEos();
  file.transferInit();
  const OFCondition cond =
      file.readUntilTag(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, DCM_PixelData);
  file.transferEnd();
  if (cond.bad()) return absl::InvalidArgumentError("DICOM output: the source is unreadable");
  DcmDataset& data = *file.getDataset();
  OFString value;
  if (data.findAndGetOFStringArray(DCM_SpecificCharacterSet, value).good()) {
    out.specific_character_set = value.c_str();
  }
  for (const DcmTagKey& key : kCopied) {
    value.clear();
    data.findAndGetOFStringArray(key, value);  // absent: written empty (type 2)
    out.copied.emplace_back(uint32_t{key.getGroup()} << 16 | key.getElement(), value.c_str());
  }
  return out;
}

absl::StatusOr<DicomResultObjects> MakeDicomResults(const DicomResultInput& input) {
  EXPLAINER_RETURN_IF_ERROR(CheckDicomUidRoot(input.uid_root));
  if (input.overlay_rgb.type() != CV_8UC3 || input.overlay_rgb.empty() ||
      input.overlay_rgb.rows > 65535 || input.overlay_rgb.cols > 65535) {
    return absl::InvalidArgumentError("DICOM output: the overlay must be a CV_8UC3 image");
  }
  if (input.probabilities.size() != input.class_names.size() || input.class_names.empty() ||
      input.predicted_index < 0 ||
      input.predicted_index >= static_cast<int>(input.class_names.size()) ||
      input.explained_index < 0 ||
      input.explained_index >= static_cast<int>(input.class_names.size())) {
    return absl::InvalidArgumentError(
        "DICOM output: probabilities, predicted and explained class must match the classes");
  }
  const DicomSource& source = input.source;
  if (source.sop_instance_uid.empty() || source.study_instance_uid.empty() ||
      source.series_instance_uid.empty() || source.sop_class_uid.empty()) {
    return absl::InvalidArgumentError("DICOM output: no source (see ReadDicomSource)");
  }

  OFString date, time;
  DcmDate::getCurrentDate(date);
  DcmTime::getCurrentTime(time);
  DicomResultObjects out;
  EXPLAINER_ASSIGN_OR_RETURN(out.series_instance_uid, NewUid(input.uid_root));
  EXPLAINER_ASSIGN_OR_RETURN(out.overlay_sop_instance_uid, NewUid(input.uid_root));
  EXPLAINER_ASSIGN_OR_RETURN(const std::string sr_series, NewUid(input.uid_root));
  EXPLAINER_ASSIGN_OR_RETURN(out.sr_sop_instance_uid, NewUid(input.uid_root));
  const std::string algorithm = absl::StrCat("Explainer ", input.explainer_version);

  // ---- Secondary Capture of the overlay.
  {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    CopyStudy(source, ds);
    ds.putAndInsertString(DCM_SOPClassUID, kSecondaryCaptureClass);
    ds.putAndInsertString(DCM_SOPInstanceUID, out.overlay_sop_instance_uid.c_str());
    ds.putAndInsertString(DCM_SeriesInstanceUID, out.series_instance_uid.c_str());
    ds.putAndInsertString(DCM_Modality, "OT");
    ds.putAndInsertString(DCM_SeriesNumber, "9001");
    ds.putAndInsertString(DCM_InstanceNumber, "1");
    ds.putAndInsertOFStringArray(DCM_SeriesDescription,
                                 absl::StrCat("Explainer Grad-CAM ", input.method).c_str());
    ds.putAndInsertString(DCM_ConversionType, "WSD");
    ds.putAndInsertString(DCM_ImageType, "DERIVED\\SECONDARY");
    ds.putAndInsertString(DCM_BurnedInAnnotation, "NO");
    ds.putAndInsertOFStringArray(DCM_Manufacturer, "Explainer");
    ds.putAndInsertOFStringArray(DCM_SoftwareVersions, algorithm.c_str());
    ds.putAndInsertString(DCM_ContentDate, date.c_str());
    ds.putAndInsertString(DCM_ContentTime, time.c_str());
    ds.putAndInsertOFStringArray(
        DCM_DerivationDescription,
        absl::StrCat(input.method, " heatmap of class ", input.class_names[input.explained_index],
                     " over the source image (", input.model_name, " ", input.model_version, ")")
            .c_str());
    for (const DcmTagKey& seq : {DCM_SourceImageSequence, DCM_ReferencedImageSequence}) {
      DcmItem* item = nullptr;
      EXPLAINER_RETURN_IF_ERROR(
          Check(ds.findOrCreateSequenceItem(seq, item, -2), "source reference"));
      item->putAndInsertString(DCM_ReferencedSOPClassUID, source.sop_class_uid.c_str());
      item->putAndInsertString(DCM_ReferencedSOPInstanceUID,
                               source.sop_instance_uid.c_str());
    }
    const cv::Mat& rgb = input.overlay_rgb;
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
    ds.putAndInsertString(DCM_PhotometricInterpretation, "RGB");
    ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
    ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rgb.rows));
    ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(rgb.cols));
    ds.putAndInsertUint16(DCM_BitsAllocated, 8);
    ds.putAndInsertUint16(DCM_BitsStored, 8);
    ds.putAndInsertUint16(DCM_HighBit, 7);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    const cv::Mat packed = rgb.isContinuous() ? rgb : rgb.clone();
    EXPLAINER_RETURN_IF_ERROR(
        Check(ds.putAndInsertUint8Array(DCM_PixelData, packed.data,
                                        static_cast<unsigned long>(packed.total() * 3)),
              "overlay pixels"));
    EXPLAINER_ASSIGN_OR_RETURN(out.overlay_sc, Serialise(file));
  }

  // ---- Comprehensive SR.
  {
    DSRDocument doc(DSRTypes::DT_ComprehensiveSR);
    doc.createNewSeriesInStudy(source.study_instance_uid.c_str());
    doc.setSeriesDescription(absl::StrCat("Explainer Grad-CAM ", input.method, " report").c_str());
    doc.setManufacturer("Explainer");
    DSRDocumentTree& tree = doc.getTree();
    auto add = [&](DSRTypes::E_RelationshipType rel, DSRTypes::E_ValueType type,
                   DSRTypes::E_AddMode mode, const DSRCodedEntryValue& concept) -> absl::Status {
      if (tree.addContentItem(rel, type, mode) == 0) {
        return absl::InternalError("DICOM output: SR content item not added");
      }
      return Check(tree.getCurrentContentItem().setConceptName(concept, false), "SR concept");
    };
    auto text = [&](DSRTypes::E_AddMode mode, const DSRCodedEntryValue& concept,
                    const std::string& value) -> absl::Status {
      EXPLAINER_RETURN_IF_ERROR(add(DSRTypes::RT_contains, DSRTypes::VT_Text, mode, concept));
      return Check(tree.getCurrentContentItem().setStringValue(value.c_str(), false), "SR text");
    };
    auto number = [&](const DSRCodedEntryValue& concept, const std::string& value) {
      EXPLAINER_RETURN_IF_ERROR(
          add(DSRTypes::RT_contains, DSRTypes::VT_Num, DSRTypes::AM_afterCurrent, concept));
      return Check(tree.getCurrentContentItem().setNumericValue(
                       DSRNumericMeasurementValue(value.c_str(),
                                                  DSRCodedEntryValue("1", "UCUM", "no units")),
                       false),
                   "SR number");
    };
    EXPLAINER_RETURN_IF_ERROR(add(DSRTypes::RT_isRoot, DSRTypes::VT_Container,
                                  DSRTypes::AM_afterCurrent,
                                  DSRCodedEntryValue("EXPL001", kScheme, "Explainer AI Result")));
    // Algorithm identification (DCM 111001-111003, as IHE AI Results uses them).
    EXPLAINER_RETURN_IF_ERROR(text(DSRTypes::AM_belowCurrent,
                                   DSRCodedEntryValue("111001", "DCM", "Algorithm Name"),
                                   input.model_name));
    EXPLAINER_RETURN_IF_ERROR(text(DSRTypes::AM_afterCurrent,
                                   DSRCodedEntryValue("111003", "DCM", "Algorithm Version"),
                                   input.model_version));
    EXPLAINER_RETURN_IF_ERROR(text(
        DSRTypes::AM_afterCurrent, DSRCodedEntryValue("111002", "DCM", "Algorithm Parameters"),
        absl::StrCat("bundle_sha256=", input.bundle_hash.empty() ? "unknown" : input.bundle_hash,
                     "; software=", algorithm, "; cam_method=", input.method)));
    EXPLAINER_RETURN_IF_ERROR(text(DSRTypes::AM_afterCurrent,
                                   DSRCodedEntryValue("EXPL002", kScheme, "Predicted class"),
                                   input.class_names[input.predicted_index]));
    for (size_t i = 0; i < input.class_names.size(); ++i) {
      EXPLAINER_RETURN_IF_ERROR(
          number(DSRCodedEntryValue(absl::StrCat("EXPL1", i).c_str(), kScheme,
                                    absl::StrCat("Probability of ", input.class_names[i]).c_str()),
                 Percent(input.probabilities[i])));
    }
    EXPLAINER_RETURN_IF_ERROR(text(DSRTypes::AM_afterCurrent,
                                   DSRCodedEntryValue("EXPL003", kScheme, "Explained class"),
                                   input.class_names[input.explained_index]));
    if (input.has_annotation) {
      EXPLAINER_RETURN_IF_ERROR(
          add(DSRTypes::RT_contains, DSRTypes::VT_Container, DSRTypes::AM_afterCurrent,
              DSRCodedEntryValue("EXPL004", kScheme, "Annotation IoU report")));
      bool first = true;
      for (const auto& [threshold, iou] : input.iou) {
        const DSRCodedEntryValue concept(
            absl::StrCat("EXPL2", static_cast<int>(threshold * 100 + 0.5f)).c_str(), kScheme,
            absl::StrFormat("IoU at heatmap threshold %g", threshold).c_str());
        if (first) {
          EXPLAINER_RETURN_IF_ERROR(
              add(DSRTypes::RT_contains, DSRTypes::VT_Num, DSRTypes::AM_belowCurrent, concept));
          EXPLAINER_RETURN_IF_ERROR(
              Check(tree.getCurrentContentItem().setNumericValue(
                        DSRNumericMeasurementValue(Percent(iou).c_str(),
                                                   DSRCodedEntryValue("1", "UCUM", "no units")),
                        false),
                    "SR number"));
          first = false;
        } else {
          EXPLAINER_RETURN_IF_ERROR(number(concept, Percent(iou)));
        }
      }
      EXPLAINER_RETURN_IF_ERROR(text(first ? DSRTypes::AM_belowCurrent : DSRTypes::AM_afterCurrent,
                                     DSRCodedEntryValue("EXPL005", kScheme, "Pointing game hit"),
                                     input.pointing_game_hit ? "yes" : "no"));
      tree.goUp();
    }
    EXPLAINER_RETURN_IF_ERROR(add(DSRTypes::RT_contains, DSRTypes::VT_Image,
                                  DSRTypes::AM_afterCurrent,
                                  DSRCodedEntryValue("121112", "DCM", "Source of Measurement")));
    EXPLAINER_RETURN_IF_ERROR(Check(
        tree.getCurrentContentItem().setImageReference(
            DSRImageReferenceValue(source.sop_class_uid.c_str(), source.sop_instance_uid.c_str()),
            false),
        "SR source reference"));
    EXPLAINER_RETURN_IF_ERROR(add(DSRTypes::RT_contains, DSRTypes::VT_Image,
                                  DSRTypes::AM_afterCurrent,
                                  DSRCodedEntryValue("EXPL006", kScheme, "Explanation overlay")));
    EXPLAINER_RETURN_IF_ERROR(Check(
        tree.getCurrentContentItem().setImageReference(
            DSRImageReferenceValue(kSecondaryCaptureClass, out.overlay_sop_instance_uid.c_str()),
            false),
        "SR overlay reference"));
    // Evidence: every object the content references, by study and series.
    DSRSOPInstanceReferenceList& evidence = doc.getCurrentRequestedProcedureEvidence();
    EXPLAINER_RETURN_IF_ERROR(Check(
        evidence.addItem(source.study_instance_uid.c_str(), source.series_instance_uid.c_str(),
                         source.sop_class_uid.c_str(), source.sop_instance_uid.c_str()),
        "SR evidence"));
    EXPLAINER_RETURN_IF_ERROR(
        Check(evidence.addItem(source.study_instance_uid.c_str(), out.series_instance_uid.c_str(),
                               kSecondaryCaptureClass, out.overlay_sop_instance_uid.c_str()),
              "SR evidence"));
    DcmFileFormat file;
    EXPLAINER_RETURN_IF_ERROR(Check(doc.write(*file.getDataset()), "SR document"));
    DcmDataset& ds = *file.getDataset();
    CopyStudy(source, ds);
    ds.putAndInsertString(DCM_SOPInstanceUID, out.sr_sop_instance_uid.c_str());
    ds.putAndInsertString(DCM_SeriesInstanceUID, sr_series.c_str());
    ds.putAndInsertString(DCM_SeriesNumber, "9002");
    ds.putAndInsertOFStringArray(DCM_SoftwareVersions, algorithm.c_str());
    EXPLAINER_ASSIGN_OR_RETURN(out.sr, Serialise(file));
  }
  return out;
}

}  // namespace explainer::common
