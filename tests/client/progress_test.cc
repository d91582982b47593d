// Tests of client/progress: the bar's text and that it stays silent when disabled.
#include "client/progress.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"

namespace explainer::client {
namespace {

using ::testing::HasSubstr;

TEST(FormatProgressLineTest, ShowsCountRateAndEta) {
  const std::string line = FormatProgressLine(30, 120, 2, absl::Seconds(10), 20);
  EXPECT_THAT(line, HasSubstr("[#####...............]"));
  EXPECT_THAT(line, HasSubstr(" 30/120  25%"));
  EXPECT_THAT(line, HasSubstr("3.0 img/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:30"));
  EXPECT_THAT(line, HasSubstr("2 errors"));
}

TEST(FormatProgressLineTest, StartAndEnd) {
  EXPECT_THAT(FormatProgressLine(0, 5, 0, absl::ZeroDuration(), 10), HasSubstr("-- img/s  ETA --"));
  const std::string done = FormatProgressLine(5, 5, 1, absl::Seconds(3725), 10);
  EXPECT_THAT(done, HasSubstr("[##########]"));
  EXPECT_THAT(done, HasSubstr("in 1:02:05"));
  EXPECT_THAT(done, HasSubstr("1 error"));
}

TEST(ProgressBarTest, WritesNothingWhenDisabled) {
  explainer::testing::TempDir dir;
  const std::string path = dir.Path("err.txt");
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  ProgressBar bar(file, /*enabled=*/false, 3, "");
  bar.Update(1, 0);
  bar.Update(3, 0);
  bar.Finish();
  std::fclose(file);
  EXPECT_EQ(explainer::testing::ReadAll(path), "");
}

TEST(ProgressBarTest, DrawsTheLastStateWhenEnabled) {
  explainer::testing::TempDir dir;
  const std::string path = dir.Path("err.txt");
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  ProgressBar bar(file, /*enabled=*/true, 2, "infer ");
  bar.Update(2, 1);
  bar.Finish();
  std::fclose(file);
  const std::string text = explainer::testing::ReadAll(path);
  EXPECT_THAT(text, HasSubstr("\rinfer ["));
  EXPECT_THAT(text, HasSubstr("2/2 100%"));
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace explainer::client
