// DecodeDicom / DecodeImage on DICOM: every case that tests/data/dicom/make_dicom_cases.py
// builds at test time (pydicom + DCMTK's command-line encoders) against pydicom's own
// rendering (modality and VOI LUT), within one grey level; the broken and unsupported
// files against their exact messages.
#include "common/dicom_decode.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/image_decode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::common {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::SourcePath;
using ::explainer::testing::StatusIs;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The generated cases, made once for the whole binary in a fresh temporary folder.
class DicomCases : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/dicom_cases_XXXXXX");
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir_ = new std::string(buf.data());
    const std::string cmd =
        absl::StrCat("/usr/bin/python3 ", SourcePath("tests/data/dicom/make_dicom_cases.py"),
                     " --out ", *dir_, " > ", *dir_, "/make.log 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << ReadAll(*dir_ + "/make.log");
    cases_ = new nlohmann::json(nlohmann::json::parse(ReadAll(*dir_ + "/cases.json")));
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) std::system(absl::StrCat("rm -rf ", *dir_).c_str());
    delete dir_;
    delete cases_;
    dir_ = nullptr;
    cases_ = nullptr;
  }
  static std::string Bytes(const std::string& file) { return ReadAll(*dir_ + "/" + file); }
  static const nlohmann::json& Case(const std::string& name) {
    for (const auto& c : *cases_) {
      if (c["name"] == name) return c;
    }
    ADD_FAILURE() << "no case " << name;
    static const nlohmann::json kNone;
    return kNone;
  }

  static std::string* dir_;
  static nlohmann::json* cases_;
};
std::string* DicomCases::dir_ = nullptr;
nlohmann::json* DicomCases::cases_ = nullptr;

// Largest |a - b| over all pixels of an RGB decode (3 equal channels) and a gray reference.
// A case's "voi" (make_dicom_cases.py) as the decoder's option.
DicomVoi VoiOf(const nlohmann::json& voi) {
  DicomVoi out;
  if (voi.contains("window")) {
    out.kind = DicomVoi::Kind::kExplicit;
    out.center = voi["window"][0];
    out.width = voi["window"][1];
  } else if (voi.contains("window_number")) {
    out.kind = DicomVoi::Kind::kWindow;
    out.number = voi["window_number"];
  } else if (voi.contains("voi_lut_number")) {
    out.kind = DicomVoi::Kind::kVoiLut;
    out.number = voi["voi_lut_number"];
  } else if (voi.value("min_max", false)) {
    out.kind = DicomVoi::Kind::kMinMax;
  }
  return out;
}

int MaxDifference(const cv::Mat& rgb, const cv::Mat& gray) {
  int worst = 0;
  for (int y = 0; y < gray.rows; ++y) {
    for (int x = 0; x < gray.cols; ++x) {
      const cv::Vec3b p = rgb.at<cv::Vec3b>(y, x);
      EXPECT_TRUE(p[0] == p[1] && p[1] == p[2]) << "not gray at (" << x << ", " << y << ")";
      worst = std::max(worst, std::abs(int{p[0]} - int{gray.at<uint8_t>(y, x)}));
    }
  }
  return worst;
}

TEST_F(DicomCases, EveryEncodingMatchesPydicomWithinOneGreyLevel) {
  int checked = 0;
  std::map<std::string, int> differences;
  for (const auto& c : *cases_) {
    if (!c.contains("reference")) continue;
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    DecodeOptions options;
    if (c.contains("voi")) options.dicom_voi = VoiOf(c["voi"]);
    // Through the common entry point, as the server and every other caller decode.
    absl::StatusOr<cv::Mat> rgb = DecodeImage(Bytes(c["file"]), options);
    ASSERT_THAT(rgb, IsOk());
    const cv::Mat ref =
        cv::imread(*dir_ + "/" + c["reference"].get<std::string>(), cv::IMREAD_GRAYSCALE);
    ASSERT_FALSE(ref.empty());
    ASSERT_EQ(rgb->type(), CV_8UC3);
    ASSERT_EQ(rgb->size(), ref.size());
    const int diff = MaxDifference(*rgb, ref);
    differences[name] = diff;
    EXPECT_LE(diff, 1);
    ++checked;
  }
  EXPECT_GE(checked, 30);  // 26 encodings + 4 VOI choices
  for (const auto& [name, diff] : differences) {
    std::cout << "  max grey-level difference " << diff << "  " << name << "\n";
  }
}

TEST_F(DicomCases, BrokenAndUnsupportedFilesGetTheirMessage) {
  int checked = 0;
  for (const auto& c : *cases_) {
    if (!c.contains("error")) continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    absl::StatusOr<cv::Mat> rgb = DecodeImage(Bytes(c["file"]));
    ASSERT_THAT(rgb, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr(c["error"].get<std::string>())));
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

TEST_F(DicomCases, PixelLimitIsCheckedFromTheHeader) {
  DecodeOptions options;
  options.max_pixels = 7000;
  absl::StatusOr<cv::Mat> rgb = DecodeImage(Bytes("jpeg_lossless_mono2_u16.dcm"), options);
  ASSERT_THAT(rgb, StatusIs(absl::StatusCode::kResourceExhausted,
                            "image is 80x96 = 7680 pixels, over the limit of 7000"));
  // The same limit straight through DecodeDicom.
  EXPECT_EQ(DecodeDicom(Bytes("rle_mono2_u8.dcm"), options).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(DicomCases, HeaderGivesSizeFormatAndUids) {
  const nlohmann::json& c = Case("deflate_mono1_u12");
  const std::string bytes = Bytes(c["file"]);
  EXPECT_TRUE(LooksLikeDicom(bytes));
  absl::StatusOr<ImageHeader> image = ReadImageHeader(bytes);
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ(image->format, ImageFormat::kDicom);
  EXPECT_EQ(image->width, 80);
  EXPECT_EQ(image->height, 96);
  absl::StatusOr<DicomHeader> header = ReadDicomHeader(bytes);
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->sop_instance_uid, c["sop_instance_uid"].get<std::string>());
  EXPECT_EQ(header->study_instance_uid, c["study_instance_uid"].get<std::string>());
  EXPECT_EQ(header->transfer_syntax_uid, "1.2.840.10008.1.2.1.99");
  EXPECT_EQ(header->photometric_interpretation, "MONOCHROME1");
  EXPECT_EQ(header->modality, "CR");
}

// The server decodes on a pool: DCMTK's codecs and renderer must give every thread
// the same answer.
TEST_F(DicomCases, ConcurrentDecodesAgree) {
  const std::vector<std::string> files = {"jpeg_lossless_sv1_mono1_u12.dcm", "rle_mono2_s16.dcm",
                                          "jpegls_near_mono2_u16.dcm", "deflate_mono1_u12.dcm"};
  std::vector<std::string> bytes;
  std::vector<cv::Mat> expected;
  for (const std::string& file : files) {
    bytes.push_back(Bytes(file));
    absl::StatusOr<cv::Mat> rgb = DecodeImage(bytes.back());
    ASSERT_THAT(rgb, IsOk());
    expected.push_back(*rgb);
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const size_t k = (t + i) % files.size();
        absl::StatusOr<cv::Mat> rgb = DecodeImage(bytes[k]);
        if (!rgb.ok() || cv::norm(*rgb, expected[k], cv::NORM_INF) != 0) ++mismatches;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(DicomCases, InvalidCallerWindowIsNamed) {
  DecodeOptions options;
  options.dicom_voi = {DicomVoi::Kind::kExplicit, 1, 100, 0.5};
  absl::StatusOr<cv::Mat> rgb = DecodeImage(Bytes("mono2_u12_window.dcm"), options);
  ASSERT_FALSE(rgb.ok());
  EXPECT_EQ(rgb.status().message(), "invalid DICOM window: centre 100, width 0.5");
  options.dicom_voi.width = 0;
  rgb = DecodeImage(Bytes("mono2_u12_window.dcm"), options);
  ASSERT_FALSE(rgb.ok());
  EXPECT_EQ(rgb.status().message(),
            "DICOM VOI: window width must be positive and both finite, got centre 100, width 0");
}

TEST_F(DicomCases, WindowOrLutNumberTheFileLacksIsNamed) {
  DecodeOptions options;
  options.dicom_voi = {DicomVoi::Kind::kWindow, 3};
  absl::StatusOr<cv::Mat> rgb = DecodeImage(Bytes("mono2_u12_two_windows.dcm"), options);
  ASSERT_THAT(rgb,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "DICOM VOI: window (0028,1050-1051) number 3 asked for, the file has 2"));
  options.dicom_voi = {DicomVoi::Kind::kVoiLut, 1};
  rgb = DecodeImage(Bytes("mono2_u12_two_windows.dcm"), options);
  ASSERT_FALSE(rgb.ok());
  EXPECT_EQ(rgb.status().message(),
            "DICOM VOI: VOI LUT (0028,3010) number 1 asked for, the file has 0");
}

TEST_F(DicomCases, EveryVoiChoiceChangesTheImage) {
  // Guards the parity test above: the chosen VOI must matter on these files.
  const std::string bytes = Bytes("mono2_u12_voi_lut.dcm");
  absl::StatusOr<cv::Mat> own = DecodeImage(bytes);
  ASSERT_THAT(own, IsOk());
  DecodeOptions options;
  options.dicom_voi.kind = DicomVoi::Kind::kMinMax;
  absl::StatusOr<cv::Mat> min_max = DecodeImage(bytes, options);
  ASSERT_THAT(min_max, IsOk());
  options.dicom_voi.kind = DicomVoi::Kind::kWindow;  // the window the LUT was preferred to
  absl::StatusOr<cv::Mat> window = DecodeImage(bytes, options);
  ASSERT_THAT(window, IsOk());
  EXPECT_GT(cv::norm(*own, *min_max, cv::NORM_INF), 10);
  EXPECT_GT(cv::norm(*own, *window, cv::NORM_INF), 10);
}

TEST(DicomSniff, NeedsDicmAfterThePreamble) {
  std::string bytes(132, '\0');
  EXPECT_FALSE(LooksLikeDicom(bytes));
  bytes.replace(128, 4, "DICM");
  EXPECT_TRUE(LooksLikeDicom(bytes));
  EXPECT_FALSE(LooksLikeDicom(bytes.substr(0, 131)));
  // A preamble holding TIFF's magic is still DICOM (dual-personality files).
  bytes.replace(0, 4, std::string("II*\0", 4));
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_FALSE(header.ok());
  EXPECT_THAT(std::string(header.status().message()), HasSubstr("truncated or corrupt DICOM"));
}

TEST(DicomSniff, NotDicomIsNamed) {
  EXPECT_EQ(DecodeDicom(std::string(10, 'x')).status().message(),
            "not a DICOM Part 10 file (10 bytes, no DICM after the 128-byte preamble)");
}

}  // namespace
}  // namespace explainer::common
