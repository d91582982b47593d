// Annotate and the EXPLAINER_ status macros: context in front of the message, code and
// payloads kept, context evaluated only on the error path.
#include "common/status_macros.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::common {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::IsOkAndHolds;
using ::explainer::testing::StatusIs;
using ::testing::Eq;
using ::testing::Optional;

const absl::Status kNotFound = absl::NotFoundError("no such file");

TEST(AnnotateTest, PutsTheContextBeforeTheMessageAndKeepsCodeAndPayloads) {
  absl::Status status = kNotFound;
  status.SetPayload("type.example/detail", absl::Cord("42"));
  const absl::Status annotated = Annotate(status, "--labels ", 3);
  EXPECT_THAT(annotated, StatusIs(absl::StatusCode::kNotFound, "--labels 3: no such file"));
  EXPECT_THAT(annotated.GetPayload("type.example/detail"), Optional(Eq(absl::Cord("42"))));
}

TEST(AnnotateTest, LeavesOkAndContextFreeStatusesAlone) {
  EXPECT_THAT(Annotate(absl::OkStatus(), "context"), IsOk());
  EXPECT_EQ(Annotate(kNotFound), kNotFound);
  EXPECT_EQ(Annotate(kNotFound, ""), kNotFound);
}

absl::Status ReturnIfError(const absl::Status& status, int* reached) {
  EXPLAINER_RETURN_IF_ERROR(status);
  ++*reached;
  return absl::OkStatus();
}

absl::Status ReturnIfErrorWithContext(const absl::Status& status, int item) {
  EXPLAINER_RETURN_IF_ERROR(status, "batch item ", item);
  return absl::OkStatus();
}

TEST(ReturnIfErrorTest, ReturnsTheErrorAsItIsOrAnnotated) {
  int reached = 0;
  EXPECT_EQ(ReturnIfError(kNotFound, &reached), kNotFound);
  EXPECT_EQ(reached, 0);
  EXPECT_THAT(ReturnIfError(absl::OkStatus(), &reached), IsOk());
  EXPECT_EQ(reached, 1);
  EXPECT_THAT(ReturnIfErrorWithContext(kNotFound, 4),
              StatusIs(absl::StatusCode::kNotFound, "batch item 4: no such file"));
  EXPECT_THAT(ReturnIfErrorWithContext(absl::OkStatus(), 4), IsOk());
}

// Counts how often the context is made, to show it is made only on errors.
std::string CountedContext(int* made) {
  ++*made;
  return "counted";
}

absl::StatusOr<int> Doubled(absl::StatusOr<std::unique_ptr<int>> value, int* made) {
  EXPLAINER_ASSIGN_OR_RETURN(const std::unique_ptr<int> moved, std::move(value),
                             CountedContext(made));
  return *moved * 2;
}

TEST(AssignOrReturnTest, AssignsTheValueOrReturnsTheAnnotatedError) {
  int made = 0;
  EXPECT_THAT(Doubled(std::make_unique<int>(21), &made), IsOkAndHolds(42));
  EXPECT_EQ(made, 0);
  EXPECT_THAT(Doubled(kNotFound, &made),
              StatusIs(absl::StatusCode::kNotFound, "counted: no such file"));
  EXPECT_EQ(made, 1);
}

absl::StatusOr<int> AssignWithoutContext(absl::StatusOr<int> value) {
  int out = 0;
  EXPLAINER_ASSIGN_OR_RETURN(out, value);
  return out + 1;
}

TEST(AssignOrReturnTest, WithoutContextTheErrorIsUnchanged) {
  EXPECT_THAT(AssignWithoutContext(1), IsOkAndHolds(2));
  EXPECT_EQ(AssignWithoutContext(kNotFound).status(), kNotFound);
}

}  // namespace
}  // namespace explainer::common
