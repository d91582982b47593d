// Tests of client/dicom_files and the DICOM parts of the walk and of results.jsonl:
// DICOM found by content whatever its name, LabelMe paired by stem, the SOP Instance
// UID read back. The DICOM files are written here with DCMTK (no fixture files).
#include "client/dicom_files.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/dicom_output.h"
#include "client/exit_codes.h"
#include "client/image_walker.h"
#include "client/infer_command.h"
#include "client/results_writer.h"
#include "common/sha256.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/client/fake_explainer_service.h"
#include "tests/client/record_fixtures.h"
#include "tests/client/temp_dir.h"

namespace explainer::client {
namespace {

using ::explainer::testing::Classes;
using ::explainer::testing::ErrorRecord;
using ::explainer::testing::FakeServer;
using ::explainer::testing::ReadAll;
using ::explainer::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kUid = "1.2.826.0.1.3680043.10.1188.77.1";

// A small MONOCHROME2 DX object written by DCMTK to `path`.
void WriteDicom(const std::string& path, const char* sop_instance_uid) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  DcmFileFormat file;
  DcmDataset* data = file.getDataset();
  ASSERT_TRUE(
      data->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation).good());
  ASSERT_TRUE(data->putAndInsertString(DCM_SOPInstanceUID, sop_instance_uid).good());
  data->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.10.1188.77.2");
  data->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.10.1188.77.3");
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

// stdout + stderr of `command`.
std::string Capture(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << command << "\n" << out;
  return out;
}

TEST(DicomOutputTest, WritesSecondaryCaptureAndSrThatDcmtkReads) {
  TempDir dir;
  WriteDicom(dir.Path("in/IM0001"), kUid);
  cv::Mat overlay(4, 4, CV_8UC3, cv::Scalar(10, 200, 30));
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", overlay, png));
  explainer::v1::ExplainResult result;
  result.set_overlay_png(std::string(png.begin(), png.end()));
  result.set_predicted_index(2);
  result.set_explained_index(2);
  const float probabilities[] = {0.125f, 0.25f, 0.625f};
  for (int i = 0; i < 3; ++i) {
    auto* p = result.add_probabilities();
    p->set_index(i);
    p->set_probability(probabilities[i]);
  }
  explainer::v1::ModelInfo model;
  model.set_name("btxrd");
  model.set_version("3");
  for (const char* name : {"Normal", "Benign", "Malignant"}) model.add_class_names(name);
  absl::StatusOr<DicomOutputFiles> files =
      WriteDicomOutputs(result, model,
                        DicomOutputRequest{dir.Path("dcm"), "sub/IM0001", dir.Path("in/IM0001"),
                                           1 << 20, "grad-cam", "1.2.826.0.1.3680043.10.1188"});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->overlay, "sub/IM0001_overlay.dcm");
  EXPECT_EQ(files->sr, "sub/IM0001_sr.dcm");
  const std::string sc = Capture("dcmdump " + dir.Path("dcm/sub/IM0001_overlay.dcm"));
  EXPECT_THAT(sc, HasSubstr("=SecondaryCaptureImageStorage"));
  EXPECT_THAT(sc, HasSubstr("(0020,000d) UI [1.2.826.0.1.3680043.10.1188.77.2]"));
  EXPECT_THAT(sc, HasSubstr(absl::StrCat("(0008,1155) UI [", kUid, "]")));
  EXPECT_THAT(sc, HasSubstr("(0008,0018) UI [1.2.826.0.1.3680043.10.1188."));
  const std::string sr = Capture("dsrdump " + dir.Path("dcm/sub/IM0001_sr.dcm"));
  EXPECT_THAT(sr, HasSubstr("\"Predicted class\")=\"Malignant\""));
  EXPECT_THAT(sr, HasSubstr("\"Probability of Malignant\")=\"0.6250\""));
  EXPECT_THAT(sr, HasSubstr("\"Algorithm Name\")=\"btxrd\""));
}

// Through RunInfer against the fake server: the DICOM input is found by content,
// its line has the SOP Instance UID, and a failed --dicom-out is that item's
// output_error (the fake's overlay is not a PNG).
TEST(DicomOutputTest, InferRecordsUidAndDicomOutputErrorPerItem) {
  FakeServer server;
  TempDir dir;
  WriteDicom(dir.Path("in/IM0001"), kUid);
  InferOptions options;
  options.connection.server = server.address();
  options.connection.connect_timeout = absl::Seconds(5);
  options.input_dir = dir.Path("in");
  options.out_dir = dir.Path("out");
  options.dicom_out = dir.Path("dcm");
  options.explain.thresholds = {0.5f};
  options.server_overlay = true;  // the fake's overlay bytes are the point of this test
  std::FILE* out = std::fopen(dir.Path("stdout.txt").c_str(), "w");
  std::FILE* err = std::fopen(dir.Path("stderr.txt").c_str(), "w");
  const int code = RunInfer(options, out, err);
  std::fclose(out);
  std::fclose(err);
  EXPECT_EQ(code, kExitOk) << ReadAll(dir.Path("stderr.txt"));
  const std::string lines = ReadAll(dir.Path("out/results.jsonl"));
  // A failed run leaves no line: say why instead of throwing from parse().
  ASSERT_FALSE(lines.empty()) << "no results.jsonl line; stderr: "
                              << ReadAll(dir.Path("stderr.txt"));
  const nlohmann::json line = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
  EXPECT_EQ(line["file"], "IM0001");
  EXPECT_EQ(line["sop_instance_uid"], kUid);
  EXPECT_THAT(line["output_error"].get<std::string>(),
              HasSubstr("--dicom-out: the overlay does not decode"));
  // The console names the item by its hashed UID; the UID itself stays in results.jsonl.
  const std::string console = ReadAll(dir.Path("stdout.txt")) + ReadAll(dir.Path("stderr.txt"));
  EXPECT_THAT(console, HasSubstr(ItemNameForLog("IM0001", kUid) + ": --dicom-out:"));
  EXPECT_THAT(console, Not(HasSubstr(kUid)));
}

TEST(DicomFilesTest, ConsoleNamesOfDicomInputsAreHashedUids) {
  const std::string uid = "1.2.826.0.1.3680043.10.1188.55.3";
  // printf %s 1.2.826.0.1.3680043.10.1188.55.3 | sha256sum
  EXPECT_EQ(ItemNameForLog("IM0001", uid), "dicom-" + common::Sha256Hex(uid).substr(0, 16));
  EXPECT_EQ(ItemNameForLog("IM0001", uid).size(), 22u);
  // A file named by a UID is hashed even when its header could not be read.
  EXPECT_EQ(ItemNameForLog("sub/" + uid + ".dcm", ""),
            "dicom-" + common::Sha256Hex("sub/" + uid + ".dcm").substr(0, 16));
  EXPECT_EQ(ItemNameForLog(uid, ""), "dicom-" + common::Sha256Hex(uid).substr(0, 16));
  // Other names stay as they are.
  EXPECT_EQ(ItemNameForLog("sub/IMG_0001.jpg", ""), "sub/IMG_0001.jpg");
  EXPECT_EQ(ItemNameForLog("v1.2.png", ""), "v1.2.png");
  EXPECT_EQ(ItemNameForLog("image_0001.dcm", ""), "image_0001.dcm");
}

}  // namespace
}  // namespace explainer::client
