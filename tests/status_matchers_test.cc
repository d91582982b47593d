// The status matchers match what they say and print the status when they fail.
#include "tests/status_matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace explainer::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Status kBad = absl::InvalidArgumentError("shapes[2]: fewer than 3 points");

TEST(IsOkTest, MatchesOkStatusAndStatusOrWithValue) {
  EXPECT_TRUE(::testing::Matches(IsOk())(absl::OkStatus()));
  EXPECT_TRUE(::testing::Matches(IsOk())(absl::StatusOr<int>(7)));
  EXPECT_FALSE(::testing::Matches(IsOk())(kBad));
  EXPECT_FALSE(::testing::Matches(IsOk())(absl::StatusOr<int>(kBad)));
}

TEST(StatusIsTest, ChecksTheCode) {
  EXPECT_TRUE(::testing::Matches(StatusIs(absl::StatusCode::kInvalidArgument))(kBad));
  EXPECT_FALSE(::testing::Matches(StatusIs(absl::StatusCode::kNotFound))(kBad));
  EXPECT_FALSE(::testing::Matches(StatusIs(absl::StatusCode::kInvalidArgument))(
      absl::OkStatus()));
  EXPECT_TRUE(::testing::Matches(StatusIs(absl::StatusCode::kOk))(absl::StatusOr<int>(1)));
}

TEST(StatusIsTest, ChecksTheMessageWithAMatcherOrAString) {
  const absl::StatusOr<std::string> bad(kBad);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shapes[2]")));
  EXPECT_THAT(bad, Not(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("points[2]"))));
  EXPECT_THAT(kBad, StatusIs(absl::StatusCode::kInvalidArgument,
                             "shapes[2]: fewer than 3 points"));
  EXPECT_THAT(kBad, Not(StatusIs(absl::StatusCode::kInvalidArgument, "shapes[2]")));
  // The right message under the wrong code is no match.
  EXPECT_THAT(kBad, Not(StatusIs(absl::StatusCode::kInternal, HasSubstr("shapes[2]"))));
}

TEST(IsOkAndHoldsTest, ChecksStatusAndValue) {
  EXPECT_THAT(absl::StatusOr<int>(7), IsOkAndHolds(7));
  EXPECT_THAT(absl::StatusOr<std::string>("label"), IsOkAndHolds(HasSubstr("abe")));
  EXPECT_THAT(absl::StatusOr<int>(7), Not(IsOkAndHolds(8)));
  EXPECT_THAT(absl::StatusOr<int>(kBad), Not(IsOkAndHolds(::testing::_)));
}

TEST(StatusMatchersTest, FailurePrintsTheStatus) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(absl::StatusOr<int>(kBad), IsOk()),
                          "whose status is INVALID_ARGUMENT: shapes[2]: fewer than 3 points");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(kBad, StatusIs(absl::StatusCode::kNotFound, HasSubstr("points"))),
      "has status code NOT_FOUND and a message that has substring \"points\"");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(absl::OkStatus(), Not(IsOk())), "whose status is OK");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(absl::StatusOr<int>(kBad), IsOkAndHolds(1)),
                          "whose status is INVALID_ARGUMENT");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(absl::StatusOr<int>(2), IsOkAndHolds(1)),
                          "whose value is 2");
}

}  // namespace
}  // namespace explainer::testing
