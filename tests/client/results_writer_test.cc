// Tests of client/results_writer: the JSON line schema and in-order writing.
#include "client/results_writer.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/record_fixtures.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::Classes;
using ::explainer::testing::ErrorRecord;
using ::explainer::testing::IsOk;
using ::explainer::testing::ResultRecord;
using ::testing::HasSubstr;
using json = nlohmann::ordered_json;

TEST(ShortestDoubleTest, FloatsKeepTheirShortDecimal) {
  EXPECT_EQ(json(ShortestDouble(0.3f)).dump(), "0.3");
  EXPECT_EQ(json(ShortestDouble(0.1234567f)).dump(), "0.1234567");
  EXPECT_EQ(json(ShortestDouble(1.0f)).dump(), "1.0");
  EXPECT_EQ(ThresholdKey(0.5f), "0.5");
  EXPECT_EQ(ThresholdKey(0.7f), "0.7");
}

TEST(RecordToJsonTest, ResultLineHasTheDocumentedSchema) {
  ItemRecord record =
      ResultRecord("sub/IMG1.jpeg", 1, {0.1f, 0.7f, 0.2f}, {0.4f, 0.3f, 0.1f}, true);
  record.annotation_file = "/ann/IMG1.json";
  const json line = RecordToJson(record, Classes());
  const std::string expected_prefix =
      R"({"file":"sub/IMG1.jpeg","request_id":"sub/IMG1.jpeg","annotation_file":"/ann/IMG1.json",)"
      R"("predicted_class":"Benign","predicted_index":1,"confidence":0.7,)"
      R"("probabilities":{"Normal":0.1,"Benign":0.7,"Malignant":0.2},)"
      R"("explained_class":"Benign","explained_index":1,)"
      R"("annotation":{"iou":{"0.3":0.4,"0.5":0.3,"0.7":0.1},"pointing_game_hit":true,)"
      R"("energy_inside":0.25,"mask_area_fraction":0.1,"shape_count":2},)"
      R"("original_size":[640,480],)"
      R"("outputs":{"overlay":"sub/IMG1.jpeg_overlay.png","heatmap":null,"cam":null},)"
      R"("output_error":null,"error":null,"timings":{)";
  EXPECT_EQ(line.dump().substr(0, expected_prefix.size()), expected_prefix);
  EXPECT_EQ(line["timings"]["server_total_ms"], 12.5);
  EXPECT_EQ(line["timings"]["batch_size"], 4);
  EXPECT_EQ(line["timings"]["round_trip_ms"], 20.0);
}

TEST(RecordToJsonTest, ErrorLineKeepsEveryKeyAsNull) {
  const json line =
      RecordToJson(ErrorRecord("bad.png", 3, "not an image: unknown format"), Classes());
  for (const char* key :
       {"annotation_file", "predicted_class", "predicted_index", "confidence", "probabilities",
        "explained_class", "explained_index", "annotation", "original_size"}) {
    ASSERT_TRUE(line.contains(key)) << key;
    EXPECT_TRUE(line[key].is_null()) << key;
  }
  EXPECT_EQ(line["error"].dump(),
            R"({"code":3,"status":"INVALID_ARGUMENT","message":"not an image: unknown format",)"
            R"("source":"server"})");
  EXPECT_TRUE(line["outputs"]["overlay"].is_null());
}

TEST(RecordToJsonTest, ResultWithoutAnnotationHasNullReportAndSkippedExplanation) {
  ItemRecord record = ResultRecord("a.png", 0, {0.9f, 0.05f, 0.05f});
  record.result->set_explained_index(-1);
  const json line = RecordToJson(record, Classes());
  EXPECT_TRUE(line["annotation"].is_null());
  EXPECT_TRUE(line["explained_class"].is_null());
  EXPECT_EQ(line["confidence"], 0.9);
}

TEST(ResultsWriterTest, WritesLinesInItemOrder) {
  explainer::testing::TempDir dir;
  auto writer = ResultsWriter::Open(dir.Path("results.jsonl"));
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Add(2, json{{"i", 2}}), IsOk());
  ASSERT_THAT((*writer)->Add(0, json{{"i", 0}}), IsOk());
  // 0 is out, 2 waits for 1.
  EXPECT_EQ(explainer::testing::ReadAll(dir.Path("results.jsonl")), "{\"i\":0}\n");
  ASSERT_THAT((*writer)->Add(1, json{{"i", 1}}), IsOk());
  EXPECT_THAT((*writer)->Add(1, json{{"i", 1}}).message(), HasSubstr("item 1 was added twice"));
  ASSERT_THAT((*writer)->Close(), IsOk());
  EXPECT_EQ(explainer::testing::ReadAll(dir.Path("results.jsonl")),
            "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
  EXPECT_EQ((*writer)->lines_written(), 3u);
}

TEST(ResultsWriterTest, CloseReportsAGap) {
  explainer::testing::TempDir dir;
  auto writer = ResultsWriter::Open(dir.Path("results.jsonl"));
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Add(1, json{{"i", 1}}), IsOk());
  const absl::Status status = (*writer)->Close();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("item 0 never came; 1 later line(s) were not written"));
}

TEST(ResultsWriterTest, OpenFailsWithThePath) {
  auto writer = ResultsWriter::Open("/nonexistent-dir/results.jsonl");
  ASSERT_FALSE(writer.ok());
  EXPECT_THAT(writer.status().message(),
              HasSubstr("cannot write /nonexistent-dir/results.jsonl: No such file"));
}

TEST(RecordToJsonTest, ResultKeptWhenItsOutputsCouldNotBeWritten) {
  ItemRecord record = ResultRecord("a.png", 2, {0.1f, 0.2f, 0.7f});
  record.outputs = OutputFiles();
  record.output_error = "cannot write /out/a_overlay.png: Is a directory";
  const json line = RecordToJson(record, Classes());
  EXPECT_EQ(line["predicted_class"], "Malignant");
  EXPECT_EQ(line["output_error"], "cannot write /out/a_overlay.png: Is a directory");
  EXPECT_TRUE(line["error"].is_null());
  EXPECT_TRUE(line["outputs"]["overlay"].is_null());
}

TEST(ResultsWriterTest, InvalidUtf8IsEscapedNotFatal) {
  explainer::testing::TempDir dir;
  auto writer = ResultsWriter::Open(dir.Path("r.jsonl"));
  ASSERT_THAT(writer, IsOk());
  ItemRecord record = ResultRecord(std::string("sub/b\xff\xfe.png"), 0, {0.8f, 0.1f, 0.1f});
  record.request_id = "1:sub/b\\xff\\xfe.png";
  ASSERT_THAT((*writer)->Add(0, RecordToJson(record, Classes())), IsOk());
  ASSERT_THAT((*writer)->Close(), IsOk());
  const json line = json::parse(explainer::testing::ReadAll(dir.Path("r.jsonl")));
  // The bytes are kept, readable, as \xff: not dropped or replaced by U+FFFD.
  EXPECT_EQ(line["file"], "sub/b\\xff\\xfe.png");
  EXPECT_EQ(line["outputs"]["overlay"], "sub/b\\xff\\xfe.png_overlay.png");
  EXPECT_EQ(line["predicted_class"], "Normal");
}

}  // namespace
}  // namespace explainer::client
