// ParseLabelMe: labelme 5.x files, optional fields, and every rejected input.
#include "common/labelme.h"

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadFileOrFail;
using ::explainer::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// A labelme 5.4 file as the tool writes it (Windows line endings, "mask": null).
constexpr char kFile[] =
    "{\r\n  \"version\": \"5.4.1\",\r\n  \"flags\": {},\r\n  \"shapes\": [\r\n"
    "    {\"label\": \"tumor\", \"points\": [[1.5, 2.25], [10, 2], [6, 9.75]],\r\n"
    "     \"group_id\": 3, \"description\": \"lytic\", \"shape_type\": \"polygon\",\r\n"
    "     \"flags\": {}, \"mask\": null},\r\n"
    "    {\"label\": \"box\", \"points\": [[0, 0], [4, 5]], \"group_id\": null,\r\n"
    "     \"description\": null, \"shape_type\": \"rectangle\", \"flags\": null}\r\n"
    "  ],\r\n  \"imagePath\": \"IMG1.jpeg\",\r\n  \"imageData\": \"aGVsbG8=\",\r\n"
    "  \"imageHeight\": 20,\r\n  \"imageWidth\": 30\r\n}\r\n";

TEST(ParseLabelMeTest, ReadsEveryField) {
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(kFile);
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->version, "5.4.1");
  EXPECT_EQ(a->image_path, "IMG1.jpeg");
  EXPECT_EQ(a->image_height, 20);
  EXPECT_EQ(a->image_width, 30);
  ASSERT_EQ(a->shapes.size(), 2u);
  const LabelMeShape& polygon = a->shapes[0];
  EXPECT_EQ(polygon.label, "tumor");
  EXPECT_EQ(polygon.shape_type, "polygon");
  EXPECT_EQ(polygon.group_id, 3);
  EXPECT_EQ(polygon.description, "lytic");
  ASSERT_EQ(polygon.points.size(), 3u);
  EXPECT_EQ(polygon.points[0], cv::Point2d(1.5, 2.25));
  EXPECT_EQ(polygon.points[2], cv::Point2d(6, 9.75));
  const LabelMeShape& box = a->shapes[1];
  EXPECT_EQ(box.shape_type, "rectangle");
  EXPECT_FALSE(box.group_id.has_value());
  EXPECT_EQ(box.description, "");
}

TEST(ParseLabelMeTest, MissingOrNullShapeTypeIsPolygonAndSizeIsOptional) {
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(
      R"({"shapes": [{"label": "a", "points": [[0,0],[1,0],[0,1]]},
                     {"label": "b", "points": [[0,0],[1,0],[0,1]], "shape_type": null}],
          "imageHeight": null})");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->shapes[0].shape_type, "polygon");
  EXPECT_EQ(a->shapes[1].shape_type, "polygon");
  EXPECT_EQ(a->image_height, 0);
  EXPECT_EQ(a->image_width, 0);
  EXPECT_EQ(a->version, "");
}

TEST(ParseLabelMeTest, AcceptsEveryShapeTypeWithItsPointCount) {
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(R"({"shapes": [
      {"label": "p", "shape_type": "polygon", "points": [[0,0],[1,0],[0,1]]},
      {"label": "r", "shape_type": "rectangle", "points": [[0,0],[1,1]]},
      {"label": "c", "shape_type": "circle", "points": [[0,0],[1,1]]},
      {"label": "l", "shape_type": "line", "points": [[0,0],[1,1]]},
      {"label": "s", "shape_type": "linestrip", "points": [[0,0],[1,1],[2,0]]},
      {"label": "t", "shape_type": "point", "points": [[0,0]]},
      {"label": "o", "shape_type": "oriented_rectangle", "points": [[0,0],[1,0],[1,1],[0,1]]}
    ]})");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->shapes.size(), 7u);
}

TEST(ParseLabelMeTest, ParsesEveryCommittedCaseFile) {
  for (const char* name : {"masks/cases.json", "masks/random.json"}) {
    const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(ReadFileOrFail(CommonData(name)));
    ASSERT_THAT(a, IsOk()) << name;
    EXPECT_GT(a->shapes.size(), 30u);
  }
}

struct BadJson {
  const char* json;
  const char* message;
};

void PrintTo(const BadJson& c, std::ostream* os) { *os << c.json; }

class BadLabelMeTest : public ::testing::TestWithParam<BadJson> {};

TEST_P(BadLabelMeTest, NamesTheProblem) {
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(GetParam().json);
  ASSERT_FALSE(a.ok()) << GetParam().json;
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr(GetParam().message));
}

#define POLY R"("points": [[0,0],[1,0],[0,1]])"

INSTANTIATE_TEST_SUITE_P(
    Inputs, BadLabelMeTest,
    ::testing::Values(
        BadJson{"", "LabelMe JSON is malformed: "},
        BadJson{R"({"shapes": [)", "LabelMe JSON is malformed: parse error at line 1"},
        BadJson{R"({"shapes": [{"label": "a", "points": [[NaN, 1]]}]})",
                "LabelMe JSON is malformed: "},
        BadJson{R"({"shapes": [{"label": "a", "points": [[1e999, 1],[0,0],[1,1]]}]})",
                "LabelMe JSON has a non-finite number: number overflow parsing '1e999'"},
        BadJson{R"([1, 2])", "LabelMe JSON must be an object, got array"},
        BadJson{R"({"version": "5"})", "shapes: missing"},
        BadJson{R"({"shapes": {}})", "shapes: expected an array, got object"},
        BadJson{R"({"shapes": [7]})", "shapes[0]: expected an object, got number"},
        BadJson{R"({"shapes": [{)" POLY R"(}]})", "shapes[0].label: missing"},
        BadJson{R"({"shapes": [{"label": 5, )" POLY R"(}]})",
                "shapes[0].label: expected a string, got number"},
        BadJson{R"({"shapes": [{"label": "a"}]})", "shapes[0].points: missing"},
        BadJson{R"({"shapes": [{"label": "a", "points": "x"}]})",
                "shapes[0].points: expected an array of [x, y], got string"},
        BadJson{R"({"shapes": [{"label": "a", "points": [[0,0],[1,0],[2]]}]})",
                "shapes[0].points[2]: expected [x, y] with two numbers, got [2]"},
        BadJson{R"({"shapes": [{"label": "a", "points": [[0,0],["1",0],[2,2]]}]})",
                "shapes[0].points[1]: expected [x, y] with two numbers"},
        BadJson{R"({"shapes": [{"label": "a", )" POLY R"(}, {"label": "b",
                    "points": [[0,0],[1,1]]}]})",
                "shapes[1].points: a polygon needs at least 3 points, got 2"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "rectangle", )" POLY R"(}]})",
                "shapes[0].points: a rectangle needs exactly 2 points, got 3"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "circle", "points": [[0,0]]}]})",
                "shapes[0].points: a circle needs exactly 2 points, got 1"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "line", )" POLY R"(}]})",
                "shapes[0].points: a line needs exactly 2 points, got 3"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "linestrip", "points": [[0,0]]}]})",
                "shapes[0].points: a linestrip needs at least 2 points, got 1"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "point", "points": []}]})",
                "shapes[0].points: a point needs exactly 1 point, got 0"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "oriented_rectangle", )" POLY R"(}]})",
                "shapes[0].points: an oriented_rectangle needs exactly 4 points, got 3"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "mask", "points": [[0,0],[9,9]],
                    "mask": "iVBORw0KGgo="}]})",
                "shapes[0].shape_type: shape type \"mask\" (a bitmap mask) is not supported"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": "spline", )" POLY R"(}]})",
                "shapes[0].shape_type: unknown shape type \"spline\" (expected polygon, "
                "rectangle, circle, line, linestrip, point or oriented_rectangle)"},
        BadJson{R"({"shapes": [{"label": "a", "shape_type": 3, )" POLY R"(}]})",
                "shapes[0].shape_type: expected a string or null, got number"},
        BadJson{R"({"shapes": [{"label": "a", "group_id": "g", )" POLY R"(}]})",
                "shapes[0].group_id: expected an integer or null, got \"g\""},
        BadJson{R"({"shapes": [{"label": "a", "group_id": 1.5, )" POLY R"(}]})",
                "shapes[0].group_id: expected an integer or null, got 1.5"},
        BadJson{R"({"shapes": [{"label": "a", "description": [], )" POLY R"(}]})",
                "shapes[0].description: expected a string or null, got array"},
        BadJson{R"({"shapes": [{"label": "a", "flags": 1, )" POLY R"(}]})",
                "shapes[0].flags: expected an object or null, got number"},
        BadJson{R"({"shapes": [], "imageHeight": -4})",
                "imageHeight: expected a positive integer, got -4"},
        BadJson{R"({"shapes": [], "imageWidth": 12.5})",
                "imageWidth: expected a positive integer, got 12.5"},
        BadJson{R"({"shapes": [], "imageWidth": 0})",
                "imageWidth: expected a positive integer, got 0"},
        BadJson{R"({"shapes": [], "imagePath": 1})",
                "imagePath: expected a string or null, got number"},
        BadJson{R"({"shapes": [], "version": false})",
                "version: expected a string or null, got boolean"},
        BadJson{R"({"shapes": [], "flags": "x"})",
                "flags: expected an object or null, got string"}));

#undef POLY

// `levels` nested arrays around a 1: "[[[...[1]...]]]".
std::string Nested(int levels) { return std::string(levels, '[') + "1" + std::string(levels, ']'); }

// 100,000 levels used to crash the server: building the error message dumped the
// value recursively and overflowed the stack. Now the parser stops at the bound.
TEST(ParseLabelMeTest, DeepNestingIsRefusedWhereverItIs) {
  const std::string deep = Nested(100000);
  const std::string files[] = {
      absl::StrCat(R"({"shapes": [{"label": "a", "points": )", deep, "}]}"),
      absl::StrCat(R"({"shapes": [], "imageHeight": )", deep, "}"),
      absl::StrCat(R"({"shapes": [{"label": "a", "points": [[0,0],[1,0],[0,1]], "group_id": )",
                   deep, "}]}"),
  };
  const char* where[] = {"(at shapes[0].points[0][0]", "(at imageHeight[0][0]",
                         "(at shapes[0].group_id[0][0]"};
  for (int i = 0; i < 3; ++i) {
    const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(files[i]);
    ASSERT_FALSE(a.ok()) << i;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(a.status().message()),
                HasSubstr("LabelMe JSON is nested deeper than 32 levels"));
    EXPECT_THAT(std::string(a.status().message()), HasSubstr(where[i]));
  }
}

TEST(ParseLabelMeTest, NestingUpToTheBoundIsOnlyATypeError) {
  // 32 levels in all: the root object, imageHeight's 31 arrays.
  const absl::StatusOr<LabelMeAnnotation> a =
      ParseLabelMe(absl::StrCat(R"({"shapes": [], "imageHeight": )", Nested(31), "}"));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(std::string(a.status().message()),
            "imageHeight: expected a positive integer, got an array");
  const absl::StatusOr<LabelMeAnnotation> b =
      ParseLabelMe(absl::StrCat(R"({"shapes": [], "imageHeight": )", Nested(32), "}"));
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(std::string(b.status().message()), HasSubstr("nested deeper than 32 levels"));
}

TEST(ParseLabelMeTest, BadValuesAreDescribedBriefly) {
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(
      R"({"shapes": [{"label": "a", "points": [[0,0],[1,0],[[1,2],{"x":1},3,4,5]]}]})");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(
      std::string(a.status().message()),
      "shapes[0].points[2]: expected [x, y] with two numbers, got [an array, an object, 3, ...]");
  const absl::StatusOr<LabelMeAnnotation> b = ParseLabelMe(
      absl::StrCat(R"({"shapes": [{"label": "a", "points": [[0,0],[1,0],[0,1]], "group_id": ")",
                   std::string(1000, 'g'), R"("}]})"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(std::string(b.status().message()),
            "shapes[0].group_id: expected an integer or null, got \"gggggggggggggggggggggggg...\"");
}

// Invalid UTF-8 used to be echoed raw into the message (a proto3 string field).
TEST(ParseLabelMeTest, InvalidUtf8InALabelNamesTheFieldAndByte) {
  const std::string json =
      "{\"shapes\": [{\"label\": \"tum\xffor\", \"points\": [[0,0],[1,0],[0,1]]}]}";
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(json);
  ASSERT_THAT(a, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("shapes[0].label: invalid UTF-8 (byte \\xff at offset 26)")));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("\\xff"));
  EXPECT_TRUE(IsValidUtf8(std::string(a.status().message()))) << std::string(a.status().message());
}

TEST(ParseLabelMeTest, EveryIllFormedUtf8FormIsRefused) {
  // Overlong NUL, a UTF-16 surrogate, above U+10FFFF, a lone continuation byte.
  for (const char* bad : {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"}) {
    const absl::StatusOr<LabelMeAnnotation> a =
        ParseLabelMe(absl::StrCat(R"({"shapes": [], "version": ")", bad, R"("})"));
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_THAT(std::string(a.status().message()), HasSubstr("version: invalid UTF-8 (byte \\x"));
    EXPECT_TRUE(IsValidUtf8(std::string(a.status().message())))
        << std::string(a.status().message());
  }
  // Escapes cannot smuggle a lone surrogate in either.
  const absl::StatusOr<LabelMeAnnotation> a =
      ParseLabelMe(R"({"shapes": [{"label": "\ud800", "points": [[0,0],[1,0],[0,1]]}]})");
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("(in shapes[0].label)"));
  // Valid multi-byte labels are kept as they are.
  const absl::StatusOr<LabelMeAnnotation> b = ParseLabelMe(
      "{\"shapes\": [{\"label\": \"t\xc3\xbcm\xf0\x9f\xa6\xb4\", \"points\": "
      "[[0,0],[1,0],[0,1]]}]}");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->shapes[0].label, "t\xc3\xbcm\xf0\x9f\xa6\xb4");
}

TEST(ParseLabelMeTest, StrayBytesOutsideStringsAreEscaped) {
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe("{\"shapes\": [\xfe\xff]}");
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("LabelMe JSON is malformed: "));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("\\xfe"));
  EXPECT_TRUE(IsValidUtf8(std::string(a.status().message()))) << std::string(a.status().message());
}

// A polygon with `n` points, as JSON text.
std::string PolygonJson(int shapes, int points_per_shape) {
  std::string json = R"({"shapes": [)";
  for (int s = 0; s < shapes; ++s) {
    absl::StrAppend(&json, s == 0 ? "" : ",", R"({"label": "a", "points": [)");
    for (int i = 0; i < points_per_shape; ++i) {
      absl::StrAppend(&json, i == 0 ? "" : ",", "[", i % 7, ",", i % 5, "]");
    }
    absl::StrAppend(&json, "]}");
  }
  return json + "]}";
}

TEST(ParseLabelMeTest, LimitsAreResourceExhaustedNamingValueLimitAndFlag) {
  AnnotationLimits limits;
  limits.max_points = 1000;
  limits.max_shapes = 10;
  const absl::StatusOr<LabelMeAnnotation> points = ParseLabelMe(PolygonJson(2, 600), limits);
  ASSERT_THAT(points, StatusIs(absl::StatusCode::kResourceExhausted,
                               "1200 points, over the limit of 1000 (--max_annotation_points)"));
  EXPECT_THAT(ParseLabelMe(PolygonJson(2, 500), limits), IsOk());

  const absl::StatusOr<LabelMeAnnotation> shapes = ParseLabelMe(PolygonJson(12, 3), limits);
  ASSERT_THAT(shapes, StatusIs(absl::StatusCode::kResourceExhausted,
                               "12 shapes, over the limit of 10 (--max_annotation_shapes)"));
  EXPECT_THAT(ParseLabelMe(PolygonJson(10, 3), limits), IsOk());

  const std::string text = PolygonJson(1, 3);
  limits.max_bytes = static_cast<int64_t>(text.size()) - 1;
  const absl::StatusOr<LabelMeAnnotation> bytes = ParseLabelMe(text, limits);
  ASSERT_THAT(bytes, StatusIs(absl::StatusCode::kResourceExhausted,
                              absl::StrCat(text.size(), " bytes, over the limit of ",
                                           text.size() - 1, " (--max_annotation_bytes)")));
  limits.max_bytes = static_cast<int64_t>(text.size());
  EXPECT_THAT(ParseLabelMe(text, limits), IsOk());
}

TEST(ParseLabelMeTest, DefaultLimits) {
  const AnnotationLimits limits;
  EXPECT_EQ(limits.max_bytes, 16 << 20);
  EXPECT_EQ(limits.max_shapes, 1000);
  EXPECT_EQ(limits.max_points, 100000);
  const absl::StatusOr<LabelMeAnnotation> a = ParseLabelMe(PolygonJson(1, 100001));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(std::string(a.status().message()),
            "100001 points, over the limit of 100000 (--max_annotation_points)");
  EXPECT_THAT(ParseLabelMe(PolygonJson(1, 100000)), IsOk());
}

TEST(ParseLabelMeTest, ImageDataIsNeverDecoded) {
  // Any imageData is ignored, even one that is not base64 at all.
  const absl::StatusOr<LabelMeAnnotation> a =
      ParseLabelMe(R"({"shapes": [], "imageData": {"not": "base64"}})");
  ASSERT_THAT(a, IsOk());
}

}  // namespace
}  // namespace explainer::common
