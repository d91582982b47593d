// Tests of client/summary: counts, means and the printed text.
#include "client/summary.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/record_fixtures.h"

namespace explainer::client {
namespace {

using ::explainer::testing::Classes;
using ::explainer::testing::ErrorRecord;
using ::explainer::testing::ResultRecord;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SummaryTest, AggregatesClassesErrorsIouAndPointingGame) {
  Summary summary(Classes());
  summary.Add(ResultRecord("a.png", 0, {0.8f, 0.1f, 0.1f}), true);
  summary.Add(ResultRecord("b.png", 1, {0.2f, 0.7f, 0.1f}, {0.6f, 0.4f, 0.2f}, true), true);
  summary.Add(ResultRecord("c.png", 2, {0.1f, 0.2f, 0.7f}, {0.2f, 0.1f, 0.0f}, false), true);
  summary.Add(ResultRecord("d.png", 1, {0.1f, 0.8f, 0.1f}, {0.4f, 0.4f, 0.4f}, true), true);
  summary.Add(ErrorRecord("e.png", 3, "image: empty"), true);
  summary.Add(ErrorRecord("f.png", 13, "cannot read f.png: Permission denied", "client"), false);

  const SummaryFigures f = summary.Figures();
  EXPECT_EQ(f.images, 6);
  EXPECT_EQ(f.answered, 5);
  EXPECT_EQ(f.succeeded, 4);
  EXPECT_EQ(f.server_errors, 1);
  EXPECT_EQ(f.client_errors, 1);
  EXPECT_THAT(f.class_counts, ElementsAre(1, 2, 1));
  EXPECT_EQ(f.annotated, 3);
  EXPECT_EQ(f.pointing_hits, 2);
  ASSERT_EQ(f.mean_iou.size(), 3u);
  EXPECT_THAT(f.mean_iou.at(0.3f), DoubleNear(0.4, 1e-6));
  EXPECT_THAT(f.mean_iou.at(0.5f), DoubleNear(0.3, 1e-6));
  EXPECT_THAT(f.mean_iou.at(0.7f), DoubleNear(0.2, 1e-6));
  EXPECT_EQ(f.overlays, 4);

  const std::string text = summary.Format(absl::Seconds(2), "/tmp/out", "/tmp/out/results.jsonl");
  EXPECT_THAT(text, HasSubstr("images:     6 (5 answered by the server)"));
  EXPECT_THAT(text, HasSubstr("succeeded:  4"));
  EXPECT_THAT(text, HasSubstr("errors:     2 (1 from the server, 1 found by the client)"));
  EXPECT_THAT(text, HasSubstr("  e.png: INVALID_ARGUMENT: image: empty\n"));
  EXPECT_THAT(text, HasSubstr("  f.png: INTERNAL: cannot read f.png: Permission denied\n"));
  EXPECT_THAT(text, HasSubstr("predicted:  Normal 1, Benign 2, Malignant 1"));
  EXPECT_THAT(text, HasSubstr("annotated:  3 images; mean IoU @0.3 0.400  @0.5 0.300  @0.7 0.200"));
  EXPECT_THAT(text, HasSubstr("pointing:   2/3 hits (66.7%)"));
  EXPECT_THAT(text, HasSubstr("time:       2.00 s, 3.00 images/s"));
  EXPECT_THAT(text, HasSubstr("outputs:    /tmp/out (4 *_overlay.png)"));
  EXPECT_THAT(text, HasSubstr("results:    /tmp/out/results.jsonl"));
}

TEST(SummaryTest, ShowsTheFirstFewErrorsOnly) {
  Summary summary(Classes());
  for (int i = 0; i < 8; ++i) {
    summary.Add(ErrorRecord("bad" + std::to_string(i) + ".png", 3, "broken"), true);
  }
  EXPECT_EQ(summary.first_errors().size(), static_cast<size_t>(Summary::kErrorsShown));
  const std::string text = summary.Format(absl::Seconds(1), "o", "o/results.jsonl");
  EXPECT_THAT(text, HasSubstr("bad4.png: INVALID_ARGUMENT: broken"));
  EXPECT_THAT(text, Not(HasSubstr("bad5.png")));
  EXPECT_THAT(text, HasSubstr("... and 3 more (see results.jsonl)"));
  EXPECT_THAT(text, HasSubstr("predicted:  Normal 0, Benign 0, Malignant 0"));
  EXPECT_THAT(text, HasSubstr("annotated:  none"));
}

}  // namespace
}  // namespace explainer::client
