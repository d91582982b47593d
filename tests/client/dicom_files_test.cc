// Tests of client/dicom_files and the DICOM parts of the walk and of results.jsonl:
// DICOM found by content whatever its name, LabelMe paired by stem, the SOP Instance
// UID read back. The DICOM files are written here with DCMTK (no fixture files).
#include "client/dicom_files.h"

#include <string>
#include <vector>

#include "client/image_walker.h"
#include "client/results_writer.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/record_fixtures.h"
#include "tests/client/temp_dir.h"

namespace explainer::client {
namespace {

using ::explainer::testing::Classes;
using ::explainer::testing::ErrorRecord;
using ::explainer::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kUid = "1.2.826.0.1.3680043.10.1188.77.1";

// A small MONOCHROME2 DX object written by DCMTK to `path`.
void WriteDicom(const std::string& path, const char* sop_instance_uid) {
  DcmFileFormat file;
  DcmDataset* data = file.getDataset();
  ASSERT_TRUE(data->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation)
                  .good());
  ASSERT_TRUE(data->putAndInsertString(DCM_SOPInstanceUID, sop_instance_uid).good());
  data->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.10.1188.77.2");
  data->putAndInsertString(DCM_Modality, "DX");
  data->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  data->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  data->putAndInsertUint16(DCM_Rows, 4);
  data->putAndInsertUint16(DCM_Columns, 4);
  data->putAndInsertUint16(DCM_BitsAllocated, 8);
  data->putAndInsertUint16(DCM_BitsStored, 8);
  data->putAndInsertUint16(DCM_HighBit, 7);
  data->putAndInsertUint16(DCM_PixelRepresentation, 0);
  const Uint8 pixels[16] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150};
  data->putAndInsertUint8Array(DCM_PixelData, pixels, 16);
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good()) << path;
}

TEST(DicomFilesTest, FoundByContentWhateverTheName) {
  TempDir dir;
  dir.Write("in/x.png", "x");
  dir.Write("in/notes.txt", "plain text, not DICOM");
  dir.Write("in/IM0001.json", "{}");  // an annotation is never taken for an image
  dir.Write("in/sub/keep", "");
  WriteDicom(dir.Path("in/IM0001"), kUid);
  WriteDicom(dir.Path("in/sub/1.2.3.4"), "1.2.3.4.5");
  WriteDicom(dir.Path("in/scan.dcm"), "1.2.3.4.6");
  dir.Write("ann/IM0001.json", "{}");
  EXPECT_TRUE(IsDicomFile(dir.Path("in/IM0001")));
  EXPECT_FALSE(IsDicomFile(dir.Path("in/notes.txt")));
  EXPECT_FALSE(IsDicomFile(dir.Path("in")));
  EXPECT_FALSE(IsDicomFile(dir.Path("in/missing")));

  auto items = FindImages(WalkOptions{"", dir.Path("in"), dir.Path("ann"), ""});
  ASSERT_TRUE(items.ok()) << items.status();
  std::vector<std::string> paths;
  for (const ImageItem& item : *items) paths.push_back(item.relative_path);
  EXPECT_THAT(paths, ElementsAre("IM0001", "scan.dcm", "sub/1.2.3.4", "x.png"));
  // LabelMe pairs by stem as for other images; "1.2.3.4" has stem "1.2.3".
  EXPECT_EQ((*items)[0].annotation_path, dir.Path("ann/IM0001.json"));
  EXPECT_EQ((*items)[1].annotation_path, "");
  EXPECT_EQ((*items)[0].output_stem, "IM0001");
  EXPECT_EQ((*items)[2].output_stem, "sub/1.2.3");
}

TEST(DicomFilesTest, FolderWithoutImagesNamesDicom) {
  TempDir dir;
  dir.Write("in/notes.txt", "x");
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_FALSE(items.ok());
  EXPECT_THAT(items.status().message(), HasSubstr("or DICOM files of any name) under"));
}

TEST(DicomFilesTest, ReadsTheSopInstanceUid) {
  TempDir dir;
  WriteDicom(dir.Path("a"), kUid);
  absl::StatusOr<std::string> uid = ReadSopInstanceUid(dir.Path("a"), 1 << 20);
  ASSERT_TRUE(uid.ok()) << uid.status();
  EXPECT_EQ(*uid, kUid);
  dir.Write("b", "not dicom");
  EXPECT_THAT(ReadSopInstanceUid(dir.Path("b"), 1 << 20).status().message(),
              HasSubstr("not a DICOM Part 10 file (9 bytes"));
}

TEST(DicomFilesTest, ResultsLineCarriesTheUidOnlyForDicom) {
  ItemRecord record = ErrorRecord("IM0001", 3, "image: bad");
  EXPECT_FALSE(RecordToJson(record, Classes()).contains("sop_instance_uid"));
  record.sop_instance_uid = kUid;
  const auto line = RecordToJson(record, Classes());
  EXPECT_EQ(line["sop_instance_uid"], kUid);
}

}  // namespace
}  // namespace explainer::client
