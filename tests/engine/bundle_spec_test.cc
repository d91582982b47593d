// ParseBundleSpec: explainer.json fields and the message for each bad one.
#include "service/engine/bundle_spec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/status_matchers.h"

namespace explainer::engine {
namespace {

using ::explainer::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

nlohmann::json GoodSpec() {
  return nlohmann::json::parse(R"({
    "bundle_format": 1, "name": "effnet", "version": "3",
    "class_names": ["Normal", "Benign", "Malignant"],
    "input_size": {"height": 224, "width": 192},
    "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
    "target_layer": "features", "arch": "efficientnet_b0"})");
}

std::string ErrorOf(const nlohmann::json& spec) {
  return std::string(ParseBundleSpec(spec.dump(), "m.pt").status().message());
}

TEST(BundleSpecTest, ParsesEveryField) {
  absl::StatusOr<ModelSpec> spec = ParseBundleSpec(GoodSpec().dump(), "m.pt");
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->name, "effnet");
  EXPECT_EQ(spec->version, "3");
  EXPECT_THAT(spec->class_names, ElementsAre("Normal", "Benign", "Malignant"));
  EXPECT_EQ(spec->input_size, cv::Size(192, 224));
  EXPECT_THAT(spec->normalization.mean, ElementsAre(FloatEq(0.5f), FloatEq(0.4f), FloatEq(0.3f)));
  EXPECT_THAT(spec->normalization.std, ElementsAre(FloatEq(0.2f), FloatEq(0.25f), FloatEq(0.3f)));
  EXPECT_EQ(spec->target_layer, "features");
}

TEST(BundleSpecTest, InputSizeMayBeAHeightWidthList) {
  nlohmann::json json = GoodSpec();
  json["input_size"] = {224, 192};
  json.erase("bundle_format");  // absent means format 1
  absl::StatusOr<ModelSpec> spec = ParseBundleSpec(json.dump(), "m.pt");
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->input_size, cv::Size(192, 224));
}

TEST(BundleSpecTest, EachMissingFieldIsNamed) {
  for (const char* field :
       {"name", "version", "class_names", "input_size", "mean", "std", "target_layer"}) {
    nlohmann::json json = GoodSpec();
    json.erase(field);
    EXPECT_THAT(
        ErrorOf(json),
        HasSubstr(std::string("bundle m.pt: explainer.json: missing field '") + field + "'"));
  }
}

TEST(BundleSpecTest, BadFieldsAreNamed) {
  struct Case {
    const char* field;
    nlohmann::json value;
    const char* message;
  };
  const Case cases[] = {
      {"name", "", "field 'name' must be a non-empty string"},
      {"version", 3, "field 'version' must be a non-empty string"},
      {"class_names", nlohmann::json::array(), "field 'class_names' must be a non-empty list"},
      {"class_names", {"A", 1}, "non-empty list of non-empty strings"},
      {"class_names", {"A", "B", "A"}, "field 'class_names' names 'A' twice"},
      {"input_size", {{"height", 0}, {"width", 10}}, "field 'input_size' must be"},
      {"input_size", {224.5, 224}, "field 'input_size' must be"},
      {"input_size", {1, 2, 3}, "field 'input_size' must be"},
      {"input_size", {100000, 10}, "integers in 1..16384"},
      {"mean", {0.5, 0.5}, "field 'mean' must be a list of 3 numbers"},
      {"mean", {0.5, "x", 0.5}, "field 'mean' must be a list of 3 finite numbers"},
      {"std", {0.2, 0.0, 0.2}, "field 'std' must be positive"},
      {"bundle_format", 2, "unsupported bundle_format 2 (this engine reads 1)"},
  };
  for (const Case& c : cases) {
    nlohmann::json json = GoodSpec();
    json[c.field] = c.value;
    EXPECT_THAT(ErrorOf(json), HasSubstr(c.message)) << c.field << " = " << c.value.dump();
  }
}

TEST(BundleSpecTest, NotJsonOrNotAnObject) {
  absl::Status status = ParseBundleSpec("{\"name\": ", "m.pt").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bundle m.pt: explainer.json is not valid JSON"));
  status = ParseBundleSpec("[1, 2]", "m.pt").status();
  EXPECT_THAT(status.message(), HasSubstr("explainer.json: is not a JSON object"));
}

}  // namespace
}  // namespace explainer::engine
