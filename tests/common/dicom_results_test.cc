// MakeDicomResults: the Secondary Capture and the Comprehensive SR parse back with
// DCMTK's own tools (dcmdump, dsrdump), sit in the source's study, reference the
// source and the overlay, and carry nothing of the source header but patient/study.
#include "common/dicom_results.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/dicom_decode.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kSourceUid = "1.2.826.0.1.3680043.10.1188.55.3";
constexpr const char* kStudyUid = "1.2.826.0.1.3680043.10.1188.55.1";
constexpr const char* kRoot = "1.2.826.0.1.3680043.10.1188";

class DicomResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/dicom_results_XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    // The source, written by DCMTK, with attributes that must not be copied.
    DcmFileFormat file;
    DcmDataset* ds = file.getDataset();
    ds->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation);
    ds->putAndInsertString(DCM_SOPInstanceUID, kSourceUid);
    ds->putAndInsertString(DCM_StudyInstanceUID, kStudyUid);
    ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.10.1188.55.2");
    ds->putAndInsertString(DCM_PatientName, "PHANTOM^SYNTHETIC");
    ds->putAndInsertString(DCM_PatientID, "PHANTOM-007");
    ds->putAndInsertString(DCM_AccessionNumber, "ACC0007");
    ds->putAndInsertString(DCM_InstitutionName, "NOT COPIED HOSPITAL");
    ds->putAndInsertString(DCM_OperatorsName, "NOT^COPIED");
    ds->putAndInsertString(DCM_Modality, "DX");
    ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    ds->putAndInsertUint16(DCM_Rows, 2);
    ds->putAndInsertUint16(DCM_Columns, 2);
    ds->putAndInsertUint16(DCM_BitsAllocated, 8);
    ds->putAndInsertUint16(DCM_BitsStored, 8);
    ds->putAndInsertUint16(DCM_HighBit, 7);
    ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
    const Uint8 pixels[4] = {0, 50, 100, 150};
    ds->putAndInsertUint8Array(DCM_PixelData, pixels, 4);
    const std::string path = dir_ + "/source.dcm";
    ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
    source_ = Read(path);

    absl::StatusOr<DicomSource> source = ReadDicomSource(source_);
    ASSERT_THAT(source, IsOk());
    input_.source = *source;
    input_.overlay_rgb = cv::Mat(6, 5, CV_8UC3);
    cv::randu(input_.overlay_rgb, 0, 255);
    input_.method = "grad-cam";
    input_.class_names = {"Normal", "Benign", "Malignant"};
    input_.probabilities = {0.1f, 0.25f, 0.65f};
    input_.predicted_index = 2;
    input_.explained_index = 1;
    input_.has_annotation = true;
    input_.iou = {{0.3f, 0.42f}, {0.5f, 0.31f}};
    input_.pointing_game_hit = true;
    input_.model_name = "btxrd-effnet";
    input_.model_version = "7";
    input_.bundle_hash = "abc123";
    input_.explainer_version = std::string(kExplainerVersion);
    input_.uid_root = kRoot;
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf ", dir_).c_str()); }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  // Writes `bytes` and runs `tool` on it; returns stdout + stderr, exit status in *rc.
  std::string Run(const std::string& tool, const std::string& bytes, const std::string& name,
                  int* rc) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    const std::string cmd = absl::StrCat(tool, " ", path, " 2>&1");
    FILE* pipe = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    *rc = pclose(pipe);
    return out;
  }

  std::string dir_;
  std::string source_;
  DicomResultInput input_;
};

TEST_F(DicomResultsTest, OverlayIsASecondaryCaptureInTheSourceStudy) {
  absl::StatusOr<DicomResultObjects> out = MakeDicomResults(input_);
  ASSERT_THAT(out, IsOk());
  EXPECT_TRUE(LooksLikeDicom(out->overlay_sc));
  EXPECT_THAT(out->overlay_sop_instance_uid, StartsWith(absl::StrCat(kRoot, ".")));
  EXPECT_THAT(out->series_instance_uid, StartsWith(absl::StrCat(kRoot, ".")));
  int rc = -1;
  const std::string dump = Run("dcmdump", out->overlay_sc, "sc.dcm", &rc);
  EXPECT_EQ(rc, 0) << dump;
  EXPECT_THAT(dump, HasSubstr("=SecondaryCaptureImageStorage"));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0020,000d) UI [", kStudyUid, "]")));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0020,000e) UI [", out->series_instance_uid, "]")));
  EXPECT_THAT(dump, HasSubstr("(0008,103e) LO [Explainer Grad-CAM grad-cam]"));
  EXPECT_THAT(dump, HasSubstr("(0010,0010) PN [PHANTOM^SYNTHETIC]"));
  EXPECT_THAT(dump, HasSubstr("(0008,0050) SH [ACC0007]"));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0008,1155) UI [", kSourceUid, "]")));
  EXPECT_THAT(dump, HasSubstr("(0028,0004) CS [RGB]"));
  EXPECT_THAT(dump, Not(HasSubstr("NOT COPIED")));
  EXPECT_THAT(dump, Not(HasSubstr("NOT^COPIED")));
  // The pixels are the overlay's, row by row, R G B.
  DcmFileFormat file;
  DcmInputBufferStream in;
  in.setBuffer(out->overlay_sc.data(), out->overlay_sc.size());
  in.setEos();
  file.transferInit();
  ASSERT_TRUE(file.read(in).good());
  file.transferEnd();
  const Uint8* pixels = nullptr;
  unsigned long count = 0;
  ASSERT_TRUE(file.getDataset()->findAndGetUint8Array(DCM_PixelData, pixels, &count).good());
  ASSERT_EQ(count, 6u * 5u * 3u);
  EXPECT_EQ(0, std::memcmp(pixels, input_.overlay_rgb.data, count));
}

TEST_F(DicomResultsTest, ReportIsAComprehensiveSrThatDsrdumpReads) {
  absl::StatusOr<DicomResultObjects> out = MakeDicomResults(input_);
  ASSERT_THAT(out, IsOk());
  int rc = -1;
  const std::string sr = Run("dsrdump +Pc +Pl +Pu", out->sr, "sr.dcm", &rc);
  EXPECT_EQ(rc, 0) << sr;
  EXPECT_THAT(sr, Not(HasSubstr("W: ")));  // no warnings either
  EXPECT_THAT(sr, HasSubstr("Comprehensive SR Document"));
  EXPECT_THAT(sr, HasSubstr("PHANTOM^SYNTHETIC"));
  EXPECT_THAT(sr, HasSubstr("<contains TEXT:(111001,DCM,\"Algorithm Name\")=\"btxrd-effnet\">"));
  EXPECT_THAT(sr, HasSubstr("<contains TEXT:(111003,DCM,\"Algorithm Version\")=\"7\">"));
  EXPECT_THAT(sr, HasSubstr("bundle_sha256=abc123; software=Explainer 0.1.0; cam_method=grad-cam"));
  EXPECT_THAT(sr, HasSubstr("(EXPL002,99EXPLAINER,\"Predicted class\")=\"Malignant\""));
  EXPECT_THAT(sr, HasSubstr("\"Probability of Normal\")=\"0.1000\" (1,UCUM,\"no units\")"));
  EXPECT_THAT(sr, HasSubstr("\"Probability of Benign\")=\"0.2500\""));
  EXPECT_THAT(sr, HasSubstr("\"Probability of Malignant\")=\"0.6500\""));
  EXPECT_THAT(sr, HasSubstr("(EXPL003,99EXPLAINER,\"Explained class\")=\"Benign\""));
  EXPECT_THAT(sr, HasSubstr("\"IoU at heatmap threshold 0.3\")=\"0.4200\""));
  EXPECT_THAT(sr, HasSubstr("\"IoU at heatmap threshold 0.5\")=\"0.3100\""));
  EXPECT_THAT(sr, HasSubstr("\"Pointing game hit\")=\"yes\""));
  EXPECT_THAT(sr, HasSubstr(absl::StrCat("(121112,DCM,\"Source of Measurement\")=(DX image,\"",
                                         kSourceUid, "\")")));
  EXPECT_THAT(sr,
              HasSubstr(absl::StrCat("(EXPL006,99EXPLAINER,\"Explanation overlay\")=(SC image,\"",
                                     out->overlay_sop_instance_uid, "\")")));
  EXPECT_THAT(sr, Not(HasSubstr("NOT COPIED")));
  // The references resolve: the content's images are the source and the overlay,
  // both listed in the evidence of the source's study.
  const std::string dump = Run("dcmdump", out->sr, "sr2.dcm", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(dump, HasSubstr("=ComprehensiveSRStorage"));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0020,000d) UI [", kStudyUid, "]")));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0008,0018) UI [", out->sr_sop_instance_uid, "]")));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0008,1155) UI [", kSourceUid, "]")));
  EXPECT_THAT(dump,
              HasSubstr(absl::StrCat("(0008,1155) UI [", out->overlay_sop_instance_uid, "]")));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("(0020,000e) UI [", out->series_instance_uid, "]")));
  EXPECT_THAT(dump, HasSubstr("(0040,a375) SQ"));  // Current Requested Procedure Evidence
}

TEST_F(DicomResultsTest, WithoutAnnotationThereIsNoIouReport) {
  input_.has_annotation = false;
  absl::StatusOr<DicomResultObjects> out = MakeDicomResults(input_);
  ASSERT_THAT(out, IsOk());
  int rc = -1;
  const std::string sr = Run("dsrdump", out->sr, "sr.dcm", &rc);
  EXPECT_EQ(rc, 0) << sr;
  EXPECT_THAT(sr, Not(HasSubstr("IoU")));
  EXPECT_THAT(sr, HasSubstr("Explained class"));
}

TEST_F(DicomResultsTest, BadInputsAreNamed) {
  DicomResultInput bad = input_;
  bad.uid_root = "1.2.x";
  EXPECT_THAT(MakeDicomResults(bad).status().message(),
              HasSubstr("DICOM UID root must be digits and dots"));
  bad = input_;
  bad.probabilities.pop_back();
  EXPECT_THAT(MakeDicomResults(bad).status().message(),
              HasSubstr("probabilities, predicted and explained class must match the classes"));
  bad = input_;
  bad.source = DicomSource();
  EXPECT_EQ(MakeDicomResults(bad).status().message(),
            "DICOM output: no source (see ReadDicomSource)");
  const std::string png("\x89PNG\r\n\x1a\n", 8);
  EXPECT_THAT(ReadDicomSource(png).status().message(), HasSubstr("not a DICOM Part 10 file"));
  // A source without a Series Instance UID cannot be referenced in the evidence.
  DcmFileFormat no_series;
  ASSERT_TRUE(no_series.loadFile((dir_ + "/source.dcm").c_str()).good());
  delete no_series.getDataset()->remove(DCM_SeriesInstanceUID);
  ASSERT_TRUE(
      no_series.saveFile((dir_ + "/no_series.dcm").c_str(), EXS_LittleEndianExplicit).good());
  EXPECT_EQ(ReadDicomSource(Read(dir_ + "/no_series.dcm")).status().message(),
            "DICOM output: the source has no Series Instance UID (0020,000E) to reference");
}

}  // namespace
}  // namespace explainer::common
