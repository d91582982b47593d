// --dicom-voi: every accepted form becomes the wire's DicomVoi; every bad one is named.
#include "client/dicom_voi_flag.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using explainer::v1::DicomVoi;
using ::testing::HasSubstr;

TEST(DicomVoiFlagTest, AcceptedForms) {
  absl::StatusOr<DicomVoi> voi = ParseDicomVoiFlag("");
  ASSERT_THAT(voi, IsOk());
  EXPECT_EQ(voi->choice_case(), DicomVoi::CHOICE_NOT_SET);
  voi = ParseDicomVoiFlag("File");
  ASSERT_THAT(voi, IsOk());
  EXPECT_EQ(voi->choice_case(), DicomVoi::CHOICE_NOT_SET);
  voi = ParseDicomVoiFlag("minmax");
  ASSERT_THAT(voi, IsOk());
  EXPECT_TRUE(voi->min_max());
  voi = ParseDicomVoiFlag("window:2");
  ASSERT_THAT(voi, IsOk());
  EXPECT_EQ(voi->window_number(), 2u);
  voi = ParseDicomVoiFlag("lut:1");
  ASSERT_THAT(voi, IsOk());
  EXPECT_EQ(voi->voi_lut_number(), 1u);
  voi = ParseDicomVoiFlag("-200.5,1000");
  ASSERT_THAT(voi, IsOk());
  EXPECT_EQ(voi->window().center(), -200.5);
  EXPECT_EQ(voi->window().width(), 1000);
}

TEST(DicomVoiFlagTest, BadFormsAreNamed) {
  for (const char* bad : {"window:0", "window:", "lut:x", "1500", "1500,0", "1500,-3", "nan,10",
                          "1,2,3", "gamma"}) {
    absl::StatusOr<DicomVoi> voi = ParseDicomVoiFlag(bad);
    ASSERT_FALSE(voi.ok()) << bad;
    EXPECT_EQ(voi.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(voi.status().message(),
                HasSubstr(std::string("--dicom-voi: \"") + bad + "\" is not a VOI choice"));
  }
}

}  // namespace
}  // namespace explainer::client
