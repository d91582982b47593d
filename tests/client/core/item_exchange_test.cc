// Tests of client/core/item_exchange.h: what one image's request holds, and the
// record made of each kind of answer.
#include "client/core/item_exchange.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::TempDir;
using ::testing::HasSubstr;

ImageItem Item(const TempDir& dir) {
  ImageItem item;
  item.path = dir.Write("a.png", "image-bytes");
  item.relative_path = "a.png";
  item.request_id = "a.png";
  item.annotation_path = dir.Write("a.json", "{}");
  item.output_stem = "a";
  return item;
}

TEST(BuildItemRequestTest, CarriesIdImageOptionsAndTheAnnotationWhenExplaining) {
  TempDir dir;
  explainer::v1::ExplainOptions options;
  options.add_iou_thresholds(0.5f);
  absl::StatusOr<explainer::v1::ExplainRequest> request =
      BuildItemRequest(Item(dir), options, 1 << 20);
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->request_id(), "a.png");
  EXPECT_EQ(request->image(), "image-bytes");
  EXPECT_EQ(request->annotation_json(), "{}");
  EXPECT_EQ(request->options().iou_thresholds_size(), 1);

  options.set_skip_explanation(true);  // a prediction needs no annotation
  request = BuildItemRequest(Item(dir), options, 1 << 20);
  ASSERT_THAT(request, IsOk());
  EXPECT_TRUE(request->annotation_json().empty());
}

TEST(BuildItemRequestTest, SkippedOrUnreadableItemsAreNotBuilt) {
  TempDir dir;
  ImageItem skipped = Item(dir);
  skipped.skip = absl::InvalidArgumentError("not sent: a.png is a FIFO, not a regular file");
  EXPECT_EQ(BuildItemRequest(skipped, {}, 1 << 20).status(), skipped.skip);

  ImageItem missing = Item(dir);
  missing.path = dir.Path("gone.png");
  const absl::Status status = BuildItemRequest(missing, {}, 1 << 20).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("gone.png"));
}

TEST(RecordAnswerTest, ResultServerErrorClientErrorAndEmptyAnswer) {
  TempDir dir;
  const ImageItem item = Item(dir);
  StreamAnswer answer;
  answer.response = explainer::v1::ExplainResponse();
  answer.response->set_request_id("a.png");
  answer.response->mutable_result()->set_predicted_index(2);
  answer.response->mutable_result()->set_overlay_png("png");
  answer.round_trip = absl::Milliseconds(5);
  ItemRecord record = RecordAnswer(item, answer);
  ASSERT_TRUE(record.result.has_value());
  EXPECT_FALSE(record.error.has_value());
  EXPECT_EQ(record.result->predicted_index(), 2);
  EXPECT_EQ(record.result->overlay_png(), "png");  // whole: the command decides
  EXPECT_EQ(record.file, "a.png");
  EXPECT_EQ(record.annotation_file, item.annotation_path);
  EXPECT_EQ(record.round_trip, absl::Milliseconds(5));

  answer.response = explainer::v1::ExplainResponse();
  answer.response->mutable_error()->set_code(3);
  answer.response->mutable_error()->set_message("cannot decode");
  record = RecordAnswer(item, answer);
  ASSERT_TRUE(record.error.has_value());
  EXPECT_EQ(record.error->source, "server");
  EXPECT_EQ(ItemErrorText(*record.error), "INVALID_ARGUMENT: cannot decode");

  answer.response = absl::UnavailableError("no answer: the stream ended");
  record = RecordAnswer(item, answer);
  ASSERT_TRUE(record.error.has_value());
  EXPECT_EQ(record.error->source, "client");
  EXPECT_EQ(ItemErrorText(*record.error), "no answer: the stream ended");

  answer.response = explainer::v1::ExplainResponse();
  record = RecordAnswer(item, answer);
  ASSERT_TRUE(record.error.has_value());
  EXPECT_THAT(record.error->message, HasSubstr("neither a result nor an error"));
  EXPECT_FALSE(record.result.has_value());
}

}  // namespace
}  // namespace explainer::client
