// The server's DICOM request options: the VOI choice reaches the decoder, and
// options.dicom_output returns a Secondary Capture + SR made by the server, whose SR
// names the bundle by the same SHA-256 that sha256sum prints for the bundle file.
#include "service/server/dicom_stage.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/dicom_decode.h"
#include "common/image_decode.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "service/server/explainer_server.h"
#include "service/server/item_stages.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::FakeRun;
using ::explainer::server::testing::FakeSpec;
using ::explainer::server::testing::PngBytes;
using ::explainer::testing::IsOk;
using ::testing::HasSubstr;

constexpr const char* kStudyUid = "1.2.826.0.1.3680043.10.1188.77.1";
constexpr const char* kSourceUid = "1.2.826.0.1.3680043.10.1188.77.3";
constexpr const char* kRoot = "1.2.826.0.1.3680043.10.1188.78";

std::string TempDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/dicom_stage_XXXXXX");
  return mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// stdout of a shell command.
std::string Shell(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe != nullptr && (n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  if (pipe != nullptr) pclose(pipe);
  return out;
}

// A 40x30 12-bit DX, written by DCMTK: a left-to-right ramp, two windows (the second
// much narrower), so each VOI choice gives another image.
std::string DicomBytes(const std::string& dir) {
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation);
  ds->putAndInsertString(DCM_SOPInstanceUID, kSourceUid);
  ds->putAndInsertString(DCM_StudyInstanceUID, kStudyUid);
  ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.10.1188.77.2");
  ds->putAndInsertString(DCM_PatientName, "PHANTOM^SERVER");
  ds->putAndInsertString(DCM_Modality, "DX");
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds->putAndInsertUint16(DCM_Rows, 30);
  ds->putAndInsertUint16(DCM_Columns, 40);
  ds->putAndInsertUint16(DCM_BitsAllocated, 16);
  ds->putAndInsertUint16(DCM_BitsStored, 12);
  ds->putAndInsertUint16(DCM_HighBit, 11);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds->putAndInsertString(DCM_WindowCenter, "2048\\1000");
  ds->putAndInsertString(DCM_WindowWidth, "4096\\400");
  Uint16 pixels[30 * 40];
  for (int y = 0; y < 30; ++y) {
    for (int x = 0; x < 40; ++x) pixels[y * 40 + x] = static_cast<Uint16>(x * 100);
  }
  ds->putAndInsertUint16Array(DCM_PixelData, pixels, 30 * 40);
  const std::string path = dir + "/source.dcm";
  EXPECT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  return ReadAll(path);
}

class DicomStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    ASSERT_FALSE(dir_.empty());
    dicom_ = DicomBytes(dir_);
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf ", dir_).c_str()); }

  v1::ExplainRequest Request(std::string image) const {
    v1::ExplainRequest request;
    request.set_request_id("r1");
    request.set_image(std::move(image));
    return request;
  }
  v1::ExplainRequest DicomOutputRequest() const {
    v1::ExplainRequest request = Request(dicom_);
    request.mutable_options()->set_return_overlay_png(true);
    request.mutable_options()->mutable_dicom_output()->set_return_objects(true);
    request.mutable_options()->mutable_dicom_output()->set_uid_root(kRoot);
    return request;
  }
  std::string dsrdump(const std::string& bytes) const {
    const std::string path = dir_ + "/sr.dcm";
    std::ofstream(path, std::ios::binary) << bytes;
    return Shell(absl::StrCat("dsrdump +Pu +Pl ", path, " 2>&1"));
  }

  std::string dir_;
  std::string dicom_;
};

TEST_F(DicomStageTest, VoiChoiceReachesTheDecoder) {
  ItemLimits limits;
  absl::StatusOr<PreparedItem> own = PrepareItem(Request(dicom_), FakeSpec(), limits);
  ASSERT_THAT(own, IsOk());
  v1::ExplainRequest second = Request(dicom_);
  second.mutable_options()->mutable_dicom_voi()->set_window_number(2);
  absl::StatusOr<PreparedItem> narrow = PrepareItem(second, FakeSpec(), limits);
  ASSERT_THAT(narrow, IsOk());
  EXPECT_GT(cv::norm(own->input.chw, narrow->input.chw, cv::NORM_INF), 0.5);
  // The same as the common decoder with that choice.
  common::DecodeOptions options;
  options.dicom_voi = {common::DicomVoi::Kind::kWindow, 2};
  absl::StatusOr<cv::Mat> expected = common::DecodeImage(dicom_, options);
  ASSERT_THAT(expected, IsOk());
  absl::StatusOr<common::ModelInput> input =
      common::Preprocess(*expected, FakeSpec().input_size, FakeSpec().normalization);
  ASSERT_THAT(input, IsOk());
  EXPECT_EQ(input->chw, narrow->input.chw);
}

TEST_F(DicomStageTest, BadVoiOptionsAreNamed) {
  v1::ExplainRequest request = Request(dicom_);
  request.mutable_options()->mutable_dicom_voi()->set_window_number(0);
  EXPECT_EQ(PrepareItem(request, FakeSpec(), {}).status().message(),
            "options.dicom_voi.window_number: 0 is not a number from 1 (as dcmj2pnm's +Wi / +Wl)");
  request.mutable_options()->mutable_dicom_voi()->set_window_number(3);
  EXPECT_EQ(PrepareItem(request, FakeSpec(), {}).status().message(),
            "image: DICOM VOI: window (0028,1050-1051) number 3 asked for, the file has 2");
  request.mutable_options()->mutable_dicom_voi()->mutable_window()->set_width(-1);
  const absl::Status status = PrepareItem(request, FakeSpec(), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "options.dicom_voi.window: centre 0, width -1; the width must be positive, both "
            "finite");
}

TEST_F(DicomStageTest, BadDicomOutputRequestsAreNamed) {
  v1::ExplainRequest png = DicomOutputRequest();
  png.set_image(PngBytes(20, 10));
  EXPECT_THAT(PrepareItem(png, FakeSpec(), {}).status().message(),
              HasSubstr("options.dicom_output: the image is not DICOM (no DICM at byte 128)"));
  v1::ExplainRequest skip = DicomOutputRequest();
  skip.mutable_options()->set_skip_explanation(true);
  EXPECT_EQ(PrepareItem(skip, FakeSpec(), {}).status().message(),
            "options.dicom_output: not with skip_explanation (the Secondary Capture is the "
            "explanation)");
  v1::ExplainRequest root = DicomOutputRequest();
  root.mutable_options()->mutable_dicom_output()->set_uid_root("1.2.x");
  EXPECT_THAT(PrepareItem(root, FakeSpec(), {}).status().message(),
              HasSubstr("options.dicom_output.uid_root: DICOM UID root must be digits and dots"));
}

// Over the wire: the objects come back, parse with DCMTK's tools, sit in the source's
// study, show the overlay_png's pixels, and the SR names the bundle by its sha256sum.
TEST_F(DicomStageTest, ServerReturnsObjectsWhoseSrCarriesTheBundleHash) {
  const std::string bundle = dir_ + "/bundle.pt";
  std::ofstream(bundle, std::ios::binary) << "not a real bundle: the runner is a fake";
  const std::string sha256sum = Shell(absl::StrCat("sha256sum ", bundle)).substr(0, 64);
  ASSERT_EQ(sha256sum.size(), 64u);
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.model_path = bundle;
  absl::StatusOr<std::unique_ptr<ExplainerServer>> server =
      ExplainerServer::StartWithRunner(options, FakeSpec(), "cpu", FakeRun);
  ASSERT_THAT(server, IsOk());
  std::unique_ptr<v1::Explainer::Stub> stub = v1::Explainer::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));

  grpc::ClientContext info_context;
  v1::ModelInfo info;
  ASSERT_TRUE(stub->GetModelInfo(&info_context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.bundle_sha256(), sha256sum);

  grpc::ClientContext context;
  v1::ExplainResponse response;
  const grpc::Status status = stub->ExplainImage(&context, DicomOutputRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(response.has_result()) << response.error().message();
  const v1::DicomObjects& dicom = response.result().dicom();

  absl::StatusOr<common::DicomHeader> sc = common::ReadDicomHeader(dicom.overlay_sc());
  ASSERT_THAT(sc, IsOk());
  EXPECT_EQ(sc->study_instance_uid, kStudyUid);
  EXPECT_EQ(sc->sop_instance_uid, dicom.overlay_sop_instance_uid());
  EXPECT_EQ(sc->sop_instance_uid.rfind(absl::StrCat(kRoot, "."), 0), 0u);
  absl::StatusOr<cv::Mat> png_pixels = common::DecodeImage(response.result().overlay_png());
  ASSERT_THAT(png_pixels, IsOk());
  // The SC is RGB (the radiograph decoder takes only grey), so DCMTK renders it.
  const std::string sc_path = dir_ + "/sc.dcm";
  std::ofstream(sc_path, std::ios::binary) << dicom.overlay_sc();
  Shell(absl::StrCat("dcm2pnm +on ", sc_path, " ", dir_, "/sc.png 2>&1"));
  absl::StatusOr<cv::Mat> rendered = common::DecodeImage(ReadAll(dir_ + "/sc.png"));
  ASSERT_THAT(rendered, IsOk());
  EXPECT_EQ(cv::norm(*rendered, *png_pixels, cv::NORM_INF), 0);

  const std::string sr = dsrdump(dicom.sr());
  EXPECT_THAT(sr, HasSubstr(absl::StrCat("bundle_sha256=", sha256sum, ";")));
  EXPECT_THAT(sr, HasSubstr(absl::StrCat("\"", kSourceUid, "\"")));
  EXPECT_THAT(sr, HasSubstr(absl::StrCat("\"", dicom.overlay_sop_instance_uid(), "\"")));
  EXPECT_THAT(sr, HasSubstr("Predicted class"));
  (*server)->Shutdown();
}

}  // namespace
}  // namespace explainer::server
