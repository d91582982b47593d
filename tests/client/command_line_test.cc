// Tests of client/command_line: dash spelling of flags, help flags, usage text.
#include "client/command_line.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Flags of this test binary, standing in for main.cc's.
ABSL_FLAG(int, test_window, 16, "a number");
ABSL_FLAG(bool, test_heatmap, false, "a switch");
ABSL_FLAG(std::string, test_out, "", "a string");

namespace explainer::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(NormalizeFlagSpellingTest, RewritesNamesNotValues) {
  const std::vector<std::string> args = {"explainer",
                                         "infer",
                                         "--input-dir=/data/my-images",
                                         "--save-cam",
                                         "-annotations-dir",
                                         "/x/my-ann",
                                         "--target-class",
                                         "-1",
                                         "--",
                                         "--not-a-flag"};
  EXPECT_THAT(
      NormalizeFlagSpelling(args),
      ElementsAre("explainer", "infer", "--input_dir=/data/my-images", "--save_cam",
                  "-annotations_dir", "/x/my-ann", "--target_class", "-1", "--", "--not-a-flag"));
}

TEST(RemoveHelpFlagsTest, FindsAndRemovesHelpFlags) {
  std::vector<std::string> args = {"explainer", "infer", "--help", "--out=x"};
  EXPECT_TRUE(RemoveHelpFlags(args));
  EXPECT_THAT(args, ElementsAre("explainer", "infer", "--out=x"));

  std::vector<std::string> plain = {"explainer", "info", "--server=a:1"};
  EXPECT_FALSE(RemoveHelpFlags(plain));
  EXPECT_EQ(plain.size(), 3u);

  std::vector<std::string> after_end = {"explainer", "--", "-h"};
  EXPECT_FALSE(RemoveHelpFlags(after_end));
}

TEST(CheckFlagsTest, AcceptsKnownFlagsInEveryForm) {
  EXPECT_TRUE(
      CheckFlags({"explainer", "infer", "--test_window=4", "--test_heatmap", "--notest_heatmap",
                  "-test_out", "x", "--test_window", "8", "--", "--whatever"})
          .ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_window), 8);
}

TEST(CheckFlagsTest, NamesUnknownFlagsAndBadValuesInDashSpelling) {
  EXPECT_EQ(CheckFlags({"explainer", "--test_windw=4"}).message(), "--test-windw: unknown flag");
  EXPECT_THAT(std::string(CheckFlags({"explainer", "--test_window=abc"}).message()),
              HasSubstr("--test-window: bad value 'abc' ("));
  EXPECT_THAT(CheckFlags({"explainer", "--test_out"}).message(), "--test-out: missing value");
  EXPECT_THAT(CheckFlags({"explainer", "--nofoo"}).message(), "--nofoo: unknown flag");
}

TEST(UsageTextTest, ListsEveryCommandAndFlag) {
  const std::string all = UsageText("");
  for (const char* text :
       {"explainer infer", "explainer info",    "explainer gallery", "explainer help",
        "--server",        "--image",           "--input-dir",       "--annotations-dir",
        "--out",           "--method",          "--target-class",    "--thresholds",
        "--heatmap",       "--save-cam",        "--image-weight",    "--window",
        "--deadline",      "--connect-timeout", "--max-message-mb",  "Exit status"}) {
    EXPECT_THAT(all, HasSubstr(text));
  }
  EXPECT_THAT(UsageText("info"), ::testing::Not(HasSubstr("--save-cam")));
  EXPECT_THAT(CommandNames(), ElementsAre("infer", "info", "gallery", "bench", "help"));
}

}  // namespace
}  // namespace explainer::client
