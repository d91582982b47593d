// Tests of client/command_line: dash spelling of flags, help flags, usage text.
#include "client/command_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

TEST(UsageTextTest, ListsEveryCommandAndFlag) {
  const std::string all = UsageText("");
  for (const char* text :
       {"explainer infer", "explainer info", "explainer gallery", "explainer help", "--server", "--image", "--input-dir",
        "--annotations-dir", "--out", "--method", "--target-class", "--thresholds", "--heatmap",
        "--save-cam", "--image-weight", "--window", "--deadline", "--connect-timeout",
        "--max-message-mb", "Exit status"}) {
    EXPECT_THAT(all, HasSubstr(text));
  }
  EXPECT_THAT(UsageText("info"), ::testing::Not(HasSubstr("--save-cam")));
  EXPECT_THAT(CommandNames(), ElementsAre("infer", "info", "gallery", "help"));
}

}  // namespace
}  // namespace explainer::client
